#!/usr/bin/env python3
"""Export your own CLIP-family checkpoint to the ONNX layout convis reads,
and verify the export.

    make export CKPT=path/to/hf-folder OUT=build/my-model
    python3 scripts/export_onnx.py --hf path/to/hf-folder --out DIR
    python3 scripts/export_onnx.py --open-clip CONFIG_OR_NAME --checkpoint FILE \\
        --tokenizer-dir DIR --out DIR

Inputs:
  --hf DIR        a Hugging Face transformers CLIPModel or SiglipModel folder
                  (config.json, pytorch_model.bin or model.safetensors,
                  preprocessor_config.json, tokenizer files).
  --open-clip X   an open_clip model: a name open_clip knows or a model
                  config JSON file, with --checkpoint (open_clip's
                  state_dict) and --tokenizer-dir (the folder of the text
                  tower's tokenizer.json or vocab.txt; omit for OpenAI's
                  BPE). Needs open_clip importable (PYTHONPATH); a model
                  with a Hugging Face text tower (BiomedCLIP) also needs
                  transformers.

Output (DIR): onnx/vision_model.onnx (pixel_values [B,3,S,S] → image_embeds
or pooler_output), onnx/text_model.onnx (input_ids [B,L], with
attention_mask where the tower takes one → text_embeds or pooler_output),
dynamic batch (and sequence where the tower allows), config.json,
preprocessor_config.json, the tokenizer files.

Verification: the script runs PyTorch on a few images and texts with the
family's own preprocessing and compares with what ONNX Runtime computes
from the exported files, through convis itself (`convis embed`; ONNX
Runtime for Python is not needed): it prints the cosines and fails below
0.999 (images) or 0.9999 (texts). --convis names the binary (default
bin/convis).

The Hugging Face architectures are implemented below in plain PyTorch with
transformers' parameter names (CLIPModel: pre-LN encoder with quick_gelu,
CLS pooling, projections without bias, pooling at the end token; SiglipModel:
no CLS, gelu-tanh, multi-head attention pooling head, text pooled at the
last position and a linear head), so that a checkpoint loads without
transformers, which Debian does not package and which needs a newer PyTorch
than Debian's 1.13. They were written from transformers' architecture and
checked here only through this pipeline (random weights, PyTorch against
ONNX Runtime), not against transformers' own forward, which could not be run.
"""
import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageOps

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OPSET = 14

ACT = {
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu": F.gelu,
}


