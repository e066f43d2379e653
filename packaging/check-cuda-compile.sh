#!/usr/bin/env bash
# Compiles the CUDA-only code of core/ (the `#ifdef LUCIDA_TORCH_CUDA` parts: free device memory,
# the caching allocator) against Debian's LibTorch 1.13 c10/cuda headers and a CUDA toolkit's
# runtime headers, without a CUDA LibTorch: -fsyntax-only, so nothing is linked or run.
# Debian's CPU LibTorch lacks the generated c10/cuda/impl/cuda_cmake_macros.h; a one-line stand-in
# is given. Usage: check-cuda-compile.sh BUILD_DIR [CUDA_INCLUDE_DIR]
set -euo pipefail
build=${1:?usage: check-cuda-compile.sh BUILD_DIR [CUDA_INCLUDE_DIR]}
cuda=${2:-/usr/local/cuda/include}
[[ -f "$cuda/cuda_runtime_api.h" ]] || { echo "no CUDA runtime headers in $cuda" >&2; exit 2; }
stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
mkdir -p "$stub/c10/cuda/impl"
printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' >"$stub/c10/cuda/impl/cuda_cmake_macros.h"
for source in $(grep -rl 'LUCIDA_TORCH_CUDA' "$(dirname "$0")/../core" --include='*.cpp'); do
    object=$(cd "$build" && ninja -t targets all | grep -o "[^ ]*$(basename "$source").o" | head -1)
    command=$(cd "$build" && ninja -t commands "$object" | tail -1)
    command=$(echo "$command" | sed "s| -o [^ ]*| -fsyntax-only|; s|-c | -DLUCIDA_TORCH_CUDA=1 -I$stub -I$cuda -c |")
    echo "checking $source"
    (cd "$build" && eval "$command")
done
echo "the CUDA code compiles"
