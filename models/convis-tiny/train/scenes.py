"""Deterministic emoji scenes: the world convis-tiny is trained and tested on.

make_scene(seed) places 1–4 sprites (data/sprites, mapped to WordNet synsets
in data/objects.tsv) on a varied background and returns the RGB image and the
objects with their boxes [x, y, w, h] in pixels. The same seed gives the same
scene on any machine with the same NumPy and Pillow.
"""
import csv
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
SIZE = 224


def load_objects():
    with open(os.path.join(DATA, "objects.tsv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    for r in rows:
        r["sprite"] = Image.open(os.path.join(DATA, "sprites", r["codepoints"] + ".png")).convert("RGBA")
    return rows


OBJECTS = load_objects()


def _color(rng):
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def background(rng, size=SIZE):
    kind = rng.choice(["flat", "gradient", "noise", "stripes", "checker", "dots", "texture"])
    if kind == "flat":
        return Image.new("RGB", (size, size), _color(rng)), kind
    if kind == "gradient":
        a, b = np.array(_color(rng), float), np.array(_color(rng), float)
        t = np.linspace(0, 1, size)[:, None, None]
        img = a + (b - a) * t
        img = np.repeat(img, size, axis=1)
        if rng.random() < 0.5:
            img = img.transpose(1, 0, 2)
        return Image.fromarray(img.astype(np.uint8)), kind
    if kind == "noise":
        return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)), kind
    if kind == "texture":
        small = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((size, size), Image.BICUBIC)
        return img.filter(ImageFilter.GaussianBlur(2)), kind
    img = Image.new("RGB", (size, size), _color(rng))
    d = ImageDraw.Draw(img)
    fg = _color(rng)
    step = int(rng.integers(8, 40))
    if kind == "stripes":
        for x in range(-size, 2 * size, step * 2):
            if rng.random() < 0.5:
                d.rectangle([x, 0, x + step - 1, size], fill=fg)
            else:
                d.polygon([(x, 0), (x + step, 0), (x + step + size, size), (x + size, size)], fill=fg)
    elif kind == "checker":
        for i in range(0, size, step):
            for j in range(0, size, step):
                if (i // step + j // step) % 2 == 0:
                    d.rectangle([i, j, i + step - 1, j + step - 1], fill=fg)
    else:  # dots
        r = max(2, step // 4)
        for i in range(step // 2, size, step):
            for j in range(step // 2, size, step):
                d.ellipse([i - r, j - r, i + r, j + r], fill=fg)
    return img, kind


def _sprite(rng, o, lo, hi, width, height):
    """The object's sprite at a random size in [lo, hi] (log-uniform),
    rotated by up to 20°, cropped to its pixels and fitted in width ×
    height; None when nothing is left."""
    target = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    sp = o["sprite"]
    scale = target / max(sp.size)
    sp = sp.resize((max(1, round(sp.size[0] * scale)), max(1, round(sp.size[1] * scale))), Image.LANCZOS)
    angle = float(rng.uniform(-20, 20))
    sp = sp.rotate(angle, resample=Image.BICUBIC, expand=True)
    bbox = sp.getbbox()
    if bbox is None:
        return None
    sp = sp.crop(bbox)
    if sp.size[0] > width or sp.size[1] > height:
        sp.thumbnail((width, height), Image.LANCZOS)
    return sp


def _place(rng, sprite_img, boxes, width, height=None):
    height = width if height is None else height
    w, h = sprite_img.size
    for _ in range(30):
        x = int(rng.integers(0, width - w + 1))
        y = int(rng.integers(0, height - h + 1))
        ok = True
        for (bx, by, bw, bh) in boxes:
            ix = max(0, min(x + w, bx + bw) - max(x, bx))
            iy = max(0, min(y + h, by + bh) - max(y, by))
            if ix * iy > 0.3 * min(w * h, bw * bh):
                ok = False
                break
        if ok:
            return x, y
    return None


def make_scene(seed, n_objects=None, size=SIZE, exclude=None, min_size=25):
    """Returns (RGB image, objects, background kind). objects: dicts with
    synset, emoji, box. min_size raises the smallest sprite (training's
    curriculum); the benchmark uses the default."""
    rng = np.random.default_rng(seed)
    img, bg = background(rng, size)
    n = int(n_objects or rng.integers(1, 5))
    pool = [i for i in range(len(OBJECTS)) if exclude is None or OBJECTS[i]["synset"] not in exclude]
    picks = rng.choice(pool, size=n, replace=False)
    if n == 1:
        lo, hi = min_size, 200
    else:
        lo, hi = min_size, 130 if n == 2 else 100
    lo = min(lo, hi)
    return img, _paste_sprites(rng, img, picks, lo, hi), bg


def _paste_sprites(rng, img, picks, lo, hi):
    """Pastes the picked objects' sprites (sized in [lo, hi]) where they do
    not overlap, in order; returns their records with boxes. The square and
    non-square scenes share it, so both draw from rng in the same order."""
    width, height = img.size
    objs, boxes = [], []
    for idx in picks:
        o = OBJECTS[int(idx)]
        sp = _sprite(rng, o, lo, hi, width, height)
        if sp is None:
            continue
        pos = _place(rng, sp, boxes, width, height)
        if pos is None:
            continue
        img.paste(sp, pos, sp)
        box = [pos[0], pos[1], sp.size[0], sp.size[1]]
        boxes.append(box)
        objs.append({"synset": o["synset"], "emoji": o["emoji"], "box": box})
    return objs


def photo_background(rng, width, height):
    """A photo-like background: smooth colour fields at three scales plus a
    little grain (training never sees it)."""
    img = np.zeros((height, width, 3))
    for cells, weight in ((3, 0.6), (9, 0.3), (27, 0.1)):
        small = rng.integers(0, 256, (cells, cells, 3), dtype=np.uint8)
        layer = Image.fromarray(small).resize((width, height), Image.BICUBIC).filter(ImageFilter.GaussianBlur(max(width, height) / cells / 3))
        img += weight * np.asarray(layer, float)
    img += rng.normal(0, 4, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def make_scene_wh(seed, width, height, n_objects=None):
    """A width × height scene for the non-square benchmark: a background cut
    from a square one of the long side (any kind, or photo-like), then 1–3
    sprites sized for the short side. Returns (image, objects, background)."""
    rng = np.random.default_rng(seed)
    S = max(width, height)
    if rng.random() < 0.3:
        img, bg = photo_background(rng, S, S), "photo"
    else:
        img, bg = background(rng, S)
    x0, y0 = int(rng.integers(0, S - width + 1)), int(rng.integers(0, S - height + 1))
    img = img.crop((x0, y0, x0 + width, y0 + height))
    n = int(n_objects or rng.integers(1, 4))
    picks = rng.choice(len(OBJECTS), size=n, replace=False)
    k = min(width, height) / SIZE
    lo, hi = 25 * k, (200 if n == 1 else 130 if n == 2 else 100) * k
    return img, _paste_sprites(rng, img, picks, lo, hi), bg
