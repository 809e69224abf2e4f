"""convis-tiny: a CLIP-style dual encoder small enough to ship in the binary.

Image tower: ViT (patch 32 on 224×224, class token, pre-norm blocks) with a
projection. Text tower: causal transformer over CLIP BPE ids (context 77),
pooled at the end token, with a projection. To keep the model small, the
49,408-id CLIP vocabulary is remapped inside the graph to the ids that occur
in the training texts (others share one "unknown" row); the ONNX input is
still CLIP's ids.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, width)

    def forward(self, x, bias=None):
        B, N, C = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).reshape(B, N, 3, h, C // h).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // h))
        if bias is not None:
            att = att + bias
        att = att.softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, N, C)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class ConvStem(nn.Module):
    """Hybrid ViT patches (as the ResNet-stem ViTs of the ViT paper): a small
    batch-normalised convolution stack turns 224×224 pixels into the same 7×7
    grid of tokens a patch-32 projection gives, with the local inductive bias
    that lets a small ViT learn from the few examples a CPU can train on."""

    def __init__(self, width):
        super().__init__()

        def block(cin, cout, k, st, p):
            return [nn.Conv2d(cin, cout, k, st, p, bias=False), nn.BatchNorm2d(cout), nn.GELU()]
        self.net = nn.Sequential(
            *block(3, 24, 4, 4, 0),      # 56×56
            *block(24, 64, 3, 2, 1),     # 28×28
            *block(64, 128, 3, 2, 1),    # 14×14
            *block(128, 128, 3, 1, 1),   # 14×14
            nn.Conv2d(128, width, 2, 2))  # 7×7 tokens

    def forward(self, x):
        return self.net(x)


class SmallConvStem(nn.Module):
    """A cheaper stem: the image is averaged down to 112×112 first, then
    convolved to the same 7×7 grid of tokens."""

    def __init__(self, width):
        super().__init__()

        def block(cin, cout, k, st, p):
            return [nn.Conv2d(cin, cout, k, st, p, bias=False), nn.BatchNorm2d(cout), nn.GELU()]
        self.net = nn.Sequential(
            nn.AvgPool2d(2),             # 112×112
            *block(3, 32, 4, 4, 0),      # 28×28
            *block(32, 64, 3, 2, 1),     # 14×14
            *block(64, 96, 3, 1, 1),     # 14×14
            nn.Conv2d(96, width, 2, 2))  # 7×7 tokens

    def forward(self, x):
        return self.net(x)


class VisionTower(nn.Module):
    def __init__(self, width=128, layers=4, heads=4, patch=32, image=224, embed=128, stem="conv"):
        super().__init__()
        if stem == "conv":
            assert patch == 32 and image == 224
            self.patch = ConvStem(width)
        elif stem == "small":
            assert patch == 32 and image == 224
            self.patch = SmallConvStem(width)
        else:
            self.patch = nn.Conv2d(3, width, patch, patch, bias=False)
        n = (image // patch) ** 2
        self.cls = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.pos = nn.Parameter(torch.randn(n + 1, width) * 0.02)
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Linear(width, embed, bias=False)

    def forward(self, pixel_values):
        x = self.patch(pixel_values).flatten(2).transpose(1, 2)
        cls = self.cls.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos
        x = self.ln_pre(x)
        for b in self.blocks:
            x = b(x)
        return self.proj(self.ln_post(x[:, 0]))


class TextTower(nn.Module):
    def __init__(self, remap, vocab, width=128, layers=3, heads=4, context=77, embed=128):
        super().__init__()
        self.register_buffer("remap", remap)  # CLIP id → compact row
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.randn(context, width) * 0.01)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_final = nn.LayerNorm(width)
        self.proj = nn.Linear(width, embed, bias=False)
        nn.init.normal_(self.tok.weight, std=0.02)

    def forward(self, input_ids, attention_mask):
        B, L = input_ids.shape
        x = self.tok(self.remap[input_ids]) + self.pos[:L]
        causal = torch.full((L, L), float("-inf"), device=x.device).triu(1)
        pad = (1.0 - attention_mask.to(x.dtype)) * -1e9
        bias = causal[None, None] + pad[:, None, None, :]
        for b in self.blocks:
            x = b(x, bias)
        x = self.ln_final(x)
        # Pool at the end token: CLIP's is the largest id, so argmax finds it.
        x = x[torch.arange(B), input_ids.argmax(dim=-1)]
        return self.proj(x)


class TinyCLIP(nn.Module):
    def __init__(self, remap, vocab, seed=None, vision_layers=4, stem="conv", **kw):
        super().__init__()
        # Each tower is initialised from its own seed, so that one tower's
        # design does not change the other's starting point.
        if seed is not None:
            torch.manual_seed(seed)
        self.text = TextTower(remap, vocab)
        if seed is not None:
            torch.manual_seed(seed + 1)
        self.visual = VisionTower(layers=vision_layers, stem=stem)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(20.0)))


def export_onnx(visual, text, out):
    """Writes the two towers in the Hugging Face ONNX layout convis reads:
    onnx/vision_model.onnx (pixel_values → image_embeds) and
    onnx/text_model.onnx (input_ids, attention_mask → text_embeds), with
    dynamic batch (and sequence) axes."""
    import os
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(visual, (torch.zeros(2, 3, 224, 224),), os.path.join(out, "onnx/vision_model.onnx"),
                          input_names=["pixel_values"], output_names=["image_embeds"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, opset_version=14)
        ids = torch.full((2, 77), 49407, dtype=torch.long)
        ids[:, 0] = 49406
        torch.onnx.export(text, (ids, torch.ones_like(ids)), os.path.join(out, "onnx/text_model.onnx"),
                          input_names=["input_ids", "attention_mask"], output_names=["text_embeds"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                        "text_embeds": {0: "batch"}}, opset_version=14)
