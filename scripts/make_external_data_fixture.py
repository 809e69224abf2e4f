#!/usr/bin/env python3
"""Makes testdata/fixture-external: the fixture model (testdata/fixture-model)
with its weights stored as ONNX external data, as large exports store them:
the vision model's in onnx/vision_model.onnx_data (the name torch.onnx and
transformers.js exports use), the text model's in onnx/text_weights.bin (any
name an initializer's "location" gives). The numbers are the fixture's, so
its reference embeddings hold. Deterministic.

    /usr/bin/python3 scripts/make_external_data_fixture.py
"""
import os
import shutil

import onnx

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SRC = os.path.join(ROOT, "testdata/fixture-model")
OUT = os.path.join(ROOT, "testdata/fixture-external")

shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(os.path.join(OUT, "onnx"))
for f in ("config.json", "preprocessor_config.json"):
    shutil.copy(os.path.join(SRC, f), os.path.join(OUT, f))
for name, location in (("vision_model", "vision_model.onnx_data"), ("text_model", "text_weights.bin")):
    m = onnx.load(os.path.join(SRC, "onnx", name + ".onnx"))
    onnx.save_model(m, os.path.join(OUT, "onnx", name + ".onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=location, size_threshold=1024)
    print(name, "->", location)