# ---------------------------------------------------------------- layers
class Attention(nn.Module):
    """transformers' CLIPAttention / SiglipAttention (same names)."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads, self.scale = heads, (width // heads) ** -0.5
        self.q_proj, self.k_proj = nn.Linear(width, width), nn.Linear(width, width)
        self.v_proj, self.out_proj = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x, bias=None):
        B, L, W = x.shape
        h = self.heads

        def split(t):
            return t.reshape(B, L, h, W // h).transpose(1, 2)

        q, k, v = split(self.q_proj(x) * self.scale), split(self.k_proj(x)), split(self.v_proj(x))
        a = q @ k.transpose(-1, -2)
        if bias is not None:
            a = a + bias
        a = a.softmax(-1)
        return self.out_proj((a @ v).transpose(1, 2).reshape(B, L, W))


class MLP(nn.Module):
    def __init__(self, width, inner, act):
        super().__init__()
        self.fc1, self.fc2, self.act = nn.Linear(width, inner), nn.Linear(inner, width), ACT[act]

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class EncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        w, eps = c["hidden_size"], c.get("layer_norm_eps", 1e-5)
        self.layer_norm1, self.layer_norm2 = nn.LayerNorm(w, eps=eps), nn.LayerNorm(w, eps=eps)
        self.self_attn = Attention(w, c["num_attention_heads"])
        self.mlp = MLP(w, c["intermediate_size"], c["hidden_act"])

    def forward(self, x, bias=None):
        x = x + self.self_attn(self.layer_norm1(x), bias)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(c["num_hidden_layers"]))

    def forward(self, x, bias=None):
        for layer in self.layers:
            x = layer(x, bias)
        return x


def mask_bias(mask, dtype=torch.float32):
    """[B, L] 1/0 mask → additive [B, 1, 1, L] bias."""
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


# ------------------------------------------------------------------ CLIP
class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        w, p, s = c["hidden_size"], c["patch_size"], c["image_size"]
        self.class_embedding = nn.Parameter(torch.randn(w))
        self.patch_embedding = nn.Conv2d(c.get("num_channels", 3), w, p, p, bias=False)
        self.position_embedding = nn.Embedding((s // p) ** 2 + 1, w)

    def forward(self, px):
        x = self.patch_embedding(px).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        return torch.cat([cls, x], 1) + self.position_embedding.weight[None]


class CLIPVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        w, eps = c["hidden_size"], c.get("layer_norm_eps", 1e-5)
        self.embeddings = CLIPVisionEmbeddings(c)
        self.pre_layrnorm, self.post_layernorm = nn.LayerNorm(w, eps=eps), nn.LayerNorm(w, eps=eps)
        self.encoder = Encoder(c)

    def forward(self, px):
        x = self.encoder(self.pre_layrnorm(self.embeddings(px)))
        return x, self.post_layernorm(x[:, 0])


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embedding = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])

    def forward(self, ids):
        return self.token_embedding(ids) + self.position_embedding.weight[: ids.shape[1]][None]


class CLIPTextTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.eos = c.get("eos_token_id", 2)
        self.embeddings, self.encoder = CLIPTextEmbeddings(c), Encoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c.get("layer_norm_eps", 1e-5))

    def forward(self, ids, mask=None):
        L = ids.shape[1]
        causal = torch.full((L, L), torch.finfo(torch.float32).min).triu(1)[None, None]
        bias = causal if mask is None else causal + mask_bias(mask)
        x = self.final_layer_norm(self.encoder(self.embeddings(ids), bias))
        # transformers: the legacy configs (eos_token_id 2) pool at the
        # highest id, the others at the first end token.
        pos = ids.argmax(-1) if self.eos == 2 else (ids == self.eos).int().argmax(-1)
        return x, x[torch.arange(x.shape[0]), pos]


class CLIPModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        vc, tc = cfg["vision_config"], cfg["text_config"]
        self.vision_model, self.text_model = CLIPVisionTransformer(vc), CLIPTextTransformer(tc)
        d = cfg["projection_dim"]
        self.visual_projection = nn.Linear(vc["hidden_size"], d, bias=False)
        self.text_projection = nn.Linear(tc["hidden_size"], d, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(cfg.get("logit_scale_init_value", 2.6592)))

    def image(self, px):
        h, pooled = self.vision_model(px)
        return self.visual_projection(pooled), h

    def text(self, ids, mask):
        h, pooled = self.text_model(ids, mask)
        return self.text_projection(pooled), h


# ---------------------------------------------------------------- SigLIP
class SiglipVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        w, p, s = c["hidden_size"], c["patch_size"], c["image_size"]
        h, wd = (s, s) if isinstance(s, int) else s  # [height, width]: a non-square input
        self.patch_embedding = nn.Conv2d(c.get("num_channels", 3), w, p, p)
        self.position_embedding = nn.Embedding((h // p) * (wd // p), w)

    def forward(self, px):
        return self.patch_embedding(px).flatten(2).transpose(1, 2) + self.position_embedding.weight[None]


class SiglipMultiheadAttentionPoolingHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        w = c["hidden_size"]
        self.probe = nn.Parameter(torch.randn(1, 1, w))
        self.attention = nn.MultiheadAttention(w, c["num_attention_heads"], batch_first=True)
        self.layernorm = nn.LayerNorm(w, eps=c.get("layer_norm_eps", 1e-6))
        self.mlp = MLP(w, c["intermediate_size"], c["hidden_act"])

    def forward(self, x):
        h = self.attention(self.probe.repeat(x.shape[0], 1, 1), x, x)[0]
        h = h + self.mlp(self.layernorm(h))
        return h[:, 0]


class SiglipVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings, self.encoder = SiglipVisionEmbeddings(c), Encoder(c)
        self.post_layernorm = nn.LayerNorm(c["hidden_size"], eps=c.get("layer_norm_eps", 1e-6))
        self.head = SiglipMultiheadAttentionPoolingHead(c)

    def forward(self, px):
        x = self.post_layernorm(self.encoder(self.embeddings(px)))
        return x, self.head(x)


class SiglipTextTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings, self.encoder = CLIPTextEmbeddings(c), Encoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c.get("layer_norm_eps", 1e-6))
        self.head = nn.Linear(c["hidden_size"], c.get("projection_size", c["hidden_size"]))

    def forward(self, ids):
        # No causal mask and, as SigLIP was trained, no padding mask: the
        # text is padded to its fixed length and pooled at the last position.
        x = self.final_layer_norm(self.encoder(self.embeddings(ids)))
        return x, self.head(x[:, -1])


class SiglipModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.vision_model = SiglipVisionTransformer(cfg["vision_config"])
        self.text_model = SiglipTextTransformer(cfg["text_config"])
        self.logit_scale, self.logit_bias = nn.Parameter(torch.randn(1)), nn.Parameter(torch.randn(1))

    def image(self, px):
        h, pooled = self.vision_model(px)
        return pooled, h

    def text(self, ids, mask=None):
        h, pooled = self.text_model(ids)
        return pooled, h


HF_FAMILIES = {"clip": CLIPModel, "siglip": SiglipModel}


def read_safetensors(path):
    """model.safetensors without the safetensors package: an 8-byte header
    length, a JSON header (dtype, shape, offsets), then the raw tensors."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "BF16": None}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        if t["dtype"] == "BF16":
            raw = np.frombuffer(data[a:b], dtype=np.uint16).astype(np.uint32) << 16
            arr = raw.view(np.float32)
        else:
            arr = np.frombuffer(data[a:b], dtype=dtypes[t["dtype"]])
        out[name] = torch.from_numpy(arr.reshape(t["shape"]).astype(np.float32 if arr.dtype != np.int64 else np.int64))
    return out


