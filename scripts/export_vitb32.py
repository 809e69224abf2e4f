#!/usr/bin/env python3
"""Exports a CLIP with ViT-B/32's architecture and random weights (vision:
width 768, 12 layers, 12 heads, patch 32; text: width 512, 12 layers, 8
heads, the full 49,408-token vocabulary; embeddings 512) in the Hugging Face
ONNX layout, for benchmarks at real-model cost. Not committed (~600 MB).

    OPENBLAS_NUM_THREADS=1 python3 scripts/export_vitb32.py build/vitb32
"""
import json
import os
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "models/convis-tiny/train"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import model as M  # noqa: E402
from model import export_onnx  # noqa: E402
from make_fixture_model import PRE  # noqa: E402


def main(out):
    torch.manual_seed(0)
    vis = M.VisionTower(width=768, layers=12, heads=12, patch=32, embed=512, stem="patch").eval()
    txt = M.TextTower(torch.arange(49408), 49408, width=512, layers=12, heads=8, embed=512).eval()
    export_onnx(vis, txt, out)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({"model_type": "clip", "projection_dim": 512, "convis_description": "ViT-B/32-sized CLIP with random weights (benchmarks only)"}, f)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(PRE, f)
    print("exported", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/vitb32")
