#!/usr/bin/env bash
# LibTorch is loaded when a model is (core/engine/ModelEngine.h): `lucida-cli info` on a 64 x 64
# DICOM never maps LibTorch or the plugin (the dynamic loader's own log, LD_DEBUG=files) and reads
# the image as its reference says; `analyse` loads the plugin and LibTorch and completes; a
# LUCIDA_TORCH_PLUGIN that is missing or not a plugin fails with exit 3, naming the path and why.
# Usage: torch_plugin_test.sh LUCIDA_CLI REFERENCE_DIR FIXTURES_DIR
set -euo pipefail
cli=${1:?}; ref=${2:?}; fix=${3:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; tr '\r' '\n' <"$out/err" 2>/dev/null | grep -v '^ *[0-9]*:' | tail -20; exit 1; }
loaded() { grep -E "file=[^ ]*$1" "$out/err" >/dev/null; }

dicom="$fix/dicom/MR_small.dcm"
LD_DEBUG=files "$cli" info "$dicom" --json >"$out/info.json" 2>"$out/err" || fail "info exited $?"
grep -q "file=libQt\|file=libopenslide\|file=libc.so" "$out/err" || fail "no loader log (LD_DEBUG)"
loaded libtorch && fail "info mapped LibTorch"
loaded libc10 && fail "info mapped c10"
loaded liblucida-torch && fail "info loaded the plugin"
/usr/bin/python3 - "$out/info.json" "$dicom.ref.json" <<'PY' || fail "info differs from the reference"
import json, sys
info, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
text = json.dumps(info)
assert '"width": %d' % want["cols"] in text and '"height": %d' % want["rows"] in text, text[:400]
PY

source "$(dirname "$0")/small_cnn_model.sh"
small_cnn_model "$ref" "$out"
LD_DEBUG=files "$cli" analyse "$fix/slides/aperio.svs" --model "$out/cnn.pt" --out "$out/a" \
    --results "$out/r" 2>"$out/err" || fail "analyse exited $?"
loaded liblucida-torch.so || fail "analyse did not load the plugin"
loaded libtorch || fail "analyse did not map LibTorch"
/usr/bin/python3 -c "import json,sys; a=json.load(open(sys.argv[1])); assert a['complete'], a" \
    "$out/a/aperio.svs.analysis.json" || fail "analysis incomplete"

set +e
LUCIDA_TORCH_PLUGIN="$out/none.so" "$cli" analyse "$fix/slides/aperio.svs" --model "$out/cnn.pt" \
    --out "$out/b" 2>"$out/err"
code=$?
set -e
[ $code -eq 3 ] || fail "missing plugin: exit $code, not 3"
grep -q "$out/none.so.*not found" "$out/err" || fail "missing plugin not named"
set +e
LUCIDA_TORCH_PLUGIN="$(ldconfig -p | grep -m1 -o '/[^ ]*libz\.so\.1$')" "$cli" analyse \
    "$fix/slides/aperio.svs" --model "$out/cnn.pt" --out "$out/b" 2>"$out/err"
code=$?
set -e
[ $code -eq 3 ] || fail "foreign library: exit $code, not 3"
grep -q "libz.so.1: not a Lucida LibTorch plugin" "$out/err" || fail "foreign library not named"
echo "PASS: info without LibTorch, analyse with the plugin, clear errors without it"
