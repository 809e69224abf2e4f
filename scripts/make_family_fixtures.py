#!/usr/bin/env python3
"""Makes testdata/families: one small random-weight model per CLIP family in
the ONNX layout convis reads, each with reference.json, the embeddings
PyTorch computes with the family's own preprocessing (Pillow, as the
family's image processor does it) for two test images and a few texts
whose token ids the tokenizer parity data verified against reference
tokenizers (internal/clip/testdata/tokenizers/cases.json.gz).

    make families    # or:
    PYTHONPATH=/tmp/oc/src:/tmp/oc/stubs OPENBLAS_NUM_THREADS=1 \\
        /usr/bin/python3 scripts/make_family_fixtures.py --convis bin/convis

| folder | family, and whose code made it |
|---|---|
| clip336 | OpenAI CLIP at 336 (shortest-edge resize, centre crop, bicubic, OpenAI mean/std): a random Hugging Face CLIPModel folder (config.json + pytorch_model.bin with transformers' names) exported by scripts/export_onnx.py --hf; the architecture is export_onnx.py's plain-PyTorch CLIPModel (transformers itself is not runnable here) |
| siglip256 | SigLIP at 256 (plain resize, mean/std 0.5, Unigram tokenizer padded to 64, text input_ids only, pooler_output): a random SiglipModel folder exported by export_onnx.py --hf, same caveat |
| bertclip224 | a CLIP with a BERT text tower, BiomedCLIP-style: open_clip's own VisionTransformer (open_clip v2.24.0) and a BERT (transformers' BertModel layout, rebuilt here: open_clip's HFTextEncoder needs transformers) pooled at [CLS] with BiomedCLIP's MLP projection; WordPiece; input_ids + attention_mask + position_ids + token_type_ids |
| mobileclip256 | MobileCLIP-style at 256 (bilinear, centre crop, no mean/std normalisation): a small convolutional image tower rebuilt here (MobileCLIP's MCi needs timm, not runnable here; this is not MCi, only its preprocessing and interface) and open_clip's own TextTransformer |
| siglip-nonsquare | a SigLIP-style model with a 192×128 input (plain resize to {height: 128, width: 192}): the layout's non-square inputs |
| openclip224 | an open_clip CLIP (open_clip v2.24.0's own code, random weights, saved as an open_clip checkpoint) exported by scripts/export_onnx.py --open-clip |

open_clip v2.24.0 runs on Debian's PyTorch 1.13 (HEAD needs torch.compiler,
PyTorch 2): fetch github:mlfoundations/open_clip and
`git --git-dir=… archive v2.24.0 src/open_clip | tar x -C /tmp/oc`. Its
tokenizer imports ftfy, which Debian does not package: /tmp/oc/stubs/ftfy
is a stand-in whose fix_text returns its input (open_clip's tokenizer is not
used here: the texts are tokenized by the parity data's tokenizers). The
BPE, WordPiece and Unigram tokenizers are the parity data's (learnt from
WordNet glosses by scripts/tokenizer_parity.py). Deterministic (fixed
seeds). Every export is verified by export_onnx.py's PyTorch/ONNX Runtime
comparison through convis (--convis).
"""
import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import export_onnx as X  # noqa: E402

OUT = os.path.join(ROOT, "testdata/families")
TOK = os.path.join(ROOT, "internal/clip/testdata/tokenizers")
IMAGES = ["landscape.png", "portrait.jpg"]
OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
CASES = json.load(gzip.open(os.path.join(TOK, "cases.json.gz")))
# A short text, an accented one, a gloss and a text past every context.
TEXT_CASES = [i for i, s in enumerate(CASES["strings"]) if s.isascii() and 3 < len(s) < 40][:1] + [0, 600] + \
    [max(range(len(CASES["strings"])), key=lambda i: len(CASES["strings"][i]))]


def texts_for(kind):
    return [(CASES["strings"][i], CASES[kind][i]) for i in TEXT_CASES]


