#!/usr/bin/env python3
"""Exports the test fixture: a tiny randomly initialised CLIP in the Hugging
Face ONNX layout (testdata/fixture-model), test images (testdata/images) and
the embeddings PyTorch computes for them (reference.json), with preprocessing
done as transformers' CLIPImageProcessor does it (Pillow bicubic resize of the
shortest edge, centre crop, rescale, normalise) after load_image's EXIF
transpose. Deterministic (fixed seeds).

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/make_fixture_model.py
"""
import io
import json
import os
import sys

import numpy as np
import torch
from PIL import Image, ImageOps

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "models/convis-tiny/train"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import model as M  # noqa: E402
from model import export_onnx  # noqa: E402
from clip_tokenizer_ref import SimpleTokenizer  # noqa: E402

OUT = os.path.join(ROOT, "testdata/fixture-model")
IMAGES = os.path.join(ROOT, "testdata/images")
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
PRE = {"crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_convert_rgb": True,
       "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": MEAN.tolist(),
       "image_std": STD.tolist(), "image_processor_type": "CLIPImageProcessor", "resample": 3,
       "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 224}}


def tiny_model():
    torch.manual_seed(1234)
    remap = torch.arange(49408, dtype=torch.long) % 1024  # hashed rows keep the file small
    m = M.TinyCLIP(remap, 1024)
    m.visual = M.VisionTower(width=48, layers=2, heads=2, embed=32, stem="patch")
    m.text = M.TextTower(remap, 1024, width=32, layers=2, heads=2, embed=32)
    m.eval()
    return m


def export(m, out):
    export_onnx(m.visual, m.text, out)


def make_images():
    os.makedirs(IMAGES, exist_ok=True)
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:300, 0:400]
    base = np.stack([(xx * 255 / 400), (yy * 255 / 300), ((xx + yy) % 64) * 4], -1).astype(np.uint8)
    base[100:200, 150:250] = rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)
    img = Image.fromarray(base)
    files = {}
    img.save(os.path.join(IMAGES, "landscape.png")); files["landscape.png"] = img
    img.rotate(90, expand=True).save(os.path.join(IMAGES, "portrait.jpg"), quality=95)
    files["portrait.jpg"] = None
    img.convert("L").save(os.path.join(IMAGES, "gray.png"))
    rgba = img.convert("RGBA")
    a = np.array(rgba)
    a[..., 3] = (xx % 256).astype(np.uint8)
    Image.fromarray(a).save(os.path.join(IMAGES, "alpha.png"))
    img.convert("P", palette=Image.ADAPTIVE, colors=32).save(os.path.join(IMAGES, "palette.gif"))
    img.resize((7, 5)).save(os.path.join(IMAGES, "tiny.png"))
    img.save(os.path.join(IMAGES, "photo.bmp"))
    img.save(os.path.join(IMAGES, "photo.tiff"))
    img.save(os.path.join(IMAGES, "photo.webp"), lossless=True)
    ex = Image.Exif()
    ex[0x0112] = 6  # stored rotated: viewers turn it 90° clockwise
    img.save(os.path.join(IMAGES, "exif-rotated.jpg"), quality=95, exif=ex.tobytes())
    a16 = (base.astype(np.uint16) * 257 + rng.integers(0, 200, base.shape)).astype(">u2")
    # 16-bit RGB PNG written by hand: Pillow cannot write 16-bit RGB.
    write_png16(os.path.join(IMAGES, "deep16.png"), a16)
    return sorted(os.listdir(IMAGES))


def write_png16(path, arr):
    import struct
    import zlib
    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def preprocess(path):
    im = ImageOps.exif_transpose(Image.open(path))
    im = im.convert("RGB")
    w, h = im.size
    s = 224
    if w <= h:
        nw, nh = s, int(s * h / w)
    else:
        nw, nh = int(s * w / h), s
    im = im.resize((nw, nh), Image.BICUBIC)
    left, top = (nw - 224) // 2, (nh - 224) // 2
    arr = np.zeros((224, 224, 3), np.float32)
    crop = np.asarray(im, np.float32)[max(0, top):top + 224, max(0, left):left + 224] / 255.0
    # transformers pads a crop larger than the image with zeros (centred)
    oy, ox = max(0, -top), max(0, -left)
    arr[oy:oy + crop.shape[0], ox:ox + crop.shape[1]] = crop
    return ((arr - MEAN) / STD).transpose(2, 0, 1)


TEXTS = ["a photo of a dog", "a photo of a cat", "any of various long-tailed rodents similar to but larger than a mouse",
         "", "A café in Zürich!", "emoji 🐶 and CJK 猫", "dog " * 100]


def main():
    m = tiny_model()
    export(m, OUT)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump({"model_type": "clip", "projection_dim": 32,
                   "convis_description": "random tiny CLIP for tests (scripts/make_fixture_model.py)"}, f, indent=1)
    with open(os.path.join(OUT, "preprocessor_config.json"), "w") as f:
        json.dump(PRE, f, indent=1)
    names = make_images()
    tok = SimpleTokenizer(os.path.join(ROOT, "internal/clip/bpe/bpe_simple_vocab_16e6.txt.gz"))
    ref = {"images": {}, "texts": []}
    with torch.no_grad():
        for n in names:
            x = torch.from_numpy(preprocess(os.path.join(IMAGES, n)))[None]
            ref["images"][n] = {"embedding": m.visual(x)[0].tolist(), "pixel_sum": float(x.sum()), "pixel_first": x[0, :, :2, :2].flatten().tolist()}
        for t in TEXTS:
            ids = torch.tensor([tok.tokenize(t)])
            ref["texts"].append({"text": t, "ids": ids[0].tolist(), "embedding": m.text(ids, torch.ones_like(ids))[0].tolist()})
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f)
    print("fixture:", sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fs in os.walk(OUT) for fn in fs), "bytes")


if __name__ == "__main__":
    main()