def load_hf(folder):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    kind = cfg.get("model_type")
    if kind not in HF_FAMILIES:
        sys.exit(f"{folder}/config.json: model_type {kind!r}: the exporter knows clip and siglip "
                 "(use --open-clip for open_clip checkpoints)")
    model = HF_FAMILIES[kind](cfg)
    st, bin_ = os.path.join(folder, "model.safetensors"), os.path.join(folder, "pytorch_model.bin")
    if os.path.exists(st):
        sd = read_safetensors(st)
    elif os.path.exists(bin_):
        sd = torch.load(bin_, map_location="cpu")
    else:
        sys.exit(f"{folder}: no model.safetensors or pytorch_model.bin")
    sd = {k: v for k, v in sd.items() if not k.endswith("position_ids")}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        sys.exit(f"{folder}: weights do not fit the {kind} architecture: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval(), cfg, kind


# ---------------------------------------------------------------- export
class VisionExport(nn.Module):
    def __init__(self, model, names):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, pixel_values):
        emb, hidden = self.model.image(pixel_values)
        return (emb, hidden) if self.names[0] != "last_hidden_state" else (hidden, emb)


class TextExport(nn.Module):
    def __init__(self, model, names, with_mask, extra=()):
        super().__init__()
        self.model, self.names, self.with_mask, self.extra = model, names, with_mask, extra

    def forward(self, input_ids, attention_mask=None, position_ids=None, token_type_ids=None):
        kw = {k: v for k, v in (("position_ids", position_ids), ("token_type_ids", token_type_ids)) if k in self.extra}
        emb, hidden = self.model.text(input_ids, attention_mask if self.with_mask else None, **kw)
        return (emb, hidden) if self.names[0] != "last_hidden_state" else (hidden, emb)


