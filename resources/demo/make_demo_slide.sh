#!/usr/bin/env bash
# The demo slide: scikit-image's immunohistochemistry image (from Debian's python3-skimage,
# downloaded, not installed) grown into a 24,000 x 16,000 Aperio-style pyramid at 0.25 µm/px,
# 40x. Idempotent.
set -euo pipefail
out=${1:?usage: make_demo_slide.sh OUTDIR}
mkdir -p "$out" && out=$(cd "$out" && pwd)
slide="$out/demo-slide.svs"
[[ -f "$slide" ]] && exit 0
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../../tests/fixtures/fetch_packages.sh" "$out/pkgs" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export VIPS_WARNING=0
# Upscale 4x (cells at a 40x-like size), then mirror-extend to slide size.
vips resize "$out/pkgs/skimage-data/ihc.png" "$tmp/big.v" 4 --kernel lanczos3
vips embed "$tmp/big.v" "$tmp/canvas.v" 0 0 24000 16000 --extend mirror
vips tiffsave "$tmp/canvas.v" "$tmp/demo.tif" --tile --tile-width 256 --tile-height 256 --pyramid \
    --compression jpeg --Q 85
tiffset -d 0 -s 270 "Aperio Image Library v12.0.5
24000x16000 [0,0 24000x16000] (256x256) JPEG/RGB Q=85|AppMag = 40|MPP = 0.25|Filename = lucida-demo" "$tmp/demo.tif"
mv "$tmp/demo.tif" "$slide"
echo "demo slide: $slide"
