#!/bin/bash
# Quality per encoder pass of grid window plans (docs/budget.md): runs
# `convis eval localization --fidelity` for each plan at object and parent
# level on every SQUARE_EVERY-th benchmark scene (default 20: 25 of the 500,
# 10 single-object and 15 multi-object) and every NONSQUARE_EVERY-th
# non-square scene (default 8: 20 of the 160, 5 of each size), writing
# OUT/PLAN-DATASET.json; then
#   /usr/bin/python3 scripts/budget_table.py OUT docs/budget-quality.png
# prints docs/budget.md's table and draws its plot.
#   scripts/budget_sweep.sh [OUT]     (bin/convis: make build first)
# Env: CONVIS (binary, default bin/convis), SQUARE_EVERY, NONSQUARE_EVERY
# (1: the whole sets, as docs/budget.md ran them; the defaults fit a shared
# two-core machine in an hour), PLANS (names
# below, default all, in that order), DATASETS (default "scenes
# scenes-nonsquare": two runs with one each go side by side), CACHE (--cache-dir, default
# convis's own). A plan whose JSON exists is not run again. With the window
# cache, windows that plans share (the default map, the fidelity reference,
# is one of them) are encoded once per image.
set -euo pipefail
out=${1:-build/budget}
convis=${CONVIS:-bin/convis}
square_every=${SQUARE_EVERY:-20}
nonsquare_every=${NONSQUARE_EVERY:-8}
mkdir -p "$out"
declare -A plan=(
  [default]=""
  [fast]="--budget fast"
  [full]="--budget full"
  [s32-fine32]="--sizes 128,64 --stride 32 --refine-stride 32"
  [s32-128only]="--sizes 128 --stride 32"
  [s48]="--sizes 128,64 --stride 48"
  [s32-norefine]="--sizes 128,64 --stride 32 --refine=false"
  [s32]="--sizes 128,64 --stride 32"
  [s24-128only]="--sizes 128 --stride 24"
  # Coarse-to-fine (--fine-windows K): K of the half-stride grid's windows
  # where the coarse windows' embeddings disagree most.
  [c2f-150]="--sizes 128,64 --stride 32 --refine-size 48 --refine-stride 32 --fine-windows 150"
  [c2f-s48-80]="--sizes 128,64 --stride 48 --refine-size 48 --fine-windows 80"
  [c2f-100]="--sizes 128,64 --stride 32 --refine-size 48 --fine-windows 100"
)
order=${PLANS:-default fast s32 s32-norefine s32-fine32 s32-128only s48 s24-128only c2f-150 c2f-s48-80 c2f-100 full}
# The subsets: manifests beside the JSON whose files point back into
# testdata.
subset() { # DATASET EVERY
  local dir="$out/$1-subset" rel
  mkdir -p "$dir"
  rel=$(realpath --relative-to="$dir" "testdata/$1")
  jq --arg rel "$rel" --argjson k "$2" '{images: [.images | to_entries[] | select(.key % $k == 0) | .value | .file = $rel + "/" + .file]}' \
    "testdata/$1/manifest.json" > "$dir/manifest.json"
}
subset scenes "$square_every"
subset scenes-nonsquare "$nonsquare_every"
cache=()
[ -n "${CACHE:-}" ] && cache=(--cache-dir "$CACHE")
for name in $order; do
  for ds in ${DATASETS:-scenes scenes-nonsquare}; do
    f="$out/$name-$ds.json"
    [ -s "$f" ] && continue
    echo "$(date -u +%T) $name on $ds: ${plan[$name]}" >&2
    # shellcheck disable=SC2086
    "$convis" "${cache[@]}" eval localization "$out/$ds-subset" --concept-level object,parent \
      --cache-size 20GB --fidelity --json ${plan[$name]} > "$f.tmp"
    mv "$f.tmp" "$f"
  done
done
echo "$(date -u +%T) done" >&2