def export_towers(model, out, size, seq_len, with_mask, emb_names, dynamic_seq=True, extra=()):
    """Writes onnx/vision_model.onnx and onnx/text_model.onnx (size: the
    side of a square input, or (height, width)). model has
    image(px) → (embedding, hidden) and text(ids, mask) → (embedding, hidden);
    emb_names are the two embedding outputs' names (image_embeds/text_embeds,
    or pooler_output for towers that end in a pooling head)."""
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    img_names = [emb_names[0], "last_hidden_state"] if emb_names[0] != "pooler_output" else ["last_hidden_state", "pooler_output"]
    txt_names = [emb_names[1], "last_hidden_state"] if emb_names[1] != "pooler_output" else ["last_hidden_state", "pooler_output"]
    with torch.no_grad():
        # The wrappers are put in eval mode: torch.onnx.export restores the
        # mode it found, and a wrapper left in training mode would leave the
        # shared model's BatchNorm in training mode after the export.
        h, w = (size, size) if isinstance(size, int) else size
        torch.onnx.export(VisionExport(model, img_names).eval(), (torch.zeros(1, 3, h, w),),
                          os.path.join(out, "onnx/vision_model.onnx"), input_names=["pixel_values"],
                          output_names=img_names, opset_version=OPSET,
                          dynamic_axes={"pixel_values": {0: "batch"}, img_names[0]: {0: "batch"}, img_names[1]: {0: "batch"}})
        ids = torch.ones(1, seq_len, dtype=torch.long)
        axes = {0: "batch", 1: "sequence"} if dynamic_seq else {0: "batch"}
        dyn = {"input_ids": axes, txt_names[0]: {0: "batch"}, txt_names[1]: {0: "batch"}}
        args, names = (ids,), ["input_ids"]
        if with_mask:
            args, names = (ids, torch.ones_like(ids)), ["input_ids", "attention_mask"]
            dyn["attention_mask"] = axes
        # BERT-style towers may take position_ids and token_type_ids too
        # (extra): the export then feeds them from inputs.
        if extra:
            args = args + (torch.arange(seq_len)[None], torch.zeros_like(ids))
            for name in ("position_ids", "token_type_ids"):
                if name in extra:
                    names.append(name)
                    dyn[name] = axes
        torch.onnx.export(TextExport(model, txt_names, with_mask, extra).eval(), args, os.path.join(out, "onnx/text_model.onnx"),
                          input_names=names, output_names=txt_names, opset_version=OPSET, dynamic_axes=dyn)
    model.eval()


# ------------------------------------------------------------ preprocessing
def preprocess(im, pre):
    """What preprocessor_config.json says, as transformers' image processors
    do it with Pillow: resize (shortest edge, truncating the other, or to
    {height, width}), centre crop, rescale, normalise. → [3, S, S]."""
    im = ImageOps.exif_transpose(im).convert("RGB")
    size, resample = pre.get("size", 224), pre.get("resample", 3)
    if pre.get("do_resize", True):
        if isinstance(size, dict) and "height" in size:
            im = im.resize((size["width"], size["height"]), resample)
        else:
            s = size["shortest_edge"] if isinstance(size, dict) else size
            w, h = im.size
            tw, th = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
            im = im.resize((tw, th), resample)
    if pre.get("do_center_crop", False):
        c = pre.get("crop_size", 224)
        cw, ch = (c["width"], c["height"]) if isinstance(c, dict) else (c, c)
        w, h = im.size
        left, top = (w - cw) // 2, (h - ch) // 2
        im = im.crop((left, top, left + cw, top + ch))
    x = np.asarray(im, dtype=np.float32)
    if pre.get("do_rescale", True):
        x = x * np.float32(pre.get("rescale_factor", 1 / 255))
    if pre.get("do_normalize", True):
        x = (x - np.array(pre["image_mean"], np.float32)) / np.array(pre["image_std"], np.float32)
    return torch.from_numpy(x.transpose(2, 0, 1).copy())


def convis_ids(convis, folder, texts):
    out = subprocess.run([convis, "tokenize", "--model", folder, "--json", *texts], check=True, capture_output=True, text=True).stdout
    return [r["ids"] for r in json.loads(out)]


def convis_embed(convis, folder, args):
    out = subprocess.run([convis, "embed", "--model", folder, "--json", *args], check=True, capture_output=True, text=True).stdout
    return [np.array(r["embedding"], np.float64) for r in json.loads(out)]


