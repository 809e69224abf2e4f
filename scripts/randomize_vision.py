#!/usr/bin/env python3
"""The cascading model-randomisation test's models (Adebayo et al., 2018):
a copy of a model folder whose vision tower has the weights of its last k
transformer blocks re-initialised, seeded. `convis eval sanity` runs it for
k = 1 … all blocks (or finds its copies); `make sanity` runs it first with
--pt so that pytorch-grad-cam explains the same randomised network.

    python3 scripts/randomize_vision.py --model models/convis-tiny/model --blocks 2 --seed 0 \\
        --out build/sanity/k2 [--pt models/convis-tiny/convis-tiny.pt]

Writes OUT/model (config.json, preprocessor_config.json, onnx/text_model.onnx
copied; onnx/vision_model.onnx with the initialisers rewritten) and, with
--pt, OUT/model.pt (the PyTorch state with the same numbers), and
OUT/randomization.json (what was re-initialised, seed, source hashes).

Re-initialisation is PyTorch's default for a fresh layer: Linear weights and
biases uniform in ±1/sqrt(fan_in), LayerNorm weight 1 and bias 0. Each block
draws from its own generator, seeded by (seed, block), so block 3 gets the
same numbers whatever k: the copies cascade.

The ONNX initialisers of a block are found by name: PyTorch's exporter keeps
"blocks.N.<layer>.bias" and the LayerNorm parameters under their names, and
stores each Linear weight transposed as the second input of the MatMul node
"/blocks.N/<layer>/MatMul". Before rewriting, every mapped initialiser is
checked against the PyTorch state (with --pt) or for its shape, so a model
exported another way is an error, not a silently half-randomised copy.
Needs Debian's python3-onnx and python3-numpy (python3-torch for --pt).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import sys

import numpy as np

try:
    import onnx
    from onnx import numpy_helper
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("randomize_vision.py needs python3-onnx (apt-get install python3-onnx)")

LINEAR = ("qkv", "proj", "fc1", "fc2")
NORM = ("ln1", "ln2")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def block_params(graph):
    """Maps (block, parameter) to (initialiser name, transposed) and counts the blocks."""
    inits = {t.name for t in graph.initializer}
    out = {}
    for name in inits:
        m = re.fullmatch(r"blocks\.(\d+)\.(\w+)\.(weight|bias)", name)
        if m:
            out[(int(m.group(1)), "%s.%s" % (m.group(2), m.group(3)))] = (name, False)
    for node in graph.node:
        m = re.fullmatch(r"/blocks\.(\d+)/(\w+)/MatMul", node.name)
        if m and node.op_type == "MatMul":
            w = [i for i in node.input if i in inits]
            if len(w) != 1:
                sys.exit("randomize_vision.py: %s has %d initialiser inputs, want 1" % (node.name, len(w)))
            out[(int(m.group(1)), m.group(2) + ".weight")] = (w[0], True)
    blocks = 1 + max((b for b, _ in out), default=-1)
    for b in range(blocks):
        for layer in LINEAR:
            for p in ("weight", "bias"):
                if (b, "%s.%s" % (layer, p)) not in out:
                    sys.exit("randomize_vision.py: no initialiser for blocks.%d.%s.%s: not a convis-tiny-style export" % (b, layer, p))
    return out, blocks


def fresh(shape_torch, param, rng, fan_in):
    """PyTorch's default initialisation of a fresh layer's parameter."""
    if param.startswith("ln"):
        return np.ones(shape_torch, np.float32) if param.endswith("weight") else np.zeros(shape_torch, np.float32)
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape_torch).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model folder (Hugging Face ONNX layout)")
    ap.add_argument("--blocks", type=int, required=True, help="re-initialise the last K blocks (0: none, a plain copy)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pt", help="the model's PyTorch state (convis-tiny.pt): also write OUT/model.pt")
    args = ap.parse_args()
    vision = os.path.join(args.model, "onnx", "vision_model.onnx")
    m = onnx.load(vision)
    params, blocks = block_params(m.graph)
    if not 0 <= args.blocks <= blocks:
        sys.exit("randomize_vision.py: --blocks %d: the vision tower has %d blocks" % (args.blocks, blocks))
    tensors = {t.name: t for t in m.graph.initializer}
    state = None
    if args.pt:
        import torch
        state = torch.load(args.pt)
    prefix = "visual." if state is not None and any(k.startswith("visual.") for k in state) else ""
    # Check the mapping against the PyTorch state (or at least the shapes).
    for (b, p), (name, transposed) in params.items():
        a = numpy_helper.to_array(tensors[name])
        a = a.T if transposed else a
        if state is not None:
            ref = state[prefix + "blocks.%d.%s" % (b, p)].numpy()
            if ref.shape != a.shape or not np.allclose(ref, a, atol=1e-6):
                sys.exit("randomize_vision.py: initialiser %s does not hold blocks.%d.%s of %s" % (name, b, p, args.pt))
    changed = []
    for b in range(blocks - args.blocks, blocks):
        rng = np.random.default_rng([args.seed, b])
        for layer in LINEAR + NORM:
            for p in ("weight", "bias"):
                key = (b, "%s.%s" % (layer, p))
                if key not in params:
                    continue
                name, transposed = params[key]
                a = numpy_helper.to_array(tensors[name])
                shape = a.T.shape if transposed else a.shape
                fan_in = params_fan_in(tensors, params, b, layer)
                new = fresh(shape, "%s.%s" % (layer, p), rng, fan_in)
                tensors[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(new.T if transposed else new), name))
                if state is not None:
                    import torch
                    state[prefix + "blocks.%d.%s" % (b, key[1])] = torch.from_numpy(new.copy())
                changed.append("blocks.%d.%s" % key)
    out = os.path.join(args.out, "model")
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    for f in ("config.json", "preprocessor_config.json", "tokenizer.json"):
        if os.path.exists(os.path.join(args.model, f)):
            shutil.copyfile(os.path.join(args.model, f), os.path.join(out, f))
    shutil.copyfile(os.path.join(args.model, "onnx", "text_model.onnx"), os.path.join(out, "onnx", "text_model.onnx"))
    tmp = os.path.join(out, "onnx", "vision_model.onnx.tmp")
    onnx.save(m, tmp)
    os.replace(tmp, os.path.join(out, "onnx", "vision_model.onnx"))
    if state is not None:
        import torch
        torch.save(state, os.path.join(args.out, "model.pt.tmp"))
        os.replace(os.path.join(args.out, "model.pt.tmp"), os.path.join(args.out, "model.pt"))
    note = {"tool": "scripts/randomize_vision.py", "blocks": args.blocks, "of_blocks": blocks, "seed": args.seed,
            "init": "PyTorch default: Linear U(±1/sqrt(fan_in)), LayerNorm 1/0; generator per block seeded (seed, block)",
            "reinitialized": changed, "source_vision_sha256": sha256(vision), "pt": bool(args.pt)}
    with open(os.path.join(args.out, "randomization.json"), "w") as f:
        json.dump(note, f, indent=1)
    print("%s: last %d of %d blocks re-initialised (seed %d), %d tensors" % (args.out, args.blocks, blocks, args.seed, len(changed)))


def params_fan_in(tensors, params, b, layer):
    """A Linear layer's input width (the weight's columns in PyTorch's layout)."""
    if layer in NORM:
        return 1
    name, transposed = params[(b, layer + ".weight")]
    dims = list(tensors[name].dims)
    return dims[0] if transposed else dims[1]


if __name__ == "__main__":
    main()
