#!/usr/bin/python3
"""Table and plot of quality per encoder pass (docs/budget.md).

Reads the JSON of scripts/budget_sweep.sh (OUT/PLAN-DATASET.json, from
`convis eval localization --fidelity --json`), prints the Markdown table of
docs/budget.md and draws PNG (default docs/budget-quality.png):
    /usr/bin/python3 scripts/budget_table.py build/budget [docs/budget-quality.png]
A plan measured before --fidelity existed (the default map itself) counts
as Pearson 1 and peak distance 0: it is the reference.
"""
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DATASETS = [("scenes", "benchmark squares"), ("scenes-nonsquare", "non-square scenes")]


def load(out):
    runs = {}
    for path in sorted(glob.glob(os.path.join(out, "*.json"))):
        name = os.path.basename(path)[:-5]
        for ds, _ in sorted(DATASETS, key=lambda d: -len(d[0])):
            if name.endswith("-" + ds):
                plan = name[: -len(ds) - 1]
                with open(path) as f:
                    runs[(plan, ds)] = json.load(f)
                break
    return runs


def row(run, level):
    for r in run["results"]:
        if r["method"] == "grid" and r["concept_level"] == level:
            return r
    raise KeyError(level)


def fidelity(r):
    p = r.get("fidelity_pearson", {"mean": 1.0})["mean"]
    d = r.get("fidelity_peak_distance", {"mean": 0.0})["mean"]
    return p, d


def ci(stat):
    return f"{stat['mean']:.3f} [{stat['ci95_lo']:.3f}, {stat['ci95_hi']:.3f}]"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/budget"
    png = sys.argv[2] if len(sys.argv) > 2 else "docs/budget-quality.png"
    runs = load(out)
    plans = sorted({p for p, _ in runs}, key=lambda p: row(runs[(p, "scenes")], "object")["passes_per_map"] if (p, "scenes") in runs else 1e9)
    for ds, title in DATASETS:
        have = [p for p in plans if (p, ds) in runs]
        if not have:
            continue
        first = runs[(have[0], ds)]
        n_obj, n_par = row(first, "object")["samples"], row(first, "parent")["samples"]
        print(f"\n{title.capitalize()} ({first['images']} images of testdata/{ds}; {n_obj} object and {n_par} parent samples; "
              "pointing game with its 95% bootstrap interval):\n")
        print("| plan | passes per map | × default | objects: pointing game | parents: pointing game | objects: box IoU > 0.5 | parents: box IoU > 0.5 | Pearson with the default map (objects / parents) | peak distance, px of 224 (objects / parents) |")
        print("|---|---|---|---|---|---|---|---|---|")
        base = row(runs[("default", ds)], "object")["passes_per_map"] if ("default", ds) in runs else None
        for p in have:
            o, pa = row(runs[(p, ds)], "object"), row(runs[(p, ds)], "parent")
            po, do = fidelity(o)
            pp, dp = fidelity(pa)
            ratio = f"{o['passes_per_map'] / base:.2f}" if base else "—"
            print(f"| {p} | {o['passes_per_map']:.0f} | {ratio} | {ci(o['pointing_game'])} | {ci(pa['pointing_game'])} | "
                  f"{o['box_iou50_default']['mean']:.3f} | {pa['box_iou50_default']['mean']:.3f} | {po:.3f} / {pp:.3f} | {do:.1f} / {dp:.1f} |")

    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    for col, (ds, title) in enumerate(DATASETS):
        have = [p for p in plans if (p, ds) in runs]
        if not have:
            for ax in (axes[0][col], axes[1][col]):
                ax.text(0.5, 0.5, "not measured in this sweep", transform=ax.transAxes, ha="center", va="center")
                ax.set_yticks([])
            axes[0][col].set_title(title)
            continue
        for level, marker in (("object", "o"), ("parent", "s")):
            xs = [row(runs[(p, ds)], level)["passes_per_map"] for p in have]
            pg = [row(runs[(p, ds)], level)["pointing_game"]["mean"] for p in have]
            box = [row(runs[(p, ds)], level)["box_iou50_default"]["mean"] for p in have]
            pr = [fidelity(row(runs[(p, ds)], level))[0] for p in have]
            ax = axes[0][col]
            ax.plot(xs, pg, marker, label=f"{level}s: pointing game")
            ax.plot(xs, box, marker, mfc="none", label=f"{level}s: box IoU > 0.5")
            axes[1][col].plot(xs, pr, marker, label=f"{level}s")
            if level == "object":
                # Plans of equal passes sit on one x: their labels are staggered.
                for k, (x, y, p) in enumerate(zip(xs, pg, have)):
                    ax.annotate(p, (x, y), textcoords="offset points", xytext=(3, -10 - 9 * (k % 3)), fontsize=7)
                for k, (x, y, p) in enumerate(zip(xs, pr, have)):
                    axes[1][col].annotate(p, (x, y), textcoords="offset points", xytext=(3, 4 - 9 * (k % 3)), fontsize=7)
        axes[0][col].set_title(title)
        axes[0][col].set_ylabel("share of samples")
        axes[1][col].set_ylabel("Pearson with the default map")
        axes[1][col].set_xlabel("encoder passes per map")
        for ax in (axes[0][col], axes[1][col]):
            ax.grid(alpha=0.3)
            if ("default", ds) in runs:
                ax.axvline(0.4 * row(runs[("default", ds)], "object")["passes_per_map"], color="gray", ls=":", lw=1)
        axes[0][col].legend(fontsize=7, loc="lower right")
        axes[1][col].legend(fontsize=7, loc="lower right")
    fig.suptitle("Quality per encoder pass, built-in model (dotted: 0.4 × the default's passes)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"\nplot: {png}")


if __name__ == "__main__":
    main()
