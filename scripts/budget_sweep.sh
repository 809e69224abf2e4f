#!/bin/bash
# Quality per encoder pass of grid window plans (docs/budget.md): runs
# `convis eval localization --fidelity` for each plan on the first LIMIT
# benchmark scenes (default 200 of 500) and all 160 non-square scenes, at
# object and parent level, writing OUT/PLAN-DATASET.json; then
# scripts/budget_table.py OUT draws docs/budget-quality.png and prints the
# table of docs/budget.md.
#   scripts/budget_sweep.sh [OUT]     (bin/convis: make build first)
# Env: CONVIS (binary, default bin/convis), LIMIT (default 200), PLANS
# (names below, default all), CACHE (--cache-dir, default: convis's own).
# Each plan's fidelity reference is the default map of the same image; with
# the window cache its windows are encoded once per image, not per plan.
set -euo pipefail
out=${1:-build/budget}
convis=${CONVIS:-bin/convis}
limit=${LIMIT:-200}
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
order=${PLANS:-default fast s32-fine32 s32-128only s48 s32-norefine full}
cache=()
[ -n "${CACHE:-}" ] && cache=(--cache-dir "$CACHE")
for name in $order; do
  for ds in scenes scenes-nonsquare; do
    lim=()
    [ "$ds" = scenes ] && lim=(--limit "$limit")
    f="$out/$name-$ds.json"
    [ -s "$f" ] && continue # rerun: plans already measured are kept
    echo "$(date -u +%T) $name on $ds: ${plan[$name]}" >&2
    # shellcheck disable=SC2086
    "$convis" "${cache[@]}" eval localization "testdata/$ds" "${lim[@]}" --concept-level object,parent \
      --cache-size 20GB --fidelity --json ${plan[$name]} > "$f.tmp"
    mv "$f.tmp" "$f"
  done
done