def randomize(model, seed):
    """Random weights everywhere, LayerNorms included (default init leaves
    them at 1 and 0, which would hide a misplaced norm)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name or "ln" in name) and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                fan = p[0].numel() if p.dim() > 1 else 1
                p.copy_(torch.randn(p.shape, generator=g) / max(fan, 1) ** 0.5)
    return model.eval()


def reference(model, folder, kind, with_mask, pad_id, pad_to, about):
    pre = json.load(open(os.path.join(folder, "preprocessor_config.json")))
    ref = {"about": about, "torch": torch.__version__, "images": {}, "texts": []}
    for name in IMAGES:
        x = X.preprocess(Image.open(os.path.join(ROOT, "testdata/images", name)), pre)
        with torch.no_grad():
            ref["images"][name] = {"embedding": model.image(x[None])[0][0].tolist(), "pixel_sum": float(x.double().sum())}
    cases = texts_for(kind)
    ids = [X.trim_padding(list(i), pad_id, pad_to) for _, i in cases]
    for (text, full), emb in zip(cases, X.pytorch_text(model, ids, with_mask, pad_id, pad_to)):
        ref["texts"].append({"text": text, "ids": full, "embedding": emb.tolist()})
    json.dump(ref, open(os.path.join(folder, "reference.json"), "w"))


def copy_tokenizer(kind, dst):
    """The parity data's tokenizer files of kind into dst (a gzipped one
    unpacked: the parity data stores its large tokenizer.json gzipped)."""
    src = os.path.join(TOK, kind)
    for f in sorted(os.listdir(src)):
        if f.endswith(".gz"):
            with gzip.open(os.path.join(src, f)) as r, open(os.path.join(dst, f[:-3]), "wb") as w:
                shutil.copyfileobj(r, w)
        else:
            shutil.copy(os.path.join(src, f), dst)


def hf_folder(tmp, cls, cfg, pre, tok, seed):
    d = os.path.join(tmp, f"{cfg['model_type']}-{seed}")
    os.makedirs(d)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=1)
    json.dump(pre, open(os.path.join(d, "preprocessor_config.json"), "w"), indent=1)
    copy_tokenizer(tok, d)
    torch.save(randomize(cls(cfg), seed).state_dict(), os.path.join(d, "pytorch_model.bin"))
    return d


def run_export(convis, args):
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts/export_onnx.py"), "--convis", convis, *args], check=True)


def enc(hidden, heads, layers, inter, act, eps, **kw):
    return dict(hidden_size=hidden, num_attention_heads=heads, num_hidden_layers=layers, intermediate_size=inter,
                hidden_act=act, layer_norm_eps=eps, **kw)


def make_clip336(tmp, convis):
    cfg = {"model_type": "clip", "projection_dim": 32,
           "vision_config": enc(16, 2, 2, 64, "quick_gelu", 1e-5, image_size=336, patch_size=48),
           "text_config": enc(32, 2, 2, 64, "quick_gelu", 1e-5, vocab_size=958, max_position_embeddings=77, eos_token_id=957)}
    pre = {"crop_size": {"height": 336, "width": 336}, "do_center_crop": True, "do_convert_rgb": True, "do_normalize": True,
           "do_rescale": True, "do_resize": True, "image_mean": OPENAI_MEAN, "image_std": OPENAI_STD,
           "image_processor_type": "CLIPImageProcessor", "resample": 3, "rescale_factor": 1 / 255, "size": {"shortest_edge": 336}}
    src = hf_folder(tmp, X.CLIPModel, cfg, pre, "bpe", 336)
    out = os.path.join(OUT, "clip336")
    shutil.rmtree(out, ignore_errors=True)
    run_export(convis, ["--hf", src, "--out", out])
    model, _, _ = X.load_hf(src)
    reference(model, out, "bpe", True, 0, 0, "random CLIPModel at 336 (export_onnx.py's CLIPModel), tokenizer: parity BPE")


def make_siglip_nonsquare(tmp, convis):
    """A SigLIP-style model whose input is not square (192 wide, 128 high:
    transformers' SigLIP takes square sizes only, so this one exercises the
    layout, not a published model)."""
    cfg = {"model_type": "siglip",
           "vision_config": enc(16, 2, 1, 32, "gelu_pytorch_tanh", 1e-6, image_size=[128, 192], patch_size=32),
           "text_config": enc(16, 2, 1, 32, "gelu_pytorch_tanh", 1e-6, vocab_size=2000, max_position_embeddings=64)}
    pre = {"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
           "resample": 2, "rescale_factor": 1 / 255, "size": {"height": 128, "width": 192}}
    src = hf_folder(tmp, X.SiglipModel, cfg, pre, "unigram", 192)
    out = os.path.join(OUT, "siglip-nonsquare")
    shutil.rmtree(out, ignore_errors=True)
    run_export(convis, ["--hf", src, "--out", out])
    model, _, _ = X.load_hf(src)
    reference(model, out, "unigram", False, 0, 64, "random SiglipModel-style model with a 192x128 input, tokenizer: parity Unigram padded to 64")


def make_siglip256(tmp, convis):
    cfg = {"model_type": "siglip",
           "vision_config": enc(32, 2, 2, 64, "gelu_pytorch_tanh", 1e-6, image_size=256, patch_size=32),
           "text_config": enc(32, 2, 2, 64, "gelu_pytorch_tanh", 1e-6, vocab_size=2000, max_position_embeddings=64)}
    pre = {"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
           "image_processor_type": "SiglipImageProcessor", "resample": 3, "rescale_factor": 1 / 255, "size": {"height": 256, "width": 256}}
    src = hf_folder(tmp, X.SiglipModel, cfg, pre, "unigram", 256)
    out = os.path.join(OUT, "siglip256")
    shutil.rmtree(out, ignore_errors=True)
    run_export(convis, ["--hf", src, "--out", out])
    model, _, _ = X.load_hf(src)
    reference(model, out, "unigram", False, 0, 64, "random SiglipModel at 256 (export_onnx.py's SiglipModel), tokenizer: parity Unigram padded to 64")


# ------------------------------------------------------------- BERT tower
class BertEmbeddings(nn.Module):
    def __init__(s, c):
        super().__init__()
        w = c["hidden_size"]
        s.word_embeddings = nn.Embedding(c["vocab_size"], w)
        s.position_embeddings = nn.Embedding(c["max_position_embeddings"], w)
        s.token_type_embeddings = nn.Embedding(2, w)
        s.LayerNorm = nn.LayerNorm(w, eps=1e-12)

    def forward(s, ids, position_ids=None, token_type_ids=None):
        if position_ids is None:
            position_ids = torch.arange(ids.shape[1])[None]
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(ids)
        return s.LayerNorm(s.word_embeddings(ids) + s.position_embeddings(position_ids) + s.token_type_embeddings(token_type_ids))


class BertLayer(nn.Module):
    """transformers' BertLayer: post-LN, GELU (erf)."""

    def __init__(s, c):
        super().__init__()
        w = c["hidden_size"]
        s.attn = X.Attention(w, c["num_attention_heads"])
        s.ln1, s.ln2 = nn.LayerNorm(w, eps=1e-12), nn.LayerNorm(w, eps=1e-12)
        s.fc1, s.fc2 = nn.Linear(w, c["intermediate_size"]), nn.Linear(c["intermediate_size"], w)

    def forward(s, x, bias):
        x = s.ln1(x + s.attn(x, bias))
        return s.ln2(x + s.fc2(torch.nn.functional.gelu(s.fc1(x))))


