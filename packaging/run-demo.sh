#!/usr/bin/env bash
# Quick start command 1: install what is missing, build, and open the viewer on the demo slide.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash packaging/install-deps.sh
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target lucida lucida-cli
bash resources/demo/make_demo_slide.sh build/demo
exec build/app/lucida "$@" build/demo/demo-slide.svs
