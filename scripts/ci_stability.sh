#!/usr/bin/env bash
# Measures what legitimately varies between saliency maps of one model, to
# choose convis compare's default tolerances (docs/ci-regression.md):
# the same model and settings with --threads 1, with --batch 1, and run
# again; then what should fail: another noise seed (a setting), and another
# model (the random fixture model). Prints, per variation, the minimum,
# median and maximum of each metric over the pairs, and how many pairs the
# default tolerances fail.
#
#   scripts/ci_stability.sh [SCENES] [OUT]     (default: 16 benchmark scenes, build/stability)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-16}
out=${2:-build/stability}
bin=${CONVIS:-bin/convis}
rm -rf "$out"; mkdir -p "$out/in"
# Half single-object, half multi-object held-out scenes.
ls testdata/scenes/single/*.png | head -n $((n / 2)) | xargs -I{} cp {} "$out/in/"
for f in $(ls testdata/scenes/multi/*.png | head -n $((n - n / 2))); do cp "$f" "$out/in/m-$(basename "$f")"; done
# Every run computes its maps: the window cache ignores --threads and
# --batch (rightly: they do not change the embeddings it keys on), so runs
# sharing it would compare the cache with itself. --cache-size 0 turns it
# off; the concept index, in the script's own cache folder, is shared.
# Each run must report encoder passes, or the comparison tests nothing.
run() {
  local name=$1; shift
  "$bin" explain "$out/in" -c animal -c vehicle --format npy,json -o "$out/$name" --log-level warn \
    --cache-dir "$out/cache" --cache-size 0 --jsonl "$@" > "$out/$name.jsonl"
  local passes
  passes=$(jq -s '[.[] | select(.type == "record") | .forward_passes] | add' "$out/$name.jsonl")
  if [ "${passes:-0}" -le 0 ]; then echo "ci_stability: run $name encoded nothing" >&2; exit 1; fi
  echo "$name: $passes encoder passes" >&2
}
run base
run threads1 --threads 1
run batch1 --batch 1
run again
run seed1 --seed 1
run other --model testdata/fixture-model
printf '%-9s %5s %6s  %-22s %-22s %-22s %-22s %-22s\n' variation pairs failed "pearson min/med/max" "spearman" "peak shift (diag)" "top-10% IoU" "mean abs diff"
for v in threads1 batch1 again seed1 other; do
  "$bin" compare "$out/base" "$out/$v" --json --log-level error > "$out/$v.json" || true
  jq -r --arg v "$v" '
    def stats(f): [.pairs[] | .metrics | f] | sort | "\(.[0]*1000|round/1000)/\(.[length/2|floor]*1000|round/1000)/\(.[-1]*1000|round/1000)";
    [$v, (.pairs|length), .failed, stats(.pearson), stats(.spearman), stats(.peak_shift), stats(.top_iou), stats(.mean_abs_diff)] | @tsv' "$out/$v.json" |
    awk -F'\t' '{printf "%-9s %5s %6s  %-22s %-22s %-22s %-22s %-22s\n", $1, $2, $3, $4, $5, $6, $7, $8}'
done
