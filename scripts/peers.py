#!/usr/bin/env python3
"""ConVis and the methods users know: pytorch-grad-cam's Grad-CAM,
Grad-CAM++, LayerCAM, ScoreCAM and EigenCAM on convis-tiny's PyTorch
weights, scored by `convis eval localization` on the benchmark scenes, so
that every method is measured by the same metric code.

    make peers                       # or:
    PYTHONPATH=PEER_SRC python3 scripts/peers.py --scenes 100 --out build/peers

For each sample of `convis eval localization --list-samples` (object and
parent level), each CAM method and each target layer, it writes the map as
.npy beside a sidecar (relative_path = the dataset's file, method =
"<cam>-<layer>-<target>") that `convis eval localization --maps` reads.
The target of a map is the cosine between the image embedding and the
concept's text embedding: its WordNet definition ("def") or its lemma prompt
("lemma", "a photo of a dog."). Target layers, per the library's ViT
guidance: the last block's first LayerNorm with the 7×7 tokens reshaped to a
grid ("block"), and the convolution stem's last layer ("stem").

pytorch-grad-cam is an optional dependency (pip install grad-cam; it needs
ttach, opencv, scikit-learn, scipy, tqdm, matplotlib). Missing, the script
says how to install it and exits.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "models/convis-tiny/train"))

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit("peers.py needs PyTorch and pytorch-grad-cam (%s): pip install grad-cam "
             "(or, on Debian: apt-get install python3-torch python3-torchvision python3-opencv python3-sklearn "
             "python3-scipy python3-matplotlib python3-tqdm, and a checkout of pytorch-grad-cam and ttach on PYTHONPATH)" % e)

import pytorch_grad_cam.score_cam as _score_cam  # noqa: E402

_score_cam.tqdm.tqdm = lambda it, **kw: it  # no progress bars in the log

import common  # noqa: E402
from evaluate import embed_texts  # noqa: E402
from model import TinyCLIP  # noqa: E402
from nltk.corpus import wordnet as wn  # noqa: E402

METHODS = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "layercam": LayerCAM, "scorecam": ScoreCAM, "eigencam": EigenCAM}


def load_model(path=os.path.join(ROOT, "models/convis-tiny/convis-tiny.pt")):
    state = torch.load(path)
    m = TinyCLIP(state["text.remap"], state["text.tok.weight"].shape[0])
    m.load_state_dict(state)
    m.eval()
    return m


class CosineTarget:
    """The score a CAM explains: the cosine of the image embedding with a
    text embedding (as ConVis ranks image and text embeddings)."""

    def __init__(self, text_emb):
        self.text = text_emb

    def __call__(self, image_emb):
        return F.normalize(image_emb, dim=-1) @ self.text


def tokens_to_grid(x):
    """ViT tokens (B, 1+49, C) without the class token, as a (B, C, 7, 7) grid."""
    x = x[:, 1:, :]
    side = int(round(x.shape[1] ** 0.5))
    return x.reshape(x.shape[0], side, side, x.shape[2]).permute(0, 3, 1, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=100)
    ap.add_argument("--out", default=os.path.join(ROOT, "build/peers"))
    ap.add_argument("--convis", default=os.path.join(ROOT, "bin/convis"))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--layers", default="block,stem", help="target layers (comma-separated): block, stem")
    ap.add_argument("--targets", default="def,lemma", help="targets (comma-separated): def, lemma")
    ap.add_argument("--checkpoint", default=os.path.join(ROOT, "models/convis-tiny/convis-tiny.pt"),
                    help="PyTorch weights (eval sanity passes the randomised copies of scripts/randomize_vision.py)")
    args = ap.parse_args()
    samples = json.loads(subprocess.run([args.convis, "eval", "localization", os.path.join(ROOT, "testdata/scenes"), "--limit", str(args.scenes),
                                         "--concept-level", "object,parent", "--list-samples", "--log-level", "error"],
                                        check=True, capture_output=True, text=True).stdout)
    m = load_model(args.checkpoint)
    visual = m.visual
    layers = {"block": ([visual.blocks[-1].ln1], tokens_to_grid), "stem": ([visual.patch.net[-1]], None)}
    layers = {k: layers[k] for k in args.layers.split(",")}
    concepts = sorted({s["concept"] for s in samples})
    defs = embed_texts(m, [wn.synset(c).definition() for c in concepts])
    lemmas = embed_texts(m, [common.prompt(common.EVAL_TEMPLATE, wn.synset(c).lemma_names()[0]) for c in concepts])
    text = {"def": dict(zip(concepts, defs)), "lemma": dict(zip(concepts, lemmas))}
    timing = {}
    images = {}
    for s in samples:
        if s["file"] not in images:
            img = Image.open(os.path.join(ROOT, "testdata/scenes", s["file"])).convert("RGB")
            images[s["file"]] = (img.size, torch.from_numpy(common.normalize(img.resize((224, 224), Image.BICUBIC)))[None])
    for name in args.methods.split(","):
        for layer, (target_layers, reshape) in layers.items():
            cam = METHODS[name](model=visual, target_layers=target_layers, reshape_transform=reshape)
            if name == "scorecam":
                cam.batch_size = 64
            for kind in args.targets.split(","):
                method = "%s-%s-%s" % (name, layer, kind)
                done, spent = set(), 0.0
                for s in samples:
                    key = (s["file"], s["concept"])
                    if key in done:
                        continue
                    done.add(key)
                    (w, h), x = images[s["file"]]
                    t0 = time.time()
                    g = cam(input_tensor=x, targets=[CosineTarget(text[kind][s["concept"]])])[0]
                    spent += time.time() - t0
                    # The CAM is on the 224 input; the boxes are in the image's pixels.
                    g = np.asarray(Image.fromarray(g.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR), np.float32)
                    lo, hi = float(g.min()), float(g.max())
                    g = (g - lo) / (hi - lo) if hi > lo else np.zeros_like(g)
                    write(args.out, method, s, g)
                timing[method] = spent / max(len(done), 1)
                for s in samples:  # seconds per map, for eval's speed column
                    patch_seconds(args.out, method, s, timing[method])
                print("%-28s %6.1f ms per map" % (method, 1000 * timing[method]), flush=True)
    with open(os.path.join(args.out, "timing.json"), "w") as f:
        json.dump(timing, f, indent=1)


def stem_of(s):
    return os.path.splitext(s["file"])[0]


def write(out, method, s, g):
    d = os.path.join(out, method, os.path.dirname(s["file"]))
    os.makedirs(d, exist_ok=True)
    base = "%s.%s.%s" % (os.path.basename(stem_of(s)), s["concept"].replace("/", "%2F"), method)
    np.save(os.path.join(d, base + ".map.npy"), g.astype("<f4"))
    py, px = np.unravel_index(int(np.argmax(g)), g.shape)
    sidecar = {"schema": 2, "image": s["file"], "relative_path": s["file"], "concept": {"synset": s["concept"]}, "method": method,
               "params": {}, "map_size": [g.shape[1], g.shape[0]], "box": None, "peak": [int(px), int(py)],
               "outputs": {"npy": base + ".map.npy", "json": base + ".json"}}
    with open(os.path.join(d, base + ".json"), "w") as f:
        json.dump(sidecar, f)


def patch_seconds(out, method, s, seconds):
    d = os.path.join(out, method, os.path.dirname(s["file"]))
    p = os.path.join(d, "%s.%s.%s.json" % (os.path.basename(stem_of(s)), s["concept"].replace("/", "%2F"), method))
    with open(p) as f:
        sc = json.load(f)
    sc["params"]["seconds_per_map"] = seconds
    with open(p, "w") as f:
        json.dump(sc, f)


if __name__ == "__main__":
    main()
