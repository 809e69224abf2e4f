#!/usr/bin/env python3
"""Trains convis-tiny contrastively on generated emoji scenes (CPU, Debian
PyTorch). Deterministic for a seed and step count.

    OPENBLAS_NUM_THREADS=1 NLTK_DATA=/tmp/nltk_data python3 train.py --out ckpt
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import common
import scenes
from model import TinyCLIP

CANVAS = 480


def build_vocab(T):
    used = set()
    for t in common.all_training_texts(T):
        used.update(common.TOKENIZER.tokenize(t))
    used = sorted(used)
    remap = torch.zeros(49408, dtype=torch.long)  # row 0: unknown ids
    for i, tid in enumerate(used):
        remap[tid] = i + 1
    return remap, len(used) + 1


def tokens(texts, max_len=32):
    ids = [common.TOKENIZER.tokenize(t) for t in texts]
    ids = [x if len(x) <= max_len else x[:max_len - 1] + [49407] for x in ids]
    L = max(len(x) for x in ids)
    out = torch.full((len(ids), L), 49407, dtype=torch.long)
    mask = torch.zeros((len(ids), L), dtype=torch.long)
    for i, x in enumerate(ids):
        out[i, :len(x)] = torch.tensor(x)
        mask[i, :len(x)] = 1
    return out, mask


def encode_texts(model, texts, short=12):
    """Runs short and long texts as two batches, so that lemma prompts are
    not padded to the length of definitions; returns rows in input order."""
    lens = [len(common.TOKENIZER.tokenize(t)) for t in texts]
    groups = [[i for i, n in enumerate(lens) if n <= short], [i for i, n in enumerate(lens) if n > short]]
    out = [None] * len(texts)
    for g in groups:
        if not g:
            continue
        ids, mask = tokens([texts[i] for i in g])
        emb = model.text(ids, mask)
        for k, i in enumerate(g):
            out[i] = emb[k]
    return torch.stack(out)


class Sampler:
    """One training example per seed: a scene, or a ConVis-style crop of a
    scene pasted on a noise canvas, and a caption for it."""

    def __init__(self, T):
        self.by_name = {s.name(): s for s in T}
        self.T = T

    def hypernym_lemmas(self, s):
        hs = [h for h in s.closure(lambda x: x.hypernyms()) if h.name() in self.by_name]
        hs = [h for h in hs if h.name() not in ("entity.n.01", "physical_entity.n.01", "object.n.01", "whole.n.02", "abstraction.n.06")]
        return hs

    def example(self, seed):
        rng = np.random.default_rng(seed)
        img, objs, _ = scenes.make_scene(seed, n_objects=1 if rng.random() < 0.5 else None)
        if rng.random() < 0.45 and objs:
            canvas = Image.fromarray(rng.integers(0, 256, (CANVAS, CANVAS, 3), dtype=np.uint8))
            canvas.paste(img, (128, 128))
            size = int(rng.choice([64, 128, 96, 160]))
            # Crops around an object most of the time, anywhere otherwise.
            if rng.random() < 0.8:
                o = objs[rng.integers(len(objs))]
                x0, y0, w, h = o["box"]
                cx = 128 + x0 + w / 2 + rng.normal(0, size / 6)
                cy = 128 + y0 + h / 2 + rng.normal(0, size / 6)
                x, y = int(np.clip(cx - size / 2, 0, CANVAS - size)), int(np.clip(cy - size / 2, 0, CANVAS - size))
            else:
                x, y = int(rng.integers(0, CANVAS - size + 1)), int(rng.integers(0, CANVAS - size + 1))
            crop = canvas.crop((x, y, x + size, y + size)).resize((224, 224), Image.BICUBIC)
            inside = []
            for o in objs:
                bx, by, bw, bh = o["box"]
                bx, by = bx + 128, by + 128
                ix = max(0, min(x + size, bx + bw) - max(x, bx))
                iy = max(0, min(y + size, by + bh) - max(y, by))
                frac = ix * iy / float(bw * bh)
                if frac >= 0.6 and ix * iy >= 0.08 * size * size:
                    inside.append((ix * iy, o["synset"]))
            inside.sort(reverse=True)
            return common.normalize(crop), [n for _, n in inside]
        return common.normalize(img), [o["synset"] for o in objs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="ckpt")
    ap.add_argument("--steps", type=int, default=900)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--negatives", type=int, default=48)
    ap.add_argument("--classes", type=int, default=112)
    ap.add_argument("--lr", type=float, default=7e-4)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    T = common.paper_hierarchy()
    assert len(T) == 7080, len(T)
    remap, vocab = build_vocab(T)
    model = TinyCLIP(remap, vocab)
    defs = sorted({s.definition() for s in T})
    sampler = Sampler(T)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "pos" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    start = 0
    ck = os.path.join(args.out, "last.pt")
    if os.path.exists(ck):
        state = torch.load(ck)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        start = state["step"]
        torch.set_rng_state(state["torch_rng"])
        print("resumed at step", start, flush=True)
    warm = 80
    objects = [o["synset"] for o in scenes.OBJECTS]
    obj_defs = {by.definition() for by in (sampler.by_name[n] for n in objects)}
    neg_pool = [d for d in defs if d not in obj_defs]
    hyper = {n: {h.name(): h for h in sampler.hypernym_lemmas(sampler.by_name[n])} for n in objects}
    t0 = time.time()
    for step in range(start, args.steps):
        lr = args.lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        rng = np.random.default_rng(args.seed + step)
        seeds = 1_000_000 + step * args.batch + np.arange(args.batch)
        ex = [sampler.example(int(s)) for s in seeds]
        pixels = torch.from_numpy(np.stack([e[0] for e in ex]))
        present = [e[1] for e in ex]
        # The text side of every step holds one caption of every object (its
        # definition or a lemma prompt), a background caption, a few
        # multi-object and hypernym captions of this batch's scenes, and
        # definitions of other synsets of T as text-only negatives. Each
        # image is scored against all of them (multi-positive targets).
        texts, truth = [], []  # truth[c]: set of image indexes for which text c is true
        # Every object in the batch, then others at random up to --classes:
        # a wide softmax each step at a fraction of the text tower's cost.
        in_batch = sorted({n for p in present for n in p})
        others = [n for n in objects if n not in set(in_batch)]
        extra = max(0, args.classes - len(in_batch))
        step_objects = in_batch + [others[k] for k in rng.choice(len(others), min(extra, len(others)), replace=False)]
        for n in step_objects:
            syn = sampler.by_name[n]
            if rng.random() < 0.5:
                texts.append(syn.definition())
            else:
                texts.append(common.prompt(common.TEMPLATES[rng.integers(len(common.TEMPLATES))], syn.lemma_names()[rng.integers(len(syn.lemma_names()))]))
            truth.append({i for i, p in enumerate(present) if n in p})
        texts.append(common.BACKGROUND_TEXTS[rng.integers(len(common.BACKGROUND_TEXTS))])
        truth.append({i for i, p in enumerate(present) if not p})
        for i, p in enumerate(present):
            if len(p) > 1 and rng.random() < 0.3:
                texts.append("a " + " and a ".join(common.lemma_text(sampler.by_name[n].lemma_names()[0]) for n in p[:3]))
                truth.append({j for j, q in enumerate(present) if set(p[:3]) <= set(q)})
            elif p and rng.random() < 0.15 and hyper[p[0]]:
                hs = sorted(hyper[p[0]])
                h = hyper[p[0]][hs[rng.integers(len(hs))]]
                texts.append(common.prompt("a photo of a {}.", h.lemma_names()[0]))
                truth.append({j for j, q in enumerate(present) if any(h.name() in hyper[n] for n in q)})
        for d in rng.choice(len(neg_pool), args.negatives, replace=False):
            texts.append(neg_pool[d])
            truth.append(set())
        P = torch.zeros(args.batch, len(texts))
        for c, imgs in enumerate(truth):
            for i in imgs:
                P[i, c] = 1
        img = F.normalize(model.visual(pixels), dim=-1)
        txt = F.normalize(encode_texts(model, texts), dim=-1)
        scale = model.logit_scale.exp().clamp(max=100)
        logits = scale * img @ txt.t()
        loss_i = -(F.log_softmax(logits, dim=1) * P).sum(1).div(P.sum(1).clamp(min=1)).mean()
        cols = P.sum(0) > 0
        lt = logits.t()[cols]
        Pt = P.t()[cols]
        loss_t = -(F.log_softmax(lt, dim=1) * Pt).sum(1).div(Pt.sum(1)).mean()
        loss = (loss_i + loss_t) / 2
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        target = P.argmax(1)
        if step % 10 == 0 or step == args.steps - 1:
            acc = P[torch.arange(args.batch), logits.argmax(1)].mean().item()
            print(json.dumps({"step": step, "loss": round(loss.item(), 4), "acc": round(acc, 3), "lr": round(lr, 6),
                              "scale": round(scale.item(), 2), "elapsed_s": round(time.time() - t0)}), flush=True)
        if (step + 1) % 50 == 0 or step == args.steps - 1:
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                     "torch_rng": torch.get_rng_state(), "vocab": vocab, "args": vars(args)}
            torch.save(state, ck + ".tmp")
            os.replace(ck + ".tmp", ck)
    torch.save({"model": model.state_dict(), "vocab": vocab, "args": vars(args), "steps": args.steps}, os.path.join(args.out, "final.pt"))


if __name__ == "__main__":
    main()
