#!/usr/bin/env bash
# Quick start command 2: install what is missing, build, check that the install script names every
# package the build used, run every test (headless), build and check the .deb, then run the image
# parsers' tests again under AddressSanitizer + UBSan.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash packaging/install-deps.sh test
export QT_QPA_PLATFORM=offscreen
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Hits across clones in different folders (CI clones afresh each time).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
jobs=$(nproc)
cmake --preset default >/dev/null
cmake --build --preset default -j "$jobs"
bash packaging/check-deps.sh build
ctest --preset default
bash packaging/check-package.sh build
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ctest --preset asan
# ThreadSanitizer: tile loader, results store and lock, analysis worker (about 6 min cold).
bash packaging/run-tsan.sh
# libFuzzer on the file readers (model files, sidecars, images, results store): ~2.5 min build, 4.5 min.
# Any crash, leak or over-limit allocation fails the run (inputs land in build-fuzz/fuzz-run/artifacts).
bash packaging/run-fuzz.sh