def cosine(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def pytorch_text(model, ids_list, with_mask, pad_id, pad_to):
    """PyTorch's text embeddings of token id lists, one at a time, padded
    as the family pads (to pad_to with pad_id) with its mask."""
    out = []
    for ids in ids_list:
        real = len(ids)
        L = max(pad_to, real)
        t = torch.tensor([list(ids) + [pad_id] * (L - real)])
        m = torch.tensor([[1] * real + [0] * (L - real)])
        with torch.no_grad():
            out.append(model.text(t, m if with_mask else None)[0][0].numpy())
    return out


def verify(model, out, convis, images, texts, with_mask, pad_id, pad_to):
    """PyTorch against ONNX Runtime (through convis) on the same inputs."""
    pre = json.load(open(os.path.join(out, "preprocessor_config.json")))
    worst = {"image": 1.0, "text": 1.0}
    ort_img = convis_embed(convis, out, images)
    for path, got in zip(images, ort_img):
        with torch.no_grad():
            want = model.image(preprocess(Image.open(path), pre)[None])[0][0].numpy()
        c = cosine(want, got)
        worst["image"] = min(worst["image"], c)
        print(f"image {os.path.basename(path):<20} cosine PyTorch/ONNX Runtime {c:.7f}")
    ids = [trim_padding(i, pad_id, pad_to) for i in convis_ids(convis, out, texts)]
    ort_txt = convis_embed(convis, out, [a for t in texts for a in ("--text", t)])
    for t, want, got in zip(texts, pytorch_text(model, ids, with_mask, pad_id, pad_to), ort_txt):
        c = cosine(want, got)
        worst["text"] = min(worst["text"], c)
        print(f"text  {t[:40]!r:<44} cosine PyTorch/ONNX Runtime {c:.7f}")
    ok = worst["image"] >= 0.999 and worst["text"] >= 0.9999
    print(f"worst image cosine {worst['image']:.7f} (want ≥ 0.999), worst text cosine {worst['text']:.7f} (want ≥ 0.9999): {'ok' if ok else 'FAILED'}")
    if not ok:
        sys.exit(1)


def trim_padding(ids, pad_id, pad_to):
    """The tokenizer's ids without the padding it added (pad_to > 0)."""
    if pad_to:
        while ids and ids[-1] == pad_id and len(ids) > 1:
            ids = ids[:-1]
    return ids


def tokenizer_padding(folder):
    """pad id and fixed length of the folder's tokenizer.json (0 when it does not pad)."""
    p = os.path.join(folder, "tokenizer.json")
    if not os.path.exists(p):
        return None, 0
    pad = json.load(open(p)).get("padding") or {}
    fixed = (pad.get("strategy") or {})
    return pad.get("pad_id"), (fixed.get("Fixed", 0) if isinstance(fixed, dict) else 0)


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "spiece.model", "vocab.json", "merges.txt")


def copy_tokenizer(src, out):
    n = 0
    for f in TOKENIZER_FILES:
        if src and os.path.exists(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), os.path.join(out, f))
            n += 1
    return n


def export_hf(folder, out):
    model, cfg, kind = load_hf(folder)
    os.makedirs(out, exist_ok=True)
    pre_src = os.path.join(folder, "preprocessor_config.json")
    if not os.path.exists(pre_src):
        sys.exit(f"{folder}: no preprocessor_config.json")
    shutil.copy(pre_src, os.path.join(out, "preprocessor_config.json"))
    if not copy_tokenizer(folder, out) and kind != "clip":
        sys.exit(f"{folder}: no tokenizer files ({', '.join(TOKENIZER_FILES)})")
    out_cfg = {k: cfg[k] for k in ("model_type", "projection_dim") if k in cfg}
    out_cfg["projection_dim"] = out_cfg.get("projection_dim", cfg["text_config"].get("projection_size", cfg["text_config"]["hidden_size"]))
    out_cfg["convis_description"] = f"exported by scripts/export_onnx.py from {os.path.basename(os.path.abspath(folder))} ({kind})"
    out_cfg["text_config"] = cfg["text_config"]
    out_cfg["vision_config"] = cfg["vision_config"]
    json.dump(out_cfg, open(os.path.join(out, "config.json"), "w"), indent=1)
    vc, tc = cfg["vision_config"], cfg["text_config"]
    size = vc["image_size"] if isinstance(vc["image_size"], int) else tuple(vc["image_size"])
    if kind == "clip":
        export_towers(model, out, size, tc["max_position_embeddings"], True, ("image_embeds", "text_embeds"))
        return model, True
    export_towers(model, out, size, tc["max_position_embeddings"], False, ("pooler_output", "pooler_output"))
    return model, False


class OpenCLIPAdapter(nn.Module):
    """open_clip's encode_image / encode_text behind the image/text interface."""

    def __init__(self, m, hf_text):
        super().__init__()
        self.m, self.hf_text = m, hf_text

    def image(self, px):
        e = self.m.encode_image(px)
        return e, e

    def text(self, ids, mask=None):
        e = self.m.encode_text(ids)
        return e, e


