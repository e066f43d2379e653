#!/usr/bin/env bash
# ThreadSanitizer run (preset "tsan", build-tsan/): the tile cache and loader, the results store and
# its lock, and the whole-slide analysis worker (decoding threads, request queue, view scope,
# concurrent writers). Builds only those tests (about 5 min cold on 2 cores). Needs the default
# build's fixtures and reference data (ctest -R 'fixtures|reference_data' in build/).
# Instrumented: lucida_core (tile cache and loader, results store and lock, decoding and
# preprocessing), the analysis worker (SlideAnalysis.cpp, AnalysisOutputs.cpp) and the tests. Not
# instrumented: the other LibTorch TUs, LibTorch, OpenCV, OpenSlide, GLib, Qt. LibTorch and OpenCV
# compute on the calling thread (LUCIDA_TORCH_THREADS=1, OPENCV_FOR_THREADS_NUM=1), and
# tests/tsan.supp names only third-party libraries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
export QT_QPA_PLATFORM=offscreen
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$(nproc)"
export LUCIDA_FIXTURES="$root/build/fixtures" LUCIDA_REFERENCE_DIR="$root/build/reference"
export LUCIDA_TORCH_THREADS=1 OPENCV_FOR_THREADS_NUM=1
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 die_after_fork=0 suppressions=$root/tests/tsan.supp"
status=0
run() {
    local test=$1
    shift
    echo "== tsan: $test $*"
    (cd build-tsan && timeout 600 "tests/core/$test" "$@") || { echo "FAIL (tsan): $test"; status=1; }
}
run tile_cache_test
run tile_grid_test
run patch_store_test readersWhileWriting lockHasOneWriter twoWritersOneStore
# The analysis worker: decoders and the inference loop, resume, view scope with cancelled
# requests and a moving view, two writers on one folder.
run slide_analysis_test reuseAndResume viewScopeCancelsStaleRequests followsTheView \
    concurrentWritersShareOneStore
# The viewer's analysis thread: newest request wins, cancel, idle sleep, destruction.
run inference_worker_test
exit $status