class BertTextTower(nn.Module):
    """BiomedCLIP's text side: BERT, the last hidden state at [CLS]
    (cls_last_hidden_state_pooler), a two-layer MLP projection without bias."""

    def __init__(s, c, out_dim):
        super().__init__()
        s.embeddings = BertEmbeddings(c)
        s.layers = nn.ModuleList(BertLayer(c) for _ in range(c["num_hidden_layers"]))
        w = c["hidden_size"]
        s.proj = nn.Sequential(nn.Linear(w, (w + out_dim) // 2, bias=False), nn.GELU(), nn.Linear((w + out_dim) // 2, out_dim, bias=False))

    def forward(s, ids, mask, position_ids=None, token_type_ids=None):
        x = s.embeddings(ids, position_ids, token_type_ids)
        bias = X.mask_bias(mask)
        for layer in s.layers:
            x = layer(x, bias)
        return s.proj(x[:, 0]), x


class TwoTowers(nn.Module):
    def __init__(s, visual, text, text_takes_mask):
        super().__init__()
        s.visual, s.textual, s.takes_mask = visual, text, text_takes_mask

    def image(s, px):
        e = s.visual(px)
        return e, e

    def text(s, ids, mask=None, **extra):
        if s.takes_mask:
            e, h = s.textual(ids, mask if mask is not None else torch.ones_like(ids), **extra)
            return e, h
        e = s.textual(ids)
        return e, e


def write_layout(out, pre, tok, cfg):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    json.dump(pre, open(os.path.join(out, "preprocessor_config.json"), "w"), indent=1)
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=1)
    copy_tokenizer(tok, out)


def make_bertclip224(convis):
    from open_clip.transformer import VisionTransformer
    torch.manual_seed(224)
    visual = VisionTransformer(image_size=224, patch_size=32, width=32, layers=2, heads=2, mlp_ratio=2.0, output_dim=32)
    bert = {"hidden_size": 32, "num_attention_heads": 2, "num_hidden_layers": 2, "intermediate_size": 64, "vocab_size": 3205, "max_position_embeddings": 64}
    model = randomize(TwoTowers(visual, BertTextTower(bert, 32), True), 224)
    out = os.path.join(OUT, "bertclip224")
    pre = {"crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
           "image_mean": OPENAI_MEAN, "image_std": OPENAI_STD, "resample": 3, "rescale_factor": 1 / 255, "size": {"shortest_edge": 224}}
    write_layout(out, pre, "wordpiece", {"model_type": "open_clip", "projection_dim": 32, "text_config": {"max_position_embeddings": 64},
                                         "convis_description": "random BiomedCLIP-style model: open_clip ViT + BERT text tower (make_family_fixtures.py)"})
    # As a BERT export from transformers does, the text model takes
    # position_ids and token_type_ids besides input_ids and attention_mask.
    X.export_towers(model, out, 224, 16, True, ("image_embeds", "text_embeds"), extra=("position_ids", "token_type_ids"))
    X.verify(model, out, convis, X.SAMPLE_IMAGES, X.SAMPLE_TEXTS, True, 0, 0)
    reference(model, out, "wordpiece", True, 0, 0, "random open_clip VisionTransformer + BERT tower, tokenizer: parity WordPiece")


class MobileStyleVisual(nn.Module):
    """A small convolutional image tower standing in for MobileCLIP's MCi:
    a stride-4 stem, depthwise-separable residual stages (RepMixer-like:
    depthwise 3×3 token mixing then a pointwise MLP), global average
    pooling and a linear projection."""

    def __init__(s, dim=32):
        super().__init__()
        s.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.GELU(), nn.Conv2d(16, dim, 3, 2, 1), nn.BatchNorm2d(dim), nn.GELU())
        s.blocks = nn.ModuleList()
        for _ in range(3):
            s.blocks.append(nn.ModuleDict({"mix": nn.Conv2d(dim, dim, 3, 1, 1, groups=dim), "norm": nn.BatchNorm2d(dim),
                                           "mlp": nn.Sequential(nn.Conv2d(dim, 2 * dim, 1), nn.GELU(), nn.Conv2d(2 * dim, dim, 1))}))
        s.down = nn.ModuleList(nn.Conv2d(dim, dim, 3, 2, 1) for _ in range(3))
        s.head = nn.Linear(dim, 32)

    def forward(s, x):
        x = s.stem(x)
        for b, d in zip(s.blocks, s.down):
            x = x + b["mix"](x)
            x = x + b["mlp"](b["norm"](x))
            x = d(x)
        return s.head(x.mean((2, 3)))


