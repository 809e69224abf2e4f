#!/usr/bin/env python3
"""Writes the image sets of convis's out-of-distribution experiment (the
ConVis paper's, in the built-in model's world): for each pair of concepts,
single-object scenes whose object is in the first concept's subtree (in)
and in the second's (ood), made by the benchmark's scene generator from
seeds 9,600,000 and up, which training never uses.

    NLTK_DATA=/tmp/convis-nltk_data python3 scripts/make_ood_scenes.py build/ood [N]

writes OUT/PAIR/in/*.png and OUT/PAIR/ood/*.png (N per side, default 40)
and OUT/pairs.json. Deterministic: the same seeds give the same images.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models", "convis-tiny", "train"))
import scenes  # noqa: E402
from nltk.corpus import wordnet as wn  # noqa: E402

# (name, in-distribution concept, out-of-distribution concept), in the
# spirit of the paper's pairs (edible fruit/musical instrument,
# garment/furniture, bird/hunting dog…), with what the built-in model knows.
PAIRS = [
    ("fruit-instrument", "edible_fruit.n.01", "musical_instrument.n.01"),
    ("garment-furniture", "garment.n.01", "furniture.n.01"),
    ("bird-mammal", "bird.n.01", "mammal.n.01"),
    ("building-vehicle", "building.n.01", "vehicle.n.01"),
]


def members(concept):
    """The built-in model's objects whose synset is in the concept's subtree."""
    root = wn.synset(concept)
    out = []
    for o in scenes.OBJECTS:
        s = wn.synset(o["synset"])
        if s == root or root in s.closure(lambda x: x.hypernyms() + x.instance_hypernyms()):
            out.append(o["synset"])
    return sorted(set(out))


def main(out, n):
    everything = {o["synset"] for o in scenes.OBJECTS}
    index = []
    for p, (name, cin, cood) in enumerate(PAIRS):
        sides = {"in": members(cin), "ood": members(cood)}
        sides["in"] = [s for s in sides["in"] if s not in sides["ood"]]
        for k, (side, allowed) in enumerate(sides.items()):
            if len(allowed) < 2:
                raise SystemExit("%s: only %d objects for %s" % (name, len(allowed), side))
            d = os.path.join(out, name, side)
            os.makedirs(d, exist_ok=True)
            seed, made = 9_600_000 + 10_000 * p + 5_000 * k, 0
            while made < n:
                img, objs, _ = scenes.make_scene(seed, n_objects=1, exclude=everything - set(allowed))
                seed += 1
                if len(objs) != 1:
                    continue
                img.save(os.path.join(d, "%04d.png" % made), optimize=True)
                made += 1
        index.append({"pair": name, "in": cin, "ood": cood, "in_objects": sides["in"], "ood_objects": sides["ood"], "per_side": n})
    with open(os.path.join(out, "pairs.json"), "w") as f:
        json.dump(index, f, indent=1)
    print("wrote", len(PAIRS), "pairs of", n, "images per side to", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/ood", int(sys.argv[2]) if len(sys.argv) > 2 else 40)
