#!/usr/bin/python3
"""Pixel parity of convis's DICOM decoding with pydicom (Debian python3-pydicom).

For every DICOM file under testdata/dicom/ that convis decodes, and each of
its frames, compare convis's display pixels (scripts/dicomdump, the code
every command's decoder runs) with pydicom's after the same steps:

  grey:    pixel_array -> apply_modality_lut -> apply_voi_lut (the first
           window or VOI LUT) -> 8 bit -> MONOCHROME1 inverted (255 - y)
           8-bit mapping of a window: y8 = round(255 * (y - y_min) / (y_max - y_min)),
           y_min/y_max the output range pydicom's apply_windowing uses;
           of a VOI LUT: y8 = round(255 * y / (2^bits - 1));
           a file with no window (convis's default --voi stored falls back
           to minmax): LINEAR_EXACT over the frame's range,
           y8 = round(((x - c) / w + 0.5) * 255), c = (min + max) / 2, w = max - min.
  RGB:     8 bit as is; 16 bit round(255 * v / (2^BitsStored - 1))
  YBR_FULL (native, RLE): convert_color_space(YBR_FULL -> RGB)
  JPEG:    pydicom's Pillow handler, converted to RGB as it documents;
           a JPEG Pillow cannot decode (12-bit extended, lossless process
           14) is decompressed by dcmtk's dcmdjpeg (the IJG library, its
           default islow IDCT) and the native file read by pydicom
  PALETTE: apply_color_lut; 16-bit entries round(255 * v / 65535)
  round:   half up, floor(v + 0.5), as convis's math.Round on these
           non-negative values (numpy's np.round rounds half to even)

Pass: max |convis - pydicom| <= 1 grey level on every pixel of every frame,
lossy JPEG frames included (convis's JPEG decoder computes libjpeg's IDCT).
Run from the repository root:

  python3 scripts/dicom-parity.py > docs/dicom-parity.txt
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import (apply_color_lut, apply_modality_lut,
                                              apply_voi_lut, convert_color_space)

TOLERANCE = 1
LOSSY_JPEG = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")

# pydicom 2.3 does not swap the bytes of 8-bit pixel data in an OW value of
# an Explicit VR Big Endian file (PS3.5 7.3: OW is a stream of 16-bit words);
# dcmtk and gdcm do. Such a file is compared with its little endian twin,
# which pydicom reads right.
TWINS = {"SC_rgb_small_odd_big_endian.dcm": "SC_rgb_small_odd.dcm"}


def round_half_up(v):
    return np.floor(v + 0.5)


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(b"\n", 3)
    w, h = map(int, parts[1].split())
    return np.frombuffer(parts[3], dtype=np.uint8).reshape(h, w, 3)


def window_range(ds):
    """The y_min, y_max pydicom's apply_windowing maps a window onto."""
    if ds.PixelRepresentation == 0:
        y_min, y_max = 0, 2 ** ds.BitsStored - 1
    else:
        y_min, y_max = -(2 ** (ds.BitsStored - 1)), 2 ** (ds.BitsStored - 1) - 1
    if "ModalityLUTSequence" in ds:
        y_min, y_max = 0, 2 ** ds.ModalityLUTSequence[0].LUTDescriptor[2] - 1
    elif "RescaleSlope" in ds and "RescaleIntercept" in ds:
        y_min = y_min * ds.RescaleSlope + ds.RescaleIntercept
        y_max = y_max * ds.RescaleSlope + ds.RescaleIntercept
    return y_min, y_max


def reference(ds, frame):
    arr = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        arr = arr[frame]
    photo = ds.PhotometricInterpretation
    ts = ds.file_meta.TransferSyntaxUID
    if photo in ("MONOCHROME1", "MONOCHROME2"):
        x = apply_modality_lut(arr, ds).astype(np.float64)
        if "VOILUTSequence" in ds:
            y = apply_voi_lut(x, ds, index=0).astype(np.float64)
            y8 = 255 * y / (2 ** ds.VOILUTSequence[0].LUTDescriptor[2] - 1)
        elif "WindowCenter" in ds and "WindowWidth" in ds:
            y = apply_voi_lut(x, ds, index=0).astype(np.float64)
            y_min, y_max = window_range(ds)
            y8 = 255 * (y - y_min) / (y_max - y_min)
        else:
            lo, hi = x.min(), x.max()
            # PS3.3 C.11.2.1.3.2 LINEAR_EXACT with c = (min + max) / 2,
            # w = max - min, in the standard's (and convis's) order of
            # operations: 255 * (x - min) / (max - min) rounds ties apart.
            c, w = (lo + hi) / 2, hi - lo
            y8 = ((x - c) / w + 0.5) * 255 if hi > lo else np.zeros_like(x)
        y8 = np.clip(round_half_up(y8), 0, 255)
        if photo == "MONOCHROME1":
            y8 = 255 - y8
        return np.repeat(y8[..., None], 3, axis=2)
    if photo == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds).astype(np.float64)
        bits = ds.RedPaletteColorLookupTableDescriptor[2]
        return round_half_up(rgb * 255 / 65535) if bits > 8 else rgb
    if ts.is_compressed and ts != pydicom.uid.RLELossless:
        # Pillow decodes JPEG to YCbCr for YBR_* (pydicom 2.3 leaves it so).
        if photo.startswith("YBR"):
            arr = convert_color_space(arr, "YBR_FULL", "RGB")
        return arr.astype(np.float64)
    if photo == "YBR_FULL":
        arr = convert_color_space(arr, "YBR_FULL", "RGB")
    if ds.BitsAllocated > 8:
        return round_half_up(arr.astype(np.float64) * 255 / (2 ** ds.BitsStored - 1))
    return arr.astype(np.float64)


