#!/usr/bin/env python3
"""Exports a trained convis-tiny checkpoint in the Hugging Face ONNX layout
(models/convis-tiny/model) and writes reference embeddings that PyTorch
computes for a few benchmark scenes and texts (reference.json), which the Go
tests compare with ONNX Runtime's.

    OPENBLAS_NUM_THREADS=1 NLTK_DATA=/tmp/nltk_data python3 export.py ckpt/final.pt
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

import common
from model import TinyCLIP, export_onnx

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "model")
PRE = {"crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_convert_rgb": True,
       "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": common.MEAN.tolist(),
       "image_std": common.STD.tolist(), "image_processor_type": "CLIPImageProcessor", "resample": 3,
       "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 224}}
REF_SCENES = ["single/0000.png", "single/0001.png", "multi/0000.png", "multi/0001.png"]
REF_TEXTS = ["a photo of a dog.", "a member of the genus Canis (probably descended from the common wolf) that has been domesticated by man since prehistoric times; occurs in many breeds", "a bus", "random colored noise"]


def load(path):
    state = torch.load(path)
    remap = state["model"]["text.remap"]
    a = state.get("args", {})
    m = TinyCLIP(remap, state["vocab"], vision_layers=a.get("vision_layers", 4), stem=a.get("stem", "conv"))
    m.load_state_dict(state["model"])
    m.eval()
    return m, state


def main(path):
    m, state = load(path)
    export_onnx(m.visual, m.text, OUT)
    cfg = {"model_type": "clip", "projection_dim": 128, "logit_scale": float(m.logit_scale.exp()),
           "vision_config": {"image_size": 224, "patch_size": 32, "patch_embedding": "conv stem (4x4/4, 3x3/2, 3x3/2, 2x2/2)", "hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4},
           "text_config": {"max_position_embeddings": 77, "hidden_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4, "vocab_size": 49408},
           "convis_description": "convis-tiny: a small CLIP trained on rendered emoji scenes (demo and test model; see models/convis-tiny/README.md)",
           "convis_training": {"steps": state.get("steps", state.get("step")),
                               **{k: v for k, v in state["args"].items() if k not in ("out", "init_text")}}}
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    with open(os.path.join(OUT, "preprocessor_config.json"), "w") as f:
        json.dump(PRE, f, indent=1)
    ref = {"images": {}, "texts": []}
    with torch.no_grad():
        for name in REF_SCENES:
            img = Image.open(os.path.join(common.ROOT, "testdata/scenes", name)).convert("RGB")
            x = torch.from_numpy(common.normalize(img))[None]
            ref["images"][name] = m.visual(x)[0].tolist()
        for t in REF_TEXTS:
            ids = torch.tensor([common.TOKENIZER.tokenize(t)])
            ref["texts"].append({"text": t, "embedding": m.text(ids, torch.ones_like(ids))[0].tolist()})
    with open(os.path.join(HERE, "..", "reference.json"), "w") as f:
        json.dump(ref, f)
    size = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fs in os.walk(OUT) for fn in fs)
    print("exported", OUT, size, "bytes")
    assert size <= 20_000_000, "the shipped model must stay under 20 MB"


if __name__ == "__main__":
    main(sys.argv[1])
