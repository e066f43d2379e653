#!/usr/bin/env bash
# The cost of each map check against one explanation (issue 17), on the demo model and demo test
# patches. Each command runs once on 1 image and once on N; the per-image cost is the difference
# divided by N - 1, so program start and model loading cancel out. Ratios are against `explain`'s
# per-image cost measured in the same run.
# Usage: bench/check_cost.sh [BUILD_DIR] [N]   (results on stdout, a Markdown table)
set -euo pipefail
build=${1:-build}
n=${2:-6}
cli=$(realpath "$build/app/lucida-cli")
model=$(realpath "$(dirname "$0")/../resources/demo/model/demo-smallcnn.pth")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cli" make-demo --out "$work/demo" --train-per-class 0 --val-per-class 0 \
    --test-per-class "$n" --slide-width 1024 --slide-height 1024 >/dev/null 2>&1
mapfile -t images < <(ls "$work"/demo/patches/test/tumour/*.png | head -n "$n")
[[ ${#images[@]} -eq $n ]] || { echo "check_cost: expected $n test patches" >&2; exit 1; }

seconds() { # command... → wall seconds
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "check_cost: failed: $*" >&2; exit 1; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}
per_image() { # label, command prefix... → per-image seconds
    local one all
    one=$(seconds "$@" --out "$work/o1" "${images[0]}")
    all=$(seconds "$@" --out "$work/on" "${images[@]}")
    echo "($all - $one) / ($n - 1)" | bc -l
}
# One image at a time, as check explains them.
explain=$(per_image "$cli" explain --model "$model" --batch 1)
echo "| What | Per image (s) | × one explanation | Expected |"
echo "|---|---|---|---|"
printf '| explain (Grad-CAM, batch 1) | %.3f | 1.0 | 1 |\n' "$explain"
row() { # label, expected, command...
    local label=$1 expected=$2
    shift 2
    local t
    t=$(per_image "$@")
    printf '| %s | %.3f | %.1f | %s |\n' "$label" "$t" "$(echo "$t / $explain" | bc -l)" "$expected"
}
row "check, randomisation only (5 stages, 1 curve step)" "≈ 5 explanations + 8 forwards" \
    "$cli" check --model "$model" --steps 1
row "check, default (5 stages; deletion/insertion, 32 steps, blur)" \
    "≈ 5 explanations + 4 × 33 forwards" "$cli" check --model "$model"
row "check, 1 stage, deletion/insertion with 32 steps" "≈ 1 explanation + 4 × 33 forwards" \
    "$cli" check --model "$model" --stages 1
row "check --road (5 stages, 32 steps)" "the above + 4 × 32 sparse solves" \
    "$cli" check --model "$model" --road
