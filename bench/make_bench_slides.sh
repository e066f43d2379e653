#!/usr/bin/env bash
# Benchmark slides from scikit-image's ihc.png (a real immunohistochemistry image), enlarged 4x and
# mirror-extended to slide size, saved as 256 x 256 JPEG-tiled pyramids (generic-tiff in OpenSlide):
#   OUTDIR/bench-40k.tif     40,000 x 40,000, JPEG Q 85
#   OUTDIR/bench-100k.tif   100,000 x 100,000, BigTIFF, JPEG Q 75 (lower Q: faster to encode)
# Slides that already exist are kept. Usage: make_bench_slides.sh OUTDIR [40k|100k|all]
set -euo pipefail
out=${1:?usage: make_bench_slides.sh OUTDIR [40k|100k|all]}
which=${2:-all}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out" && out=$(cd "$out" && pwd)
export VIPS_WARNING=0

ihc="$out/pkgs/skimage-data/ihc.png"
[[ -f "$ihc" ]] || bash "$here/../tests/fixtures/fetch_packages.sh" "$out/pkgs"
enlarged="$out/ihc-x4.v"
[[ -f "$enlarged" ]] || vips resize "$ihc" "$enlarged" 4

# make NAME SIZE Q EXTRA...: written to a temporary name first so an interrupted run is redone.
make() {
    local name=$1 size=$2 q=$3
    shift 3
    local file="$out/$name.tif"
    if [[ -f "$file" ]]; then
        echo "$file exists"
        return
    fi
    local start=$SECONDS
    vips embed "$enlarged" "$out/$name.partial.tif[tile,tile-width=256,tile-height=256,pyramid,compression=jpeg,Q=$q$*]" \
        0 0 "$size" "$size" --extend mirror
    mv "$out/$name.partial.tif" "$file"
    echo "$file: ${size}x${size}, Q $q, $((SECONDS - start)) s, $(du -h "$file" | cut -f1)"
}

[[ $which == 40k || $which == all ]] && make bench-40k 40000 85
[[ $which == 100k || $which == all ]] && make bench-100k 100000 75 ",bigtiff"
exit 0