def make_mobileclip256(convis):
    from open_clip.transformer import TextTransformer
    torch.manual_seed(256)
    text = TextTransformer(context_length=77, vocab_size=958, width=32, heads=2, layers=2, output_dim=32)
    model = randomize(TwoTowers(MobileStyleVisual(), text, False), 257)
    with torch.no_grad():  # BatchNorm running statistics, as a trained network has them
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape))
                m.running_var.copy_(1 + 0.2 * torch.rand(m.running_var.shape))
    out = os.path.join(OUT, "mobileclip256")
    pre = {"crop_size": {"height": 256, "width": 256}, "do_center_crop": True, "do_normalize": False, "do_rescale": True, "do_resize": True,
           "resample": 2, "rescale_factor": 1 / 255, "size": {"shortest_edge": 256}}
    write_layout(out, pre, "bpe", {"model_type": "mobileclip", "projection_dim": 32, "text_config": {"max_position_embeddings": 77},
                                   "convis_description": "random MobileCLIP-style model: a small conv image tower (not MCi) + open_clip TextTransformer (make_family_fixtures.py)"})
    X.export_towers(model, out, 256, 77, False, ("image_embeds", "text_embeds"), dynamic_seq=False)
    X.verify(model, out, convis, X.SAMPLE_IMAGES, X.SAMPLE_TEXTS, False, 0, 77)
    reference(model, out, "bpe", False, 0, 77, "random MobileCLIP-style (conv tower, not MCi) + open_clip TextTransformer, tokenizer: parity BPE")


