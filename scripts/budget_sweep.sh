#!/bin/bash
# Quality per encoder pass of grid window plans (docs/budget.md): runs
# `convis eval localization --fidelity` for each plan at object and parent
# level on the first LIMIT benchmark scenes (default 100 of 500) and on the
# first PER_SIZE non-square scenes of each of the four sizes (default 10 of
# 40), writing OUT/PLAN-DATASET.json; then
#   /usr/bin/python3 scripts/budget_table.py OUT docs/budget-quality.png
# prints docs/budget.md's table and draws its plot.
#   scripts/budget_sweep.sh [OUT]     (bin/convis: make build first)
# Env: CONVIS (binary, default bin/convis), LIMIT, PER_SIZE, PLANS (names
# below, default all, in that order), CACHE (--cache-dir, default
# convis's own). A plan whose JSON exists is not run again. With the window
# cache, windows that plans share (the default map, the fidelity reference,
# is one of them) are encoded once per image.
set -euo pipefail
out=${1:-build/budget}
convis=${CONVIS:-bin/convis}
limit=${LIMIT:-100}
per_size=${PER_SIZE:-10}
mkdir -p "$out"
declare -A plan=(
  [default]=""
  [fast]="--budget fast"
  [full]="--budget full"
  [s32-fine32]="--sizes 128,64 --stride 32 --refine-stride 32"
  [s32-128only]="--sizes 128 --stride 32"
  [s48]="--sizes 128,64 --stride 48"
  [s32-norefine]="--sizes 128,64 --stride 32 --refine=false"
)
order=${PLANS:-default fast s32-norefine s32-fine32 s32-128only s48 full}
# The non-square subset: the first PER_SIZE scenes of each size, as a
# manifest beside the JSON whose files point back into testdata.
sub="$out/nonsquare-subset"
mkdir -p "$sub"
rel=$(realpath --relative-to="$sub" testdata/scenes-nonsquare)
jq --arg rel "$rel" --argjson n "$per_size" '{images: ([.images[]] | group_by(.file | split("/")[0]) | map(.[:$n]) | add | map(.file = $rel + "/" + .file))}' \
  testdata/scenes-nonsquare/manifest.json > "$sub/manifest.json"
cache=()
[ -n "${CACHE:-}" ] && cache=(--cache-dir "$CACHE")
for name in $order; do
  for ds in scenes scenes-nonsquare; do
    if [ "$ds" = scenes ]; then args=(testdata/scenes --limit "$limit"); else args=("$sub"); fi
    f="$out/$name-$ds.json"
    [ -s "$f" ] && continue
    echo "$(date -u +%T) $name on $ds: ${plan[$name]}" >&2
    # shellcheck disable=SC2086
    "$convis" "${cache[@]}" eval localization "${args[@]}" --concept-level object,parent \
      --cache-size 20GB --fidelity --json ${plan[$name]} > "$f.tmp"
    mv "$f.tmp" "$f"
  done
done
echo "$(date -u +%T) done" >&2
