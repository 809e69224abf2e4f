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
           to minmax): y8 = round(255 * (x - min) / (max - min)) over the frame.
  RGB:     8 bit as is; 16 bit round(255 * v / (2^BitsStored - 1))
  YBR_FULL (native, RLE): convert_color_space(YBR_FULL -> RGB)
  JPEG:    pydicom's Pillow handler, converted to RGB as it documents
  PALETTE: apply_color_lut; 16-bit entries round(255 * v / 65535)

Pass: max |convis - pydicom| <= 1 grey level on every pixel of every frame;
lossy JPEG frames <= 2 (the decoders' IDCTs differ, see TOLERANCE_LOSSY_JPEG).
Run from the repository root:

  python3 scripts/dicom-parity.py > docs/dicom-parity.txt
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import (apply_color_lut, apply_modality_lut,
                                              apply_voi_lut, convert_color_space)

TOLERANCE = 1
# Lossy JPEG frames: image/jpeg's IDCT and libjpeg's (under Pillow) round
# differently, by 1 on some luma and chroma samples (ISO/IEC 10918-2 lets
# decoders differ so), which YCbCr -> RGB can add up to 2. Measured and
# stated apart, not hidden in the lossless tolerance.
TOLERANCE_LOSSY_JPEG = 2
LOSSY_JPEG = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")

# pydicom 2.3 does not swap the bytes of 8-bit pixel data in an OW value of
# an Explicit VR Big Endian file (PS3.5 7.3: OW is a stream of 16-bit words);
# dcmtk and gdcm do. Such a file is compared with its little endian twin,
# which pydicom reads right.
TWINS = {"SC_rgb_small_odd_big_endian.dcm": "SC_rgb_small_odd.dcm"}


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
            y8 = 255 * (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
        y8 = np.clip(np.round(y8), 0, 255)
        if photo == "MONOCHROME1":
            y8 = 255 - y8
        return np.repeat(y8[..., None], 3, axis=2)
    if photo == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds).astype(np.float64)
        bits = ds.RedPaletteColorLookupTableDescriptor[2]
        return np.round(rgb * 255 / 65535) if bits > 8 else rgb
    if ts.is_compressed and ts != pydicom.uid.RLELossless:
        # Pillow decodes JPEG to YCbCr for YBR_* (pydicom 2.3 leaves it so).
        if photo.startswith("YBR"):
            arr = convert_color_space(arr, "YBR_FULL", "RGB")
        return arr.astype(np.float64)
    if photo == "YBR_FULL":
        arr = convert_color_space(arr, "YBR_FULL", "RGB")
    if ds.BitsAllocated > 8:
        return np.round(arr.astype(np.float64) * 255 / (2 ** ds.BitsStored - 1))
    return arr.astype(np.float64)


def main():
    files = sys.argv[1:] or sorted(p for p in glob.glob("testdata/dicom/**/*", recursive=True)
                                   if os.path.isfile(p) and not p.endswith((".txt", ".md")) and "LICENSE" not in p)
    worst, worst_lossy, failed, compared = 0, 0, 0, 0
    print("# convis DICOM decoding against pydicom", pydicom.__version__, "(numpy", np.__version__ + ")")
    print("# regenerate: make dicom-parity; tolerance", TOLERANCE, "grey level,", TOLERANCE_LOSSY_JPEG, "on lossy JPEG frames (the IDCT)")
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
            for js in sorted(glob.glob(os.path.join(out, "*.json"))):
                info = json.load(open(js))
                frame = info["frame"]
                got = read_ppm(js[:-5] + ".ppm").astype(np.float64)
                try:
                    want = reference(ds, frame)
                except Exception as e:  # pydicom cannot decode it (no handler)
                    print(f"{name}\t{frame}\t-\t{info['photometric_interpretation']}\t{info['transfer_syntax_name']}\t-\t-\tpydicom cannot decode: {e}")
                    continue
                note = f" (pydicom read on its little endian twin {twin})" if twin else ""
                diff = int(np.abs(got - want).max())
                w = info.get("window")
                wtxt = f"{w['source']} {w['function']} c={w['center']:g} w={w['width']:g}" if w else "-"
                lossy = info["transfer_syntax"] in LOSSY_JPEG
                ok = diff <= (TOLERANCE_LOSSY_JPEG if lossy else TOLERANCE)
                if lossy:
                    worst_lossy = max(worst_lossy, diff)
                    if diff > TOLERANCE:
                        note += " (lossy JPEG: over 1 by the IDCT, within its tolerance of 2)"
                else:
                    worst = max(worst, diff)
                compared += 1
                failed += 0 if ok else 1
                print(f"{name}\t{frame}\t{info['columns']}x{info['rows']}\t{info['photometric_interpretation']}\t"
                      f"{info['transfer_syntax_name']}\t{wtxt}\t{diff}\t{'ok' if ok else 'FAIL'}{note}")
    print(f"# {compared} frames compared, {failed} over the tolerance; max |diff| {worst} on native, deflated and RLE frames, {worst_lossy} on lossy JPEG frames")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
