#!/usr/bin/env bash
# Runs every viewer benchmark of docs/PERFORMANCE.md and keeps their JSON.
# Usage: run_viewer_bench.sh BUILD_DIR SLIDES_DIR [RESULTS_DIR]
#   BUILD_DIR   a Release build holding bench/viewer_bench
#   SLIDES_DIR  made by bench/make_bench_slides.sh (bench-40k.tif, bench-100k.tif)
set -euo pipefail
build=${1:?usage: run_viewer_bench.sh BUILD_DIR SLIDES_DIR [RESULTS_DIR]}
slides=${2:?usage: run_viewer_bench.sh BUILD_DIR SLIDES_DIR [RESULTS_DIR]}
results=${3:-$build/bench-results}
bench="$build/bench/viewer_bench"
mkdir -p "$results"
export QT_QPA_PLATFORM=offscreen

# Warm the OS page cache, so every run reads the files from memory alike.
cat "$slides/bench-40k.tif" "$slides/bench-100k.tif" >/dev/null

"$bench" --slide "$slides/bench-40k.tif" --mode open --repeats 15 --json "$results/open.json"
"$bench" --slide "$slides/bench-40k.tif" --mode pan --json "$results/pan.json"
# The same pan with a whole-slide heat layer shown (its tiles made by the overlay's worker).
"$bench" --slide "$slides/bench-40k.tif" --mode pan --heat --json "$results/pan-heat.json"
# Before issue 12's heat worker, for comparison in the same run: each frame waits for its heat.
"$bench" --slide "$slides/bench-40k.tif" --mode pan --heat-in-frame \
    --json "$results/pan-heat-in-frame.json"
for mib in 512 256; do
    "$bench" --slide "$slides/bench-100k.tif" --mode memory --cache-mb "$mib" \
        --json "$results/memory-$mib.json"
done
# A whole-slide analysis loaded (heat raster of 3125 x 3125 cells, its tiles in the cache).
"$bench" --slide "$slides/bench-100k.tif" --mode memory --heat --cache-mb 512 \
    --json "$results/memory-512-heat.json"
# The same with glibc's mmap threshold fixed at its default 128 KiB (no dynamic raise), so freed
# tiles go back to the system instead of staying in malloc's arenas.
for mib in 512 256; do
    MALLOC_MMAP_THRESHOLD_=131072 "$bench" --slide "$slides/bench-100k.tif" --mode memory \
        --cache-mb "$mib" --json "$results/memory-$mib-mmap128k.json"
done
