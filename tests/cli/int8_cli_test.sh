#!/usr/bin/env bash
# `analyse --mode dense --precision int8` (issue 16): int8 and fp32 results are kept under
# different keys with "precision" recorded, the int8 probabilities stay within 0.1 of fp32's (median < 0.01) on
# the demo slide with the demo model, and patch mode refuses int8 with a note (stored as fp32);
# on the 8192 × 6144 demo slide the lesions' CAM (outside the calibration tiles) is not clipped:
# int8 calibrates again where a tile's activations reach the ends of their range.
# Usage: int8_cli_test.sh LUCIDA_CLI SOURCE_DIR
set -euo pipefail
cli=${1:?}; src=${2:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; tail -5 "$out"/err* 2>/dev/null; exit 1; }
model="$src/resources/demo/model/demo-smallcnn.pth"
# demo_and_both NAME WIDTH HEIGHT: a demo slide in $out/NAME, analysed densely in fp32 and int8
# into $out/NAME-fp32 and $out/NAME-int8 (results under $out/r).
demo_and_both() {
    "$cli" make-demo --out "$out/$1" --train-per-class 0 --val-per-class 0 --test-per-class 0 \
        --slide-width "$2" --slide-height "$3" >/dev/null 2>&1 || fail "make-demo $1"
    for p in fp32 int8; do
        "$cli" analyse "$out/$1/slide/demo-slide.tiff" --model "$model" --mode dense \
            --precision $p --out "$out/$1-$p" --results "$out/r" 2>"$out/err-$1-$p" >/dev/null ||
            fail "analyse $1 $p"
    done
}
demo_and_both demo 2048 2048
slide="$out/demo/slide/demo-slide.tiff"
"$cli" analyse "$slide" --model "$model" --mode patch --precision int8 --out "$out/patch" \
    --results "$out/r" 2>"$out/err-patch" >/dev/null || fail "analyse patch int8"
grep -q "int8 does not apply" "$out/err-patch" || fail "no note for int8 in patch mode"
# batch passes --precision to every image: it finds analyse's int8 results (nothing inferred).
echo "$slide,1" >"$out/manifest.csv"
"$cli" batch "$out/manifest.csv" --model "$model" --precision int8 --out "$out/batch" \
    --results "$out/r" 2>"$out/err-batch" >/dev/null || fail "batch int8"
/usr/bin/python3 - "$out/batch/cohort.csv" <<'PY' || fail "batch int8 did not reuse analyse's int8 results"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 1 and rows[0]["status"] == "done", rows
assert int(rows[0]["inferred"]) == 0 and int(rows[0]["patches"]) > 10, rows
PY
/usr/bin/python3 - "$out" <<'PY' || fail "int8 results"
import glob, json, sys
import numpy as np
from PIL import Image
out = sys.argv[1]
settings = {json.load(open(p))["precision"]: p for p in glob.glob(f"{out}/r/*/settings.json")
            if json.load(open(p))["mode"] == "dense"}
assert set(settings) == {"fp32", "int8"}, settings
assert settings["fp32"] != settings["int8"]
patch = [json.load(open(p)) for p in glob.glob(f"{out}/r/*/settings.json")
         if json.load(open(p))["mode"] == "patch"]
assert patch and patch[0]["precision"] == "fp32", patch
a = np.array(Image.open(glob.glob(f"{out}/demo-fp32/*.probability.tiff")[0]), dtype=float)
b = np.array(Image.open(glob.glob(f"{out}/demo-int8/*.probability.tiff")[0]), dtype=float)
tissue = np.isfinite(a) & (a > 0)
assert tissue.sum() > 10, tissue.sum()
d = np.abs(a - b)[tissue]
print("int8 vs fp32: patches", tissue.sum(), "median diff", np.median(d), "max diff", d.max())
# Measured 2026-12-02: median 3e-5, max 0.064 (2048² slide); 0.0069 max on the 4096 × 3072 one.
assert np.median(d) < 0.01 and d.max() < 0.1, (np.median(d), d.max())
PY
# The lesions of the 8192 × 6144 demo slide lie outside the tiles int8 calibrates on: without
# headroom above the calibrated range their CAM clipped flat at the top (every lesion cell at the
# maximum: 10th percentile 1.0 against fp32's 0.60; CAM r 0.961). With the headroom alone they
# still read 0.650 / 0.767 / 0.872 against 0.604 / 0.713 / 0.812; the tile whose activations
# reach the top of their range (0.18 % of the values at one layer) now calibrates int8 again:
# 0.605 / 0.714 / 0.812, r 0.99995 (2026-12-02).
demo_and_both big 8192 6144
grep -q "note: int8 calibrated again" "$out/err-big-int8" || fail "no recalibration noted"
/usr/bin/python3 - "$out" <<'PY' || fail "int8 CAM clipped in the lesions"
import glob, sys
import numpy as np
from PIL import Image
out = sys.argv[1]
a = np.array(Image.open(glob.glob(f"{out}/big-fp32/*.cam.tiff")[0]), dtype=float)
b = np.array(Image.open(glob.glob(f"{out}/big-int8/*.cam.tiff")[0]), dtype=float)
mask = Image.open(glob.glob(f"{out}/big/slide/demo-slide-mask.png")[0]).convert("L")
lesion = np.array(mask.resize((a.shape[1], a.shape[0]), Image.NEAREST)) > 0
ok = np.isfinite(a) & np.isfinite(b) & (a > 0)
pa, pb = (np.percentile(x[lesion & ok], [10, 50, 90]) for x in (a, b))
r = np.corrcoef(a[ok], b[ok])[0, 1]
print("lesion CAM percentiles fp32", pa, "int8", pb, "r", r)
assert (lesion & ok).sum() > 1000, (lesion & ok).sum()
assert np.abs(pa - pb).max() < 0.02 and pb[0] < 0.9 and r > 0.999, (pa, pb, r)
PY
echo PASS
