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
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import common
import scenes
from model import TinyCLIP

# NLTK warns about every redundant path while it walks WordNet's closures.
warnings.filterwarnings("ignore", message="Discarded redundant search")

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

    def example(self, seed, difficulty=1.0):
        """difficulty in [0, 1] is the curriculum: early examples have
        larger and more often single objects, and fewer windows."""
        rng = np.random.default_rng(seed)
        single = rng.random() < 0.8 - 0.2 * difficulty
        img, objs, _ = scenes.make_scene(seed, n_objects=1 if single else None, min_size=int(round(70 - 45 * difficulty)))
        if rng.random() < 0.1 + 0.15 * difficulty and objs:
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


def object_texts(syn):
    """Every caption of an object: its definition and each lemma in each template."""
    return [syn.definition()] + [common.prompt(t, l) for l in syn.lemma_names() for t in common.TEMPLATES]


def train_text(model, sampler, T, args):
    """Stage 1, text only (cheap): captions of the same object (definition,
    lemma prompts) attract each other; definitions of the other synsets of T
    are negatives that every object caption must be far from."""
    objects = [o["synset"] for o in scenes.OBJECTS]
    groups = [object_texts(sampler.by_name[n]) for n in objects] + [list(common.BACKGROUND_TEXTS)]
    obj_defs = {sampler.by_name[n].definition() for n in objects}
    neg_pool = sorted({s.definition() for s in T} - obj_defs)
    params = [p for n, p in model.text.named_parameters() if n != "remap"]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    t0 = time.time()
    for step in range(args.text_steps):
        lr = 1e-3 * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / args.text_steps))
        for g in opt.param_groups:
            g["lr"] = lr
        rng = np.random.default_rng(args.seed + 10_000_000 + step)
        gi = rng.choice(len(groups), args.text_groups, replace=False)
        anchors, positives = [], []
        for g in gi:
            a, b = rng.choice(len(groups[g]), 2, replace=len(groups[g]) < 2)
            if rng.random() < 0.5:
                a = 0  # the definition, as ConVis prompts
            anchors.append(groups[g][a])
            positives.append(groups[g][b])
        negs = [neg_pool[k] for k in rng.choice(len(neg_pool), args.text_negatives, replace=False)]
        emb = F.normalize(encode_texts(model, anchors + positives + negs), dim=-1)
        n = len(anchors)
        A, P, N = emb[:n], emb[n:2 * n], emb[2 * n:]
        logits = 20 * A @ torch.cat([P, N]).t()
        loss = (F.cross_entropy(logits, torch.arange(n)) + F.cross_entropy(20 * P @ A.t(), torch.arange(n))) / 2
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 20 == 0 or step == args.text_steps - 1:
            acc = (logits.argmax(1) == torch.arange(n)).float().mean().item()
            print(json.dumps({"stage": "text", "step": step, "loss": round(loss.item(), 4), "acc": round(acc, 3),
                              "elapsed_s": round(time.time() - t0)}), flush=True)


def text_targets(model, sampler, T):
    """The frozen text side of stage 2: every definition of T, one lemma-prompt
    centroid per object and a background centroid."""
    objects = [o["synset"] for o in scenes.OBJECTS]
    with torch.no_grad():
        defs = F.normalize(encode_all(model, [s.definition() for s in T]), dim=-1)
        cents = []
        for n in objects:
            syn = sampler.by_name[n]
            e = F.normalize(encode_all(model, [common.prompt(t, l) for l in syn.lemma_names() for t in common.TEMPLATES]), dim=-1)
            cents.append(F.normalize(e.mean(0), dim=0))
        bg = F.normalize(F.normalize(encode_all(model, list(common.BACKGROUND_TEXTS)), dim=-1).mean(0), dim=0)
    cols = torch.cat([defs, torch.stack(cents), bg[None]])
    pos = {s.name(): i for i, s in enumerate(T)}
    col_of = {n: (pos[n], len(T) + k) for k, n in enumerate(objects)}
    return cols, col_of, len(T) + len(objects)


class Batches(torch.utils.data.IterableDataset):
    """Stage 2's batches from a step on: pixels and the 0/1 matrix of which
    text columns (definitions, lemma centroids, background) each example shows."""

    def __init__(self, sampler, args, col_of, bg_col, ncols, start):
        self.sampler, self.args, self.col_of, self.bg_col, self.ncols, self.start = sampler, args, col_of, bg_col, ncols, start

    def __iter__(self):
        a = self.args
        for step in range(self.start, a.steps):
            seeds = 1_000_000 + step * a.batch + np.arange(a.batch)
            difficulty = min(1.0, step / (0.4 * a.steps))
            ex = [self.sampler.example(int(s), difficulty) for s in seeds]
            pixels = torch.from_numpy(np.stack([e[0] for e in ex]))
            P = torch.zeros(a.batch, self.ncols)
            for i, (_, present) in enumerate(ex):
                if not present:
                    P[i, self.bg_col] = 1
                for n in present:
                    d, c = self.col_of[n]
                    P[i, d] = 1
                    P[i, c] = 1
            yield pixels, P


