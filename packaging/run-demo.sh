#!/usr/bin/env bash
# Quick start command 1: install what is missing, build, make the demo slide (once) and open it
# with the bundled demo model; the whole-slide Grad-CAM analysis starts at once and the heatmap
# fills in over the tissue while you pan.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash packaging/install-deps.sh build
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target lucida lucida-cli
slide=build/demo/slide/demo-slide.tiff
[[ -f "$slide" ]] || build/app/lucida-cli make-demo --out build/demo --train-per-class 0 \
    --val-per-class 0 --test-per-class 0
exec build/app/lucida --model resources/demo/model/demo-smallcnn.pth --analyse "$@" "$slide"
