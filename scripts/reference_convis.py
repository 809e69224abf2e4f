#!/usr/bin/env python3
"""A plain Python port of the ConVis reference algorithm (grid method,
Algorithm 1), run with PyTorch on convis-tiny's PyTorch weights, to check
that convis computes the published method.

For each scene it asks convis for the canvas it used (--format canvas,
--preset reference: centre crop, noise fill and every other published
setting, so both see the same pixels), runs the reference
loop on that canvas (every 128 then 64 box at stride 16 over the canvas, one
crop at a time resized with Pillow bicubic, cosine against all definitions of
T, best rank in the concept's subtree, accumulate, crop, min-max, invert),
and compares with convis's .npy map: Pearson correlation and peak distance.

    make parity     # or:
    OPENBLAS_NUM_THREADS=1 NLTK_DATA=/tmp/nltk_data python3 scripts/reference_convis.py --scenes 20
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "models/convis-tiny/train"))
import common  # noqa: E402
from model import TinyCLIP  # noqa: E402
from evaluate import embed_texts  # noqa: E402


def load_model():
    state = torch.load(os.path.join(ROOT, "models/convis-tiny/convis-tiny.pt"))
    m = TinyCLIP(state["text.remap"], state["text.tok.weight"].shape[0])
    m.load_state_dict(state)
    m.eval()
    return m


def reference_map(m, canvas, def_emb, subtree, boxes=(128, 64), stride=16, size=480, offset=128, image=224, full=True, batch=1):
    """Algorithm 1 as the reference runs it: one encoder pass per box
    (batch=1); a larger batch only groups the same crops for speed."""
    acc = np.zeros((size, size), np.float64)
    plan = []
    for s in boxes:
        for y in range(0, size, stride):
            for x in range(0, size, stride):
                if not full and not (x < offset + image and x + s > offset and y < offset + image and y + s > offset):
                    continue
                plan.append((x, y, s))
    with torch.no_grad():
        for i in range(0, len(plan), batch):
            part = plan[i:i + batch]
            crops = [common.normalize(canvas.crop((x, y, x + s, y + s)).resize((224, 224), Image.BICUBIC)) for x, y, s in part]
            e = F.normalize(m.visual(torch.from_numpy(np.stack(crops))), dim=-1)
            sims = e @ def_emb.t()
            for (x, y, s), row in zip(part, sims):
                best = row[subtree].max()
                acc[y:y + s, x:x + s] += int((row > best).sum())
    sal = acc[offset:offset + image, offset:offset + image]
    sal = (sal - sal.min()) / (sal.max() - sal.min())
    return 1 - sal


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=20)
    ap.add_argument("--convis", default=os.path.join(ROOT, "bin/convis"))
    ap.add_argument("--full", action="store_true", help="encode all 1,800 boxes as the reference does (slower)")
    ap.add_argument("--batch", type=int, default=1, help="crops per PyTorch pass (1: as the reference; larger only runs faster)")
    args = ap.parse_args()
    m = load_model()
    T = common.paper_hierarchy()
    pos = {s.name(): i for i, s in enumerate(T)}
    def_emb = embed_texts(m, [s.definition() for s in T])
    manifest = json.load(open(os.path.join(ROOT, "testdata/scenes/manifest.json")))
    rows = []
    t_ref = t_convis = 0.0
    # A cache of its own: the concept index is built once here (untimed),
    # and no window embedding of an earlier run makes convis look faster.
    cache = tempfile.mkdtemp(prefix="convis-parity-cache-")
    warm = os.path.join(ROOT, "testdata/demo/scene.png")
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([args.convis, "--cache-dir", cache, "explain", warm, "--concept", "dog", "-o", out], check=True, capture_output=True)
    for im in manifest["images"][:args.scenes]:
        concept = im["objects"][0]["concept"]
        path = os.path.join(ROOT, "testdata/scenes", im["file"])
        with tempfile.TemporaryDirectory() as out:
            t0 = time.time()
            subprocess.run([args.convis, "--cache-dir", cache, "explain", path, "--concept", concept, "--preset", "reference", "--seed", "1",
                            "--format", "npy,canvas", "-o", out], check=True, capture_output=True)
            t_convis += time.time() - t0
            stem = os.path.splitext(os.path.basename(path))[0]
            canvas = Image.open(os.path.join(out, stem + ".canvas.png")).convert("RGB")
            ours = np.load(os.path.join(out, "%s.%s.map.npy" % (stem, concept)))
        sub = [pos[s.name()] for s in T if s == T[pos[concept]] or T[pos[concept]] in s.closure(lambda x: x.hypernyms())]
        t0 = time.time()
        ref = reference_map(m, canvas, def_emb, sub, full=args.full, batch=args.batch)
        t_ref += time.time() - t0
        r = float(np.corrcoef(ours.ravel(), ref.ravel())[0, 1])
        py, px = np.unravel_index(np.argmax(ref), ref.shape)
        oy, ox = np.unravel_index(np.argmax(ours), ours.shape)
        d = float(np.hypot(px - ox, py - oy))
        rows.append((im["file"], concept, r, d))
        print("%-16s %-24s pearson %.5f  peak distance %5.1f px  (reference peak %d,%d; convis %d,%d)" % (im["file"], concept, r, d, px, py, ox, oy), flush=True)
    rs = np.array([r[2] for r in rows])
    ds = np.array([r[3] for r in rows])
    print("scenes %d: pearson min %.5f mean %.5f; peak distance max %.1f px; all pass (r >= 0.99, d <= 16): %s" % (
        len(rows), rs.min(), rs.mean(), ds.max(), bool((rs >= 0.99).all() and (ds <= 16).all())))
    shutil.rmtree(cache, ignore_errors=True)
    print("time per map: reference port %.2f s (batch %d%s), convis %.2f s (a process per map: start and index load included), ratio convis/reference %.3f" % (
        t_ref / len(rows), args.batch, ", all 1,800 boxes" if args.full else ", the 730 boxes that touch the image", t_convis / len(rows), t_convis / t_ref))


if __name__ == "__main__":
    main()
