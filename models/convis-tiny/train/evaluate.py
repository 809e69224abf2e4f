#!/usr/bin/env python3
"""Model-card metrics of convis-tiny on the held-out single-object scenes
(testdata/scenes): zero-shot top-1 with "a photo of a {lemma}." prompts over
all objects, and where the object's definition ranks among all definitions
of T (top-10 share, median rank). Prints JSON.

    OPENBLAS_NUM_THREADS=1 NLTK_DATA=/tmp/nltk_data python3 evaluate.py ckpt/final.pt
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import common
import scenes
from export import load


def embed_texts(m, texts, batch=256):
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            ids = [common.TOKENIZER.tokenize(t) for t in texts[i:i + batch]]
            L = max(len(x) for x in ids)
            t = torch.full((len(ids), L), 49407, dtype=torch.long)
            mask = torch.zeros_like(t)
            for k, x in enumerate(ids):
                t[k, :len(x)] = torch.tensor(x)
                mask[k, :len(x)] = 1
            out.append(F.normalize(m.text(t, mask), dim=-1))
    return torch.cat(out)


def main(path, limit=None):
    m, _ = load(path)
    T = common.paper_hierarchy()
    names = [o["synset"] for o in scenes.OBJECTS]
    by = {s.name(): s for s in T}
    manifest = json.load(open(os.path.join(common.ROOT, "testdata/scenes/manifest.json")))
    single = [im for im in manifest["images"] if len(im["objects"]) == 1][:limit]
    lemma_emb = embed_texts(m, [common.prompt(common.EVAL_TEMPLATE, by[n].lemma_names()[0]) for n in names])
    def_texts = [s.definition() for s in T]
    def_emb = embed_texts(m, def_texts)
    pos = {s.name(): i for i, s in enumerate(T)}
    top1, ranks, sizes, hits = 0, [], [], []
    with torch.no_grad():
        for im in single:
            img = Image.open(os.path.join(common.ROOT, "testdata/scenes", im["file"])).convert("RGB")
            e = F.normalize(m.visual(torch.from_numpy(common.normalize(img))[None]), dim=-1)[0]
            truth = im["objects"][0]["concept"]
            hit = names[int((lemma_emb @ e).argmax())] == truth
            top1 += hit
            hits.append(hit)
            sizes.append(max(im["objects"][0]["box"][2:]))
            sims = def_emb @ e
            ranks.append(int((sims > sims[pos[truth]]).sum()))
    ranks = np.array(ranks)
    res = {"scenes": len(single), "objects": len(names), "zero_shot_top1": round(top1 / len(single), 4),
           "definition_top10": round(float((ranks < 10).mean()), 4), "definition_median_rank": float(np.median(ranks)),
           "definitions": len(T)}
    # Top-1 by the object's size (longest side of its box, pixels of 224).
    sizes, hits = np.array(sizes), np.array(hits)
    for lo, hi in ((0, 50), (50, 100), (100, 225)):
        sel = (sizes >= lo) & (sizes < hi)
        res[f"zero_shot_top1_{lo}_{hi}px"] = {"scenes": int(sel.sum()), "top1": round(float(hits[sel].mean()), 4) if sel.any() else None}
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
