#!/usr/bin/python3
"""Write the reference pixels internal/dicom's JPEG decoder tests compare with
(Debian python3-pydicom, python3-pil, dcmtk), into testdata/dicom/reference/:

  NAME.stored.png  the frame's stored values as the field's tools decode them,
                   16-bit grey (one component): pydicom's pixel_array of
                   dcmtk's `dcmdjpeg` output (the IJG library, islow IDCT),
                   as Pillow decodes no 12-bit or lossless JPEG
  NAME.rgb.png     8-bit RGB: pydicom's pixel_array (Pillow, i.e. libjpeg)
                   converted with convert_color_space(YBR_FULL -> RGB), as
                   scripts/dicom-parity.py does; for a lossless RGB JPEG,
                   pydicom's pixel_array of dcmdjpeg's output

Run from the repository root: python3 scripts/make_dicom_jpeg_reference.py
"""
import os
import subprocess
import tempfile

import numpy as np
import pydicom
from PIL import Image
from pydicom.pixel_data_handlers.util import convert_color_space

SRC = "testdata/dicom"
OUT = f"{SRC}/reference"
STORED = ["JPGExtended.dcm", "generated/CT_small_jpeg_lossless_sv7.dcm", "generated/MR_small_jpeg_lossless_sv4_pt2.dcm"] + \
    [f"generated/MR_small_jpeg_lossless_sv{sv}.dcm" for sv in (2, 3, 5, 6)]
RGB = ["SC_rgb_jpeg_dcmtk.dcm", "generated/SC_rgb_jpeg_420_restart.dcm"]
RGB_LOSSLESS = ["SC_rgb_jpeg_gdcm.dcm"]  # RGB as coded, via dcmdjpeg


def stem(name):
    return os.path.basename(name)[:-4]


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in STORED:
            raw = os.path.join(tmp, "raw.dcm")
            subprocess.run(["dcmdjpeg", f"{SRC}/{name}", raw], check=True)
            arr = pydicom.dcmread(raw).pixel_array
            # Signed values as their two's complement bit patterns.
            Image.fromarray(arr.astype(np.uint16)).save(f"{OUT}/{stem(name)}.stored.png")
        for name in RGB_LOSSLESS:
            raw = os.path.join(tmp, "raw.dcm")
            subprocess.run(["dcmdjpeg", f"{SRC}/{name}", raw], check=True)
            arr = pydicom.dcmread(raw).pixel_array
            Image.fromarray(arr.astype(np.uint8), "RGB").save(f"{OUT}/{stem(name)}.rgb.png")
    for name in RGB:
        ds = pydicom.dcmread(f"{SRC}/{name}")
        arr = convert_color_space(ds.pixel_array, "YBR_FULL", "RGB")
        Image.fromarray(arr.astype(np.uint8), "RGB").save(f"{OUT}/{stem(name)}.rgb.png")


if __name__ == "__main__":
    main()
