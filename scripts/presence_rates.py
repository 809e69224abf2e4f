#!/usr/bin/env python3
"""False-absent and false-present rates of explain's presence rule (and of
other thresholds) on benchmark scenes, from explain's JSON lines:

    C=$(cut -f5 models/convis-tiny/data/objects.tsv | tail -n +2 | sort -u | paste -sd,)
    bin/convis explain SCENES -c "$C" --format json -o OUT --jsonl > records.jsonl
    python3 scripts/presence_rates.py records.jsonl testdata/scenes/manifest.json [PREFIXES]

A concept is present in a scene when it is one of the scene's objects.
PREFIXES maps the run's file names to the manifest's (default: sNNNN.png is
single/NNNN.png and mNNNN.png multi/NNNN.png, as docs/ood.md's run names them).
"""
import json
import sys


def main(records, manifest):
    man = json.load(open(manifest))
    present = {}
    for im in man["images"]:
        kind, name = im["file"].split("/")
        present[kind[0] + name] = {o["concept"] for o in im["objects"]}
    pos, neg = [], []
    for line in open(records):
        r = json.loads(line)
        if r["status"] != "ok":
            continue
        p = r["presence"]
        (pos if r["concept"] in present[r["relative_path"]] else neg).append((p["whole_image_rank"], p["best_window_rank"], p["looks_absent"]))
    print("%d (image, concept) pairs present, %d absent" % (len(pos), len(neg)))
    fa = sum(1 for _, _, a in pos if a) / len(pos)
    fp = sum(1 for _, _, a in neg if not a) / len(neg)
    print("the rule explain applies: false-absent %.3f, false-present %.3f" % (fa, fp))
    print("whole-image rank > W and best window rank > B:")
    for W in (-1, 0, 5, 10, 20, 50, 100):
        for B in (0, 1, 3):
            fa = sum(1 for w, b, _ in pos if w > W and b > B) / len(pos)
            fp = sum(1 for w, b, _ in neg if not (w > W and b > B)) / len(neg)
            print("  W %4d B %d: false-absent %.3f false-present %.3f" % (W, B, fa, fp))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
