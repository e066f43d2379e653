#!/usr/bin/env bash
# Cohort throughput of `lucida-cli batch` on demo slides, against `lucida-cli analyse` run on
# each slide one by one (the queue's overhead: one model load, the table). Cold results each time.
# Usage: flock /tmp/lucida-build.lock bench/cohort_bench.sh build/app/lucida-cli [COUNT] [SIDE]
set -euo pipefail
cli=$(realpath "${1:?}"); count=${2:-3}; side=${3:-4096}
src=$(cd "$(dirname "$0")/.." && pwd)
model="$src/resources/demo/model/demo-smallcnn.pth"
work=$(mktemp -d /tmp/lucida-cohort-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/slides"
echo path >"$work/manifest.csv"
for n in $(seq 1 "$count"); do
    "$cli" make-demo --out "$work/make-$n" --seed "$n" --train-per-class 0 --val-per-class 0 \
        --test-per-class 0 --slide-width "$side" --slide-height $((side * 3 / 4)) 2>/dev/null
    mv "$work/make-$n/slide/demo-slide.tiff" "$work/slides/slide-$n.tiff"
    echo "slides/slide-$n.tiff" >>"$work/manifest.csv"
done
start=$(date +%s.%N)
for n in $(seq 1 "$count"); do
    "$cli" analyse "$work/slides/slide-$n.tiff" --model "$model" --out "$work/single" 2>/dev/null
done
single=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
"$cli" batch "$work/manifest.csv" --model "$model" --out "$work/batch" 2>/dev/null
batch=$(echo "$(date +%s.%N) - $start" | bc)
/usr/bin/python3 - "$work" "$single" "$batch" "$count" "$side" <<'PY'
import json, sys
work, single, batch, count, side = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = json.load(open(f"{work}/batch/cohort.json"))["images"]
patches = sum(r["patches"] for r in rows)
print(f"{count} demo slides {side}x{side*3//4}, {patches} patches")
print(f"one by one (analyse): {single:.1f} s  {count*3600/single:.0f} images/h  {patches/single:.1f} patches/s")
print(f"batch:                {batch:.1f} s  {count*3600/batch:.0f} images/h  {patches/batch:.1f} patches/s")
print(f"queue overhead: {100*(batch-single)/single:+.1f} %")
PY