def main():
    files = sys.argv[1:] or sorted(p for p in glob.glob("testdata/dicom/**/*", recursive=True)
                                   if os.path.isfile(p) and not p.endswith((".txt", ".md", ".png")) and "LICENSE" not in p)
    worst, worst_lossy, failed, compared = 0, 0, 0, 0
    print("# convis DICOM decoding against pydicom", pydicom.__version__, "(numpy", np.__version__ + ")")
    print("# regenerate: make dicom-parity; tolerance", TOLERANCE, "grey level on every frame")
    print("# file\tframe\tsize\tphotometric\ttransfer syntax\twindow (convis)\tmax |diff|\tresult")
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "dicomdump")
        subprocess.run(["go", "build", "-o", dump, "./scripts/dicomdump"], check=True)
        for path in files:
            name = os.path.relpath(path, "testdata/dicom")
            out = os.path.join(tmp, name.replace("/", "__"))
            os.makedirs(out)
            run = subprocess.run([dump, "-o", out, path], capture_output=True, text=True)
            if run.returncode != 0:
                msg = run.stderr.strip().splitlines()[-1].split(": ", 1)[-1]
                print(f"{name}\t-\t-\t-\t-\t-\t-\tnot decoded by convis: {msg}")
                continue
            twin = TWINS.get(name)
            ds = pydicom.dcmread(os.path.join("testdata/dicom", twin) if twin else path)
            note = f" (pydicom read on its little endian twin {twin})" if twin else ""
            try:
                ds.pixel_array
            except Exception:  # Pillow has no 12-bit or lossless JPEG
                if ds.file_meta.TransferSyntaxUID.startswith("1.2.840.10008.1.2.4.") and shutil.which("dcmdjpeg"):
                    raw = out + ".raw.dcm"
                    subprocess.run(["dcmdjpeg", path, raw], check=True, capture_output=True)
                    ds = pydicom.dcmread(raw)
                    note = " (pydicom read dcmtk's dcmdjpeg output: Pillow decodes no 12-bit or lossless JPEG)"
            for js in sorted(glob.glob(os.path.join(out, "*.json"))):
                info = json.load(open(js))
                frame = info["frame"]
                got = read_ppm(js[:-5] + ".ppm").astype(np.float64)
                try:
                    want = reference(ds, frame)
                except Exception as e:  # no reference: not a pass
                    print(f"{name}\t{frame}\t-\t{info['photometric_interpretation']}\t{info['transfer_syntax_name']}\t-\t-\tFAIL (no reference: pydicom cannot decode: {e})")
                    failed += 1
                    continue
                diff = int(np.abs(got - want).max())
                w = info.get("window")
                wtxt = f"{w['source']} {w['function']} c={w['center']:g} w={w['width']:g}" if w else "-"
                lossy = info["transfer_syntax"] in LOSSY_JPEG
                ok = diff <= TOLERANCE
                if lossy:
                    worst_lossy = max(worst_lossy, diff)
                else:
                    worst = max(worst, diff)
                compared += 1
                failed += 0 if ok else 1
                print(f"{name}\t{frame}\t{info['columns']}x{info['rows']}\t{info['photometric_interpretation']}\t"
                      f"{info['transfer_syntax_name']}\t{wtxt}\t{diff}\t{'ok' if ok else 'FAIL'}{note}")
    print(f"# {compared} frames compared, {failed} over the tolerance; max |diff| {worst} on native, deflated, RLE and lossless JPEG frames, {worst_lossy} on lossy JPEG frames")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
