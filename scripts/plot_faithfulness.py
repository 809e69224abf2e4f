#!/usr/bin/env python3
"""Plots of `convis eval faithfulness --json` and `convis eval sanity --json`
(docs/faithfulness.md): mean deletion and insertion curves per method and
level, and the sanity check's similarity per randomised block count.

    python3 scripts/plot_faithfulness.py curves OUT.png RESULT.json [RESULT.json ...]
    python3 scripts/plot_faithfulness.py sanity OUT.png SANITY.json

Several faithfulness results (the built-in methods and the peers' maps,
measured in separate runs with the same settings) are drawn together. Needs
Debian's python3-matplotlib.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"grid": ("C3", "-", 2.4), "grid-unrefined": ("C1", "-", 1.4), "stochastic": ("C4", "-", 1.4),
         "occlusion": ("C2", "-", 1.4), "center": ("0.4", "--", 1.4), "random": ("0.6", ":", 1.8)}


def style(method, i):
    return STYLE.get(method, ("C%d" % (5 + i % 5), "-.", 1.2))


def curves(out, paths):
    rows, meta = [], None
    for p in paths:
        with open(p) as f:
            d = json.load(f)
        meta = meta or d
        rows += d["results"]
    levels = sorted({r["concept_level"] for r in rows}, key=lambda l: (l != "object", l))
    fig, axes = plt.subplots(len(levels), 2, figsize=(11, 4.2 * len(levels)), squeeze=False)
    for li, level in enumerate(levels):
        rs = [r for r in rows if r["concept_level"] == level]
        for ci, (curve, auc, title) in enumerate((("deletion_curve", "deletion_auc", "deletion (lower is better)"),
                                                   ("insertion_curve", "insertion_auc", "insertion (higher is better)"))):
            ax = axes[li][ci]
            for i, r in enumerate(rs):
                c, ls, lw = style(r["method"], i)
                ax.plot(r["fractions"], r[curve], color=c, linestyle=ls, linewidth=lw,
                        label="%s (AUC %.3f)" % (r["method"], r[auc]["value"]))
            ax.set_title("%s level: %s" % (level, title))
            ax.set_xlabel("fraction of pixels %s in map order" % ("removed" if ci == 0 else "restored"))
            ax.set_ylabel("concept score (%s)" % meta["score"])
            ax.set_ylim(0, 1.02)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="upper right" if ci == 0 else "lower right")
    fig.suptitle("convis eval faithfulness: %d images of %s, %d steps, fill %s, seed %d" %
                 (meta["images"], meta["dataset"], meta["steps"], meta["fill"], meta["seed"]), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def sanity(out, path):
    with open(path) as f:
        d = json.load(f)
    rows = d["results"]
    methods = []
    for r in rows:
        if r["method"] not in methods:
            methods.append(r["method"])
    blocks = d["blocks"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ai, (metric, name) in enumerate((("spearman", "Spearman rank correlation"), ("ssim", "SSIM"))):
        ax = axes[ai]
        for i, m in enumerate(methods):
            c, ls, lw = style(m, i)
            pts = [(0, 1.0)] + [(r["randomized_blocks"], r[metric]["value"]) for r in rows if r["method"] == m and r["randomized"] != "text-shuffled"]
            lo = [None] + [r[metric]["ci95_lo"] for r in rows if r["method"] == m and r["randomized"] != "text-shuffled"]
            hi = [None] + [r[metric]["ci95_hi"] for r in rows if r["method"] == m and r["randomized"] != "text-shuffled"]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=c, linestyle=ls, linewidth=lw, marker="o", label=m)
            ax.fill_between([p[0] for p in pts[1:]], lo[1:], hi[1:], color=c, alpha=0.12)
            t = [r for r in rows if r["method"] == m and r["randomized"] == "text-shuffled"]
            if t:
                ax.plot([max(blocks) + 1], [t[0][metric]["value"]], color=c, marker="s", linestyle="none")
        ax.set_xticks(list(range(0, max(blocks) + 2)))
        ax.set_xticklabels(["0\n(original)"] + [str(k) for k in range(1, max(blocks) + 1)] + ["text\nshuffled"])
        ax.set_xlabel("vision blocks re-initialised (from the top)")
        ax.set_ylabel("%s with the original model's maps" % name)
        ax.set_ylim(min(-0.4, ax.get_ylim()[0]), 1.05)
        ax.axhline(0, color="0.7", linewidth=0.8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("convis eval sanity: cascading randomisation of the vision tower (seed %d) and shuffled prompts" % d["seed"], fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] not in ("curves", "sanity"):
        sys.exit(__doc__)
    (curves if sys.argv[1] == "curves" else lambda o, p: sanity(o, p[0]))(sys.argv[2], sys.argv[3:])
