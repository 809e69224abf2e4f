#!/usr/bin/python3
"""Write the generated DICOM test files of testdata/dicom/ (Debian python3-pydicom).

Each starts from a pydicom test file copied unchanged into testdata/dicom/
and changes only what its test needs:

  generated/CT_small_mono1.dcm     CT_small as MONOCHROME1 (the test: inverted)
  generated/MR_small_2windows.dcm  MR_small with two windows (600/1600, 300/400)
  generated/MR_small_deflate.dcm   MR_small in Deflated Explicit VR Little Endian
  generated/MR_small_sigmoid.dcm   MR_small with VOI LUT Function SIGMOID
  generated/SC_rgb_jpeg_422.dcm    SC_rgb_small's bigger sibling ExplVR_BigEnd's
                                   RGB picture as JPEG baseline with 4:2:2
                                   chroma (Pillow, quality 90), YBR_FULL_422
  generated/SC_rgb_jpeg_420_restart.dcm  the same picture by cjpeg (Debian
                                   libjpeg-turbo-progs): 4:2:0, restart every 3 MCUs
  generated/CT_small_jpeg_lossless_sv7.dcm     lossless JPEG, predictor 7
  generated/MR_small_jpeg_lossless_sv4_pt2.dcm lossless JPEG, predictor 4,
                                   point transform 2 (dcmtk's dcmcjpeg)
  generated/MR_small_jpeg_lossless_sv{2,3,5,6}.dcm the other predictors
  privacy/*.dcm                    patient and study fields set to the known
                                   strings of PRIVATE below (the privacy test)

Run from the repository root: python3 scripts/make_dicom_testdata.py
"""
import io
import os
import subprocess
import tempfile
import pydicom
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import DeflatedExplicitVRLittleEndian, JPEGBaseline8Bit

SRC = "testdata/dicom"
PRIVATE = {
    "PatientName": "CONVISSECRET^PATIENTNAME",
    "PatientID": "PID-SECRET-7731",
    "PatientBirthDate": "19010203",
    "OtherPatientIDs": "OPID-SECRET-2245",
    "AccessionNumber": "ACC-SECRET-99",
    "InstitutionName": "SECRET GENERAL HOSPITAL",
    "InstitutionAddress": "1 SECRET STREET",
    "ReferringPhysicianName": "SECRETDOCTOR^REFERRING",
    "StudyID": "STUDY-SECRET-5",
    "StudyDate": "19020304",
    "StudyDescription": "SECRET STUDY DESCRIPTION",
    "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.55501",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.8.498.55502",
}


def load(name):
    return pydicom.dcmread(os.path.join(SRC, name))


def save(ds, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=False)


def as_jpeg_baseline(ds, jpg):
    """Make ds hold the colour JPEG baseline stream jpg as its one frame."""
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.PixelData = encapsulate([jpg])
    ds["PixelData"].is_undefined_length = True
    ds["PixelData"].VR = "OB"
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PlanarConfiguration = 0
    ds.LossyImageCompression = "01"


def main():
    ds = load("CT_small.dcm")
    ds.PhotometricInterpretation = "MONOCHROME1"
    save(ds, f"{SRC}/generated/CT_small_mono1.dcm")

    ds = load("MR_small.dcm")
    ds.WindowCenter = [600, 300]
    ds.WindowWidth = [1600, 400]
    save(ds, f"{SRC}/generated/MR_small_2windows.dcm")

    ds = load("MR_small.dcm")
    ds.VOILUTFunction = "SIGMOID"
    save(ds, f"{SRC}/generated/MR_small_sigmoid.dcm")

    ds = load("MR_small.dcm")
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    save(ds, f"{SRC}/generated/MR_small_deflate.dcm")

    ds = load("ExplVR_BigEnd.dcm")
    buf = io.BytesIO()
    Image.fromarray(ds.pixel_array).save(buf, "JPEG", quality=90, subsampling=1)  # 1: 4:2:2
    as_jpeg_baseline(ds, buf.getvalue())
    save(ds, f"{SRC}/generated/SC_rgb_jpeg_422.dcm")

    # The same picture through libjpeg-turbo's cjpeg (Debian libjpeg-turbo-progs):
    # 4:2:0 chroma and a restart marker every 3 MCUs, mid-row (DRI, RSTn).
    ds = load("ExplVR_BigEnd.dcm")
    with tempfile.TemporaryDirectory() as tmp:
        Image.fromarray(ds.pixel_array).save(f"{tmp}/in.ppm")
        jpg = subprocess.run(["cjpeg", "-quality", "85", "-sample", "2x2", "-restart", "3B", f"{tmp}/in.ppm"],
                             check=True, capture_output=True).stdout
    as_jpeg_baseline(ds, jpg)
    save(ds, f"{SRC}/generated/SC_rgb_jpeg_420_restart.dcm")

    # Lossless JPEG (process 14) by dcmtk's dcmcjpeg (Debian dcmtk): signed
    # 16-bit CT with predictor 7, MR with predictor 4 and point transform 2.
    # MR with predictors 2, 3, 5 and 6 (so every predictor has a file).
    for src, out, args in [("CT_small.dcm", "CT_small_jpeg_lossless_sv7.dcm", ["+sv", "7"]),
                           ("MR_small.dcm", "MR_small_jpeg_lossless_sv4_pt2.dcm", ["+sv", "4", "+pt", "2"])] + \
            [("MR_small.dcm", f"MR_small_jpeg_lossless_sv{sv}.dcm", ["+sv", str(sv)]) for sv in (2, 3, 5, 6)]:
        subprocess.run(["dcmcjpeg", "+el", *args, f"{SRC}/{src}", f"{SRC}/generated/{out}"], check=True)

    for i, (name, out) in enumerate([("CT_small.dcm", "ct.dcm"), ("MR_small.dcm", "sub/mr.dcm"),
                                     ("SC_rgb_rle_2frame.dcm", "sub/rgb-2frame.dcm"), ("MR_small.dcm", "no-extension")]):
        ds = load(name)
        for k, v in PRIVATE.items():
            setattr(ds, k, v)
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.7773{i}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        save(ds, f"{SRC}/privacy/{out}")
    with open(f"{SRC}/privacy/STRINGS.txt", "w") as f:
        f.write("# The identifying values set in every file of this folder; the privacy test\n"
                "# looks for each in every output (the SOP Instance UIDs 1.2.826.0.1.3680043.8.498.7773N too).\n")
        for k, v in PRIVATE.items():
            f.write(f"{k}\t{v}\n")


if __name__ == "__main__":
    main()
