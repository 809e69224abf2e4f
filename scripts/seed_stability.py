#!/usr/bin/env python3
"""Seed stability and localisation of ConVis maps against --seeds and --fill.

For a subset of the benchmark's multi-object scenes (testdata/scenes/multi)
and of the non-square scenes (testdata/scenes-nonsquare, an equal share of
every size), every (image, concept) pair of three kinds is explained twice
with disjoint seed sets (--seed 0 and --seed 1000, --seeds N each):

  object  an object of the scene (its own synset)
  parent  the first hypernym in T of an object (as eval localization takes it)
  absent  object synsets of other benchmark scenes, none of whose subtree is
          in the scene

Stability is `convis compare` between the two runs (Pearson, box IoU);
localisation is `convis eval localization --seeds N` (pointing game, box IoU
> 0.5 with the default box), which reads the first run's canvases from the
window cache. Deterministic fills (gray, blur) give the same canvas for every
seed, so only N = 1 is run for them.

  scripts/seed_stability.py --convis bin/convis --out build/trust-stability \
      --scenes 12 --json docs/trust-stability.json

prints the Markdown table of docs/trust.md and writes every number as JSON.
Only the Python standard library is used.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode not in (0, 1):  # compare exits 1 on pairs beyond tolerance
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


def subset(manifest_dir, pick, out):
    """Symlinks the picked images under out, with their manifest."""
    with open(os.path.join(manifest_dir, "manifest.json")) as f:
        man = json.load(f)
    images = pick(man["images"])
    for im in images:
        dst = os.path.join(out, im["file"])
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.lexists(dst):
            os.symlink(os.path.join(manifest_dir, im["file"]), dst)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"name": man.get("name", "") + " (subset)", "images": images}, f)
    return images


def pct(v, q):
    v = sorted(v)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def boot(v, seed=0, reps=1000):
    """Mean and 95% bootstrap interval."""
    if not v:
        return [float("nan")] * 3
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(v, k=len(v))) for _ in range(reps))
    return [statistics.fmean(v), means[int(0.025 * reps)], means[int(0.975 * reps) - 1]]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--convis", default=os.path.join(ROOT, "bin/convis"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build/trust-stability"))
    ap.add_argument("--scenes", type=int, default=12, help="scenes per dataset")
    ap.add_argument("--first", type=int, default=0,
                    help="skip this many scenes per dataset (a held-out set: --first 12 takes multi/0012… and the 4th… scene of each size)")
    ap.add_argument("--absent", type=int, default=4, help="absent concepts")
    ap.add_argument("--seeds", default="1,2,4,8")
    ap.add_argument("--fills", default="noise,gray,blur")
    ap.add_argument("--datasets", default="benchmark,nonsquare", help="which scene sets (two processes can share the CPU's cores)")
    ap.add_argument("--budget", help="explain's and eval's --budget (fast, default, full); none: the default plan")
    ap.add_argument("--json", help="write every number here")
    ap.add_argument("--rows", help="only print the table of the rows (one JSON object a line) that a run wrote on stderr")
    a = ap.parse_args()
    if a.rows:
        table([json.loads(l) for l in open(a.rows) if l.startswith("{")])
        return
    # An own cache: the window cache's bound (2 GB) is shared with other runs.
    cv = [a.convis, "--log-level", "error", "--cache-dir", os.path.join(a.out, "cache")]
    ns = sorted((int(x) for x in a.seeds.split(",")), reverse=True)  # largest first: the others hit the cache
    fills = a.fills.split(",")
    plan = ["--budget", a.budget] if a.budget else []

    bench_all = json.load(open(os.path.join(ROOT, "testdata/scenes/manifest.json")))["images"]
    datasets = {
        "benchmark": subset(os.path.join(ROOT, "testdata/scenes"),
                            lambda ims: [i for i in ims if i["file"].startswith("multi/")][a.first: a.first + a.scenes], os.path.join(a.out, "data/benchmark")),
        "nonsquare": subset(os.path.join(ROOT, "testdata/scenes-nonsquare"),
                            lambda ims: [i for s in ("240x320", "320x240", "400x300", "448x448")
                                         for i in [j for j in ims if j["file"].startswith(s + "/")][a.first // 4: a.first // 4 + max(1, a.scenes // 4)]],
                            os.path.join(a.out, "data/nonsquare")),
    }
    datasets = {k: v for k, v in datasets.items() if k in a.datasets.split(",")}
    results = {"scenes_per_dataset": a.scenes, "first": a.first, "rows": []}
    for ds, images in datasets.items():
        data = os.path.join(a.out, "data", ds)
        samples = json.loads(run(cv + ["eval", "localization", data, "--concept-level", "object,parent", "--list-samples"]))
        kind = {}  # (file, concept) -> object | parent
        for s in samples:
            kind[(s["file"], s["concept"])] = s["level"]
        present = {o["concept"] for im in images for o in im["objects"]}
        absent = []
        for c in sorted({o["concept"] for im in bench_all for o in im["objects"]} - present):
            tree = run(cv + ["concepts", "tree", c])
            if not any(p in tree for p in present):
                absent.append(c)
            if len(absent) == a.absent:
                break
        for im in images:
            for c in absent:
                kind[(im["file"], c)] = "absent"
        concepts = sorted({c for (_, c) in kind})
        cargs = [x for c in concepts for x in ("-c", c)]
        for fill in fills:
            for n in (ns if fill == "noise" else [1]):
                dirs = {}
                for tag, seed in (("a", 0), ("b", 1000)):
                    d = os.path.join(a.out, "runs", ds, fill, f"N{n}", tag)
                    dirs[tag] = d
                    run(cv + ["explain", data, "-r", "--format", "npy,json", "--fill", fill, "--seed", str(seed),
                              "--seeds", str(n), "-o", d] + plan + cargs)
                cmp = json.loads(run(cv + ["compare", dirs["a"], dirs["b"], "--json", "--allow-missing", "--limit", "0"]))
                by = {"object": [], "parent": [], "absent": []}
                box = {"object": [], "parent": []}
                for p in cmp["pairs"]:
                    k = kind.get((p["relative_path"], p.get("concept")))
                    if k is None or not p.get("metrics"):
                        continue
                    by[k].append(p["metrics"]["pearson"])
                    if k in box:
                        box[k].append(p["metrics"]["box_iou"])
                ev = json.loads(run(cv + ["eval", "localization", data, "--concept-level", "object,parent", "--fill", fill,
                                          "--seed", "0", "--seeds", str(n), "--json"] + plan))
                loc = {r["concept_level"]: r for r in ev["results"] if r["method"] == "grid"}
                row = {"dataset": ds, "fill": fill, "seeds": n, "passes_per_map": loc["object"]["passes_per_map"]}
                if a.budget:
                    row["budget"] = a.budget
                for k, v in by.items():
                    row[k] = {"pairs": len(v), "pearson_mean": boot(v), "pearson_p10": pct(v, 0.1), "pearson_min": min(v) if v else None}
                    if k in box:
                        row[k]["box_iou_mean"] = boot(box[k], 1)
                        row[k]["pointing_game"] = [loc[k]["pointing_game"][x] for x in ("mean", "ci95_lo", "ci95_hi")]
                        row[k]["box_iou50"] = [loc[k]["box_iou50_default"][x] for x in ("mean", "ci95_lo", "ci95_hi")]
                results["rows"].append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    table(results["rows"])


def table(rows):
    ci = lambda v: f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"
    print("| scenes | fill | N | passes/map | level | pairs | Pearson mean [95%] | p10 | worst | box IoU a–b | pointing game | box IoU>0.5 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        for k in ("object", "parent", "absent"):
            x = r[k]
            loc = (ci(x["box_iou_mean"]), ci(x["pointing_game"]), ci(x["box_iou50"])) if k != "absent" else ("", "", "")
            ds = r["dataset"] + (f" (--budget {r['budget']})" if r.get("budget") else "")
            print(f"| {ds} | {r['fill']} | {r['seeds']} | {r['passes_per_map']:.0f} | {k} | {x['pairs']} | {ci(x['pearson_mean'])} | "
                  f"{x['pearson_p10']:.3f} | {x['pearson_min']:.3f} | {loc[0]} | {loc[1]} | {loc[2]} |")


if __name__ == "__main__":
    main()