def export_open_clip(name, checkpoint, tok_dir, out):
    try:
        import open_clip
    except ImportError as e:
        sys.exit(f"--open-clip needs open_clip importable (PYTHONPATH): {e}")
    if os.path.isfile(name):
        open_clip.add_model_config(name)
        cfg = json.load(open(name))
        name = os.path.splitext(os.path.basename(name))[0]
    else:
        cfg = open_clip.get_model_config(name)
    model = open_clip.create_model(name, pretrained=checkpoint).eval()
    hf_text = "hf_model_name" in cfg.get("text_cfg", {})
    pp = getattr(model.visual, "preprocess_cfg", {}) or {}
    size = pp.get("size", cfg["vision_cfg"].get("image_size", 224))
    size = size[0] if isinstance(size, (list, tuple)) else size
    mean = list(pp.get("mean", getattr(model.visual, "image_mean", None) or open_clip.OPENAI_DATASET_MEAN))
    std = list(pp.get("std", getattr(model.visual, "image_std", None) or open_clip.OPENAI_DATASET_STD))
    interp = {"bicubic": 3, "bilinear": 2}[pp.get("interpolation", "bicubic")]
    mode = pp.get("resize_mode", "shortest")
    os.makedirs(out, exist_ok=True)
    pre = {"do_resize": True, "resample": interp, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
           "image_mean": mean, "image_std": std, "do_convert_rgb": True}
    if mode == "squash":
        pre["size"] = {"height": size, "width": size}
    else:
        pre.update(size={"shortest_edge": size}, do_center_crop=True, crop_size={"height": size, "width": size})
    json.dump(pre, open(os.path.join(out, "preprocessor_config.json"), "w"), indent=1)
    n = copy_tokenizer(tok_dir, out)
    if hf_text and not n:
        sys.exit("an open_clip model with a Hugging Face text tower needs --tokenizer-dir (its tokenizer.json or vocab.txt)")
    ctx = cfg.get("text_cfg", {}).get("context_length", 77)
    json.dump({"model_type": "clip" if not n else "open_clip", "projection_dim": cfg["embed_dim"],
               "convis_description": f"exported by scripts/export_onnx.py from open_clip {name}",
               "text_config": {"max_position_embeddings": ctx}}, open(os.path.join(out, "config.json"), "w"), indent=1)
    adapter = OpenCLIPAdapter(model, hf_text)
    # open_clip's text towers add a fixed-length positional embedding: the
    # sequence axis is the context length.
    export_towers(adapter, out, size, ctx, False, ("image_embeds", "text_embeds"), dynamic_seq=False)
    return adapter, False, ctx


SAMPLE_IMAGES = [os.path.join(ROOT, "testdata/images", f) for f in ("landscape.png", "portrait.jpg")]
SAMPLE_TEXTS = ["a dog", "the domestic cat, a small carnivorous mammal", "a red double-decker bus on a street"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--hf", help="Hugging Face CLIPModel or SiglipModel folder")
    src.add_argument("--open-clip", help="open_clip model name or config JSON (with --checkpoint)")
    ap.add_argument("--checkpoint", help="open_clip checkpoint (state_dict)")
    ap.add_argument("--tokenizer-dir", help="folder with the text tower's tokenizer files (open_clip)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--convis", default=os.path.join(ROOT, "bin/convis"))
    ap.add_argument("--no-verify", action="store_true", help="skip the PyTorch/ONNX Runtime comparison")
    a = ap.parse_args()
    torch.manual_seed(0)
    if a.hf:
        model, with_mask = export_hf(a.hf, a.out)
        pad_to = 0
    else:
        if not a.checkpoint:
            sys.exit("--open-clip needs --checkpoint")
        model, with_mask, pad_to = export_open_clip(a.open_clip, a.checkpoint, a.tokenizer_dir, a.out)
    print(f"exported {a.out}: " + ", ".join(sorted(os.listdir(a.out))) + ", onnx/: " + ", ".join(sorted(os.listdir(os.path.join(a.out, "onnx")))))
    if a.no_verify:
        return
    pad_id, fixed = tokenizer_padding(a.out)
    if pad_id is None:
        pad_id = 49407 if not os.path.exists(os.path.join(a.out, "tokenizer.json")) else 0
    verify(model, a.out, a.convis, SAMPLE_IMAGES, SAMPLE_TEXTS, with_mask, pad_id, max(pad_to, fixed))


if __name__ == "__main__":
    main()
