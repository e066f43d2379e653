#!/usr/bin/env bash
# lucida-cli explain end to end: outputs written, consistent with each other and with the model's
# logits; bad inputs and models give the documented exit codes and name the file.
set -euo pipefail
cli=${1:?usage: explain_cli_test.sh LUCIDA_CLI REFERENCE_DIR FIXTURES_DIR}
ref=${2:?}
fix=${3:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$cli" explain --model "$ref/resnet18.traced.pt" --method gradcam --out "$out/a" \
    "$fix/raster/ihc.png" "$fix/raster/ihc.jpg" "$fix/dicom/MR_small.dcm" 2>"$out/err" || fail "explain exited $?"
grep -q "images/s" "$out/err" || fail "no progress on stderr"
for n in ihc.png ihc.jpg MR_small.dcm; do
    for f in "$n.overlay.png" "$n.cam.tiff" "$n.json"; do [[ -s "$out/a/$f" ]] || fail "missing $f"; done
done
# Consistency, read back with independent decoders (Pillow, numpy).
/usr/bin/python3 - "$out/a" "$fix" <<'PY' || fail "outputs inconsistent"
import json, sys
import numpy as np
from PIL import Image
d, fix = sys.argv[1], sys.argv[2]
for name, size in [("ihc.png", (512, 512)), ("MR_small.dcm", (64, 64))]:
    j = json.load(open(f"{d}/{name}.json"))
    logits = np.array(j["logits"], dtype=np.float64)
    p = np.exp(logits - logits.max()); p /= p.sum()
    assert np.allclose(p, j["probabilities"], atol=1e-5), (p, j["probabilities"])
    assert j["explained_class"] == j["predicted_class"] == int(np.argmax(p)), j
    assert j["method"] == "gradcam" and j["layer"] == "layer4" and j["map_size"] == [7, 7], j
    cam = np.array(Image.open(f"{d}/{name}.cam.tiff"), dtype=np.float32)
    assert cam.shape == (7, 7) and cam.min() >= 0, cam.shape
    assert abs(cam.max() - j["scale"]["high"]) < 1e-6 and abs(cam.min() - j["scale"]["low"]) < 1e-6, j["scale"]
    overlay = Image.open(f"{d}/{name}.overlay.png")
    assert overlay.size == size, overlay.size
print("explain outputs consistent")
PY

# Shared normalisation: one scale for all images.
"$cli" explain --model "$ref/resnet18.traced.pt" --norm shared --out "$out/b" "$fix/raster/ihc.png" \
    "$fix/raster/ihc.jpg" 2>/dev/null || fail "shared explain exited $?"
/usr/bin/python3 -c "
import json,sys; a=json.load(open('$out/b/ihc.png.json'))['scale']; b=json.load(open('$out/b/ihc.jpg.json'))['scale']
sys.exit(0 if a == b else 1)" || fail "shared scale differs between images"

# A bad image among good ones: exit 1, the others still written, the bad one named.
set +e
"$cli" explain --model "$ref/resnet18.traced.pt" --out "$out/c" "$fix/bad/truncated.png" "$fix/raster/ihc.png" 2>"$out/err"
code=$?
set -e
[[ $code == 1 ]] || fail "bad image: exit $code, expected 1"
grep -q "truncated.png" "$out/err" || fail "bad image not named"
[[ -s "$out/c/ihc.png.json" ]] || fail "good image not written next to a bad one"

# A file that is not a model: exit 3, named.
set +e
"$cli" explain --model "$fix/raster/ihc.png" --out "$out/d" "$fix/raster/ihc.png" 2>"$out/err"
code=$?
set -e
[[ $code == 3 ]] || fail "not a model: exit $code, expected 3"
grep -q "ihc.png: not a model" "$out/err" || fail "not-a-model message: $(cat "$out/err")"

# Unknown method: exit 2.
set +e
"$cli" explain --model "$ref/resnet18.traced.pt" --method nosuch --out "$out/e" "$fix/raster/ihc.png" 2>/dev/null
code=$?
set -e
[[ $code == 2 ]] || fail "unknown method: exit $code, expected 2"
# --batch auto (the default) with several images: the choice on stderr; --batch 1 gives the same
# maps. --batch 0 and --precision fp16 (on this CPU-only LibTorch) are refused with exit 2.
"$cli" explain --model "$ref/resnet18.traced.pt" --out "$out/f" "$fix/raster/ihc.png" \
    "$fix/raster/ihc.jpg" 2>"$out/err" || fail "auto batch exited $?"
grep -q "batch [0-9]* (auto: .* per image)" "$out/err" || fail "no auto batch note: $(cat "$out/err")"
"$cli" explain --model "$ref/resnet18.traced.pt" --batch 1 --out "$out/g" "$fix/raster/ihc.png" \
    "$fix/raster/ihc.jpg" 2>/dev/null || fail "--batch 1 exited $?"
/usr/bin/python3 - "$out/f" "$out/g" <<'PY' || fail "maps differ between --batch auto and 1"
import sys
import numpy as np
from PIL import Image
for n in ["ihc.png", "ihc.jpg"]:
    a, b = (np.array(Image.open(f"{d}/{n}.cam.tiff"), dtype=np.float32) for d in sys.argv[1:3])
    assert np.abs(a - b).max() <= 1e-5 * max(1.0, np.abs(b).max()), (n, np.abs(a - b).max())
PY
set +e
"$cli" explain --model "$ref/resnet18.traced.pt" --batch 0 --out "$out/h" "$fix/raster/ihc.png" 2>"$out/err"
code=$?
set -e
[[ $code == 2 ]] || fail "--batch 0: exit $code, expected 2"
grep -q -- "--batch must be auto or a positive number" "$out/err" || fail "--batch 0 message: $(cat "$out/err")"
set +e
"$cli" explain --model "$ref/resnet18.traced.pt" --precision fp16 --out "$out/h" "$fix/raster/ihc.png" 2>"$out/err"
code=$?
set -e
[[ $code == 2 ]] || fail "--precision fp16 on the CPU: exit $code, expected 2"
grep -q "fp16 needs a CUDA GPU" "$out/err" || fail "fp16 message: $(cat "$out/err")"
"$cli" explain --model "$ref/smallcnn.traced.pt" --precision bf16 --out "$out/i" "$fix/raster/ihc.png" \
    2>/dev/null || fail "--precision bf16 exited $?"
/usr/bin/python3 -c "
import json,sys; j=json.load(open('$out/i/ihc.png.json'))
sys.exit(0 if j['precision'] == 'bf16' and abs(sum(j['probabilities']) - 1) < 1e-5 else 1)" \
    || fail "bf16 JSON: $(cat "$out/i/ihc.png.json")"
echo "explain_cli_test: all checks passed"
