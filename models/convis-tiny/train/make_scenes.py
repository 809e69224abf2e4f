#!/usr/bin/env python3
"""Writes the held-out benchmark scenes to testdata/scenes: 200 single-object
and 300 multi-object (2–4) scenes from seeds 9,000,000 and up, which training
(seeds 1,000,000 + step × batch + i, below 2,000,000) never uses, and a
manifest (testdata/scenes/manifest.json) in the format `convis eval` reads.

    python3 make_scenes.py             # all of them, and the demo scene
    python3 make_scenes.py nonsquare   # testdata/scenes-nonsquare only
"""
import json
import os

import scenes

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUT = os.path.join(ROOT, "testdata", "scenes")
FIRST_SEED = 9_000_000


def main(n_single=200, n_multi=300):
    os.makedirs(os.path.join(OUT, "single"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "multi"), exist_ok=True)
    images = []
    seed = FIRST_SEED
    for kind, count in (("single", n_single), ("multi", n_multi)):
        made = 0
        while made < count:
            n = 1 if kind == "single" else None
            img, objs, bg = scenes.make_scene(seed, n_objects=n if n else 2 + seed % 3)
            seed += 1
            if (kind == "single" and len(objs) != 1) or (kind == "multi" and len(objs) < 2):
                continue  # placement failed: skip the seed
            images.append(save_scene(OUT, "%s/%04d.png" % (kind, made), img, objs, bg, seed - 1))
            made += 1
    write_manifest(OUT, "convis-tiny held-out emoji scenes",
                   "made by models/convis-tiny/train/make_scenes.py from seeds never used in training; boxes are [x, y, w, h] in pixels", images)
    print(len(images), "scenes")


def save_scene(out, name, img, objs, bg, seed):
    """Writes a scene's PNG and returns its manifest entry."""
    img.save(os.path.join(out, name), optimize=True)
    return {"file": name, "seed": seed, "width": img.size[0], "height": img.size[1], "background": bg,
            "objects": [{"concept": o["synset"], "emoji": o["emoji"], "box": o["box"]} for o in objs]}


def write_manifest(out, name, about, images):
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"name": name, "about": about, "images": images}, f, ensure_ascii=False, indent=1)
        f.write("\n")


NONSQUARE_SEED = 9_500_000
NONSQUARE_SIZES = ((320, 240), (400, 300), (240, 320), (448, 448))


def nonsquare(per_size=40):
    """testdata/scenes-nonsquare: per_size scenes of each of 320×240,
    400×300, 240×320 and 448×448 (the square control from the same
    generator), 1–3 objects, flat, gradient, texture, pattern and
    photo-like backgrounds, from seeds 9,500,000 and up (never used in
    training), with their manifest."""
    out = os.path.join(ROOT, "testdata", "scenes-nonsquare")
    images = []
    seed = NONSQUARE_SEED
    for w, h in NONSQUARE_SIZES:
        folder = "%dx%d" % (w, h)
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        made = 0
        while made < per_size:
            img, objs, bg = scenes.make_scene_wh(seed, w, h)
            seed += 1
            if not objs:
                continue
            images.append(save_scene(out, "%s/%04d.png" % (folder, made), img, objs, bg, seed - 1))
            made += 1
    write_manifest(out, "convis-tiny held-out non-square emoji scenes",
                   "made by models/convis-tiny/train/make_scenes.py nonsquare() from seeds never used in training; boxes are [x, y, w, h] in pixels", images)
    print(len(images), "non-square scenes")


def demo():
    """testdata/demo/scene.png: a fixed, non-square scene for `make demo`:
    a dog, a cat and a bus on a gradient."""
    from PIL import Image
    import numpy as np
    W, H = 360, 240
    t = np.linspace(0, 1, W)[None, :, None]
    bg = (np.array([205, 225, 240]) * (1 - t) + np.array([240, 225, 190]) * t)
    img = Image.fromarray(np.repeat(bg, H, axis=0).astype(np.uint8))
    by = {o["synset"]: o for o in scenes.OBJECTS}
    objs = []
    for name, size, (x, y) in (("dog.n.01", 120, (20, 90)), ("cat.n.01", 80, (250, 20)), ("bus.n.01", 90, (240, 140))):
        sp = by[name]["sprite"]
        k = size / max(sp.size)
        sp = sp.resize((round(sp.size[0] * k), round(sp.size[1] * k)), Image.LANCZOS)
        img.paste(sp, (x, y), sp)
        objs.append({"concept": name, "emoji": by[name]["emoji"], "box": [x, y, sp.size[0], sp.size[1]]})
    os.makedirs(os.path.join(ROOT, "testdata", "demo"), exist_ok=True)
    img.save(os.path.join(ROOT, "testdata", "demo", "scene.png"), optimize=True)
    with open(os.path.join(ROOT, "testdata", "demo", "scene.json"), "w", encoding="utf-8") as f:
        json.dump({"file": "scene.png", "width": W, "height": H, "objects": objs}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["nonsquare"]:
        nonsquare()
    else:
        main()
        demo()
        nonsquare()
