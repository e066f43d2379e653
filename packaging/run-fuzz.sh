#!/usr/bin/env bash
# Builds the "fuzz" preset (clang, ASan + UBSan, core only) and runs each libFuzzer target for a
# bounded time (FUZZ_SECONDS, default 45 s each) from seed corpora: the test fixtures (FIXTURES,
# default build/fixtures: slides, raster images, DICOM, the broken-input corpus), small torch.save
# files and sidecars (tests/fuzz/make_seeds.py) and the regression inputs in tests/fuzz/regressions.
# Fails on any crash, leak, timeout or allocation over the limits; prints executions and exec/s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${FUZZ_SECONDS:-45}
fixtures=${FIXTURES:-$root/build/fixtures}
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
cmake --preset fuzz >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target lucida_fuzzers

work=$root/build-fuzz/fuzz-run
rm -rf "$work/seeds" "$work/artifacts"
mkdir -p "$work/seeds" "$work/artifacts" "$work/corpus"
/usr/bin/python3 tests/fuzz/make_seeds.py "$work/seeds"
LUCIDA_FUZZ_SEEDS=$work/seeds/store build-fuzz/tests/fuzz/fuzz_patch_store

# Seeds: files of the given extensions under the fixtures, at most 256 KiB each.
seed() {  # seed DIR EXT...
    local dir=$work/seeds/$1; shift
    mkdir -p "$dir"
    [[ -d "$fixtures" ]] || return 0
    for ext in "$@"; do
        find "$fixtures" -type f -iname "*.$ext" -size -256k -exec cp -t "$dir" {} + 2>/dev/null || true
    done
}
seed slide svs tif tiff ndpi
seed raster png jpg jpeg tif tiff bmp
seed dicom dcm
cp -r tests/fuzz/seeds/annotations "$work/seeds/"
cp -r tests/fuzz/seeds/bookmarks "$work/seeds/"
[[ -d "$fixtures/bad" ]] && cp "$fixtures"/bad/* "$work/seeds/raster/" 2>/dev/null || true

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=0
printf '%-20s %12s %10s %s\n' target executions exec/s result
for target in fuzz_model_file fuzz_sidecar fuzz_image_slide fuzz_image_raster fuzz_image_dicom \
    fuzz_patch_store fuzz_annotations fuzz_bookmarks; do
    case $target in
        fuzz_model_file) seeds=model ;;
        fuzz_sidecar) seeds=sidecar ;;
        fuzz_patch_store) seeds=store ;;
        fuzz_annotations) seeds=annotations ;;
        fuzz_bookmarks) seeds=bookmarks ;;
        fuzz_image_*) seeds=${target#fuzz_image_} ;;
    esac
    corpus=$work/corpus/$target
    mkdir -p "$corpus" "$work/artifacts/$target"
    dirs=("$corpus" "$work/seeds/$seeds")
    [[ -d tests/fuzz/regressions/$target ]] && dirs+=("tests/fuzz/regressions/$target")
    log=$work/$target.log
    status=ok
    build-fuzz/tests/fuzz/$target -max_total_time="$seconds" -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -timeout=20 -max_len=262144 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$target/" "${dirs[@]}" >"$log" 2>&1 || status=FAILED
    runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    rate=$(grep -ao 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    printf '%-20s %12s %10s %s\n' "$target" "$runs" "$rate" "$status"
    if [[ $status != ok ]]; then
        failed=1
        grep -aE 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20 || true
    fi
done
exit $failed