def encode_all(model, texts, batch=256):
    return torch.cat([encode_texts(model, texts[i:i + batch]) for i in range(0, len(texts), batch)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="ckpt")
    ap.add_argument("--steps", type=int, default=10000, help="stage 2 (image tower) steps")
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--text-steps", type=int, default=150)
    ap.add_argument("--text-groups", type=int, default=96)
    ap.add_argument("--text-negatives", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="processes rendering scenes ahead of training")
    ap.add_argument("--init-text", default="", help=argparse.SUPPRESS)
    ap.add_argument("--vision-layers", type=int, default=4)
    ap.add_argument("--stem", default="conv", choices=["conv", "small", "patch"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    T = common.paper_hierarchy()
    assert len(T) == 7080, len(T)
    remap, vocab = build_vocab(T)
    model = TinyCLIP(remap, vocab, seed=args.seed, vision_layers=args.vision_layers, stem=args.stem)
    sampler = Sampler(T)
    ck = os.path.join(args.out, "last.pt")
    start = 0
    state = torch.load(ck) if os.path.exists(ck) else None
    if state is not None:
        # Resuming another configuration would silently mix two runs.
        ignore = {"out", "threads", "workers"}
        was = {k: v for k, v in state["args"].items() if k not in ignore}
        now = {k: v for k, v in vars(args).items() if k not in ignore}
        if was != now:
            raise SystemExit(f"{ck} is from a run with other settings ({was}); use another --out or remove it")
    if state is None and args.init_text:
        # For experiments only: start the image stage from another run's text tower.
        other = torch.load(args.init_text)["model"]
        model.text.load_state_dict({k[len("text."):]: v for k, v in other.items() if k.startswith("text.")})
    elif state is None:
        text_ck = os.path.join(args.out, "text.pt")
        if os.path.exists(text_ck):
            model.text.load_state_dict(torch.load(text_ck))
            print("stage 1 (text) loaded from", text_ck, flush=True)
        else:
            train_text(model, sampler, T, args)
            torch.save(model.text.state_dict(), text_ck + ".tmp")
            os.replace(text_ck + ".tmp", text_ck)
    else:
        model.load_state_dict(state["model"])
    # Stage 2: the text tower is locked; the image tower (and the
    # temperature) learn to put each image next to its objects' captions,
    # scored against all of T's definitions at once: what ConVis asks.
    for p in model.text.parameters():
        p.requires_grad_(False)
    cols, col_of, bg_col = text_targets(model, sampler, T)
    params = list(model.visual.parameters()) + [model.logit_scale]
    decay = [p for n, p in model.visual.named_parameters() if p.ndim >= 2 and "pos" not in n]
    no_decay = [p for n, p in model.visual.named_parameters() if not (p.ndim >= 2 and "pos" not in n)] + [model.logit_scale]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    if state is not None:
        opt.load_state_dict(state["opt"])
        start = state["step"]
        torch.set_rng_state(state["torch_rng"])
        print("resumed at step", start, flush=True)
    warm = 60
    t0 = time.time()
    # A worker process renders the next batches while this one trains: the
    # examples are a function of the step alone, so the result is the same
    # with or without it.
    batches = torch.utils.data.DataLoader(Batches(sampler, args, col_of, bg_col, cols.shape[0], start),
                                          batch_size=None, num_workers=args.workers, prefetch_factor=4 if args.workers else 2)
    for step, (pixels, P) in zip(range(start, args.steps), batches):
        lr = args.lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        torch.manual_seed(args.seed + 20_000_000 + step)
        img = F.normalize(model.visual(pixels), dim=-1)
        scale = model.logit_scale.exp().clamp(max=100)
        logits = scale * img @ cols.t()
        loss = -(F.log_softmax(logits, dim=1) * P).sum(1).div(P.sum(1)).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 10 == 0 or step == args.steps - 1:
            acc = P[torch.arange(args.batch), logits.argmax(1)].mean().item()
            print(json.dumps({"stage": "image", "step": step, "loss": round(loss.item(), 4), "acc": round(acc, 3), "lr": round(lr, 6),
                              "scale": round(scale.item(), 2), "elapsed_s": round(time.time() - t0)}), flush=True)
        if (step + 1) % 50 == 0 or step == args.steps - 1:
            for p in model.text.parameters():
                p.requires_grad_(True)
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                     "torch_rng": torch.get_rng_state(), "vocab": vocab, "args": vars(args)}
            torch.save(state, ck + ".tmp")
            os.replace(ck + ".tmp", ck)
    torch.save({"model": model.state_dict(), "vocab": vocab, "args": vars(args), "steps": args.steps}, os.path.join(args.out, "final.pt"))


if __name__ == "__main__":
    main()