def make_openclip224(tmp, convis):
    import open_clip
    cfg = {"embed_dim": 32, "quick_gelu": True,
           "vision_cfg": {"image_size": 224, "layers": 2, "width": 32, "patch_size": 32, "head_width": 16, "mlp_ratio": 2.0},
           "text_cfg": {"context_length": 77, "vocab_size": 958, "width": 32, "heads": 2, "layers": 2}}
    cfg_path = os.path.join(tmp, "tiny-openclip.json")
    json.dump(cfg, open(cfg_path, "w"))
    torch.manual_seed(225)
    m = randomize(open_clip.model.CLIP(**cfg), 225)
    ckpt = os.path.join(tmp, "tiny-openclip.pt")
    torch.save({"state_dict": m.state_dict()}, ckpt)
    out = os.path.join(OUT, "openclip224")
    shutil.rmtree(out, ignore_errors=True)
    run_export(convis, ["--open-clip", cfg_path, "--checkpoint", ckpt, "--tokenizer-dir", os.path.join(TOK, "bpe"), "--out", out])
    open_clip.add_model_config(cfg_path)
    model = X.OpenCLIPAdapter(open_clip.create_model("tiny-openclip", pretrained=ckpt).eval(), False)
    reference(model, out, "bpe", False, 0, 77, "random open_clip CLIP (open_clip v2.24.0) exported by export_onnx.py --open-clip, tokenizer: parity BPE")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--convis", default=os.path.join(ROOT, "bin/convis"))
    ap.add_argument("--only", help="comma-separated folder names")
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    only = set(a.only.split(",")) if a.only else None
    with tempfile.TemporaryDirectory() as tmp:
        steps = {"clip336": lambda: make_clip336(tmp, a.convis), "siglip256": lambda: make_siglip256(tmp, a.convis),
                 "bertclip224": lambda: make_bertclip224(a.convis), "mobileclip256": lambda: make_mobileclip256(a.convis),
                 "openclip224": lambda: make_openclip224(tmp, a.convis), "siglip-nonsquare": lambda: make_siglip_nonsquare(tmp, a.convis)}
        for name, step in steps.items():
            if only and name not in only:
                continue
            print(f"== {name}", flush=True)
            step()


if __name__ == "__main__":
    main()
