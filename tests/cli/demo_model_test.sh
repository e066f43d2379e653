#!/usr/bin/env bash
# The bundled demo model (resources/demo/model) on held-out demo data made afresh by
# `lucida-cli make-demo` (the test split is never trained on): accuracy >= 0.95 and Grad-CAM
# pointing game >= 0.90 on the test patches; and on a demo slide, the most suspicious regions of
# `lucida-cli analyse` lie inside the lesions.
# Usage: demo_model_test.sh LUCIDA_CLI SOURCE_DIR WORK_DIR
set -euo pipefail
cli=${1:?}; src=${2:?}; work=${3:?}
model="$src/resources/demo/model/demo-smallcnn.pth"
rm -rf "$work" && mkdir -p "$work"
"$cli" make-demo --out "$work/demo" --train-per-class 0 --val-per-class 0 --test-per-class 100 \
    --slide-width 8192 --slide-height 6144 2>/dev/null
"$cli" evaluate --model "$model" "$work/demo/patches/test" \
    --masks "$work/demo/patches/masks/test" --json "$work/evaluate.json" 2>/dev/null
"$cli" analyse "$work/demo/slide/demo-slide.tiff" --model "$model" --out "$work/analysis" 2>/dev/null
/usr/bin/python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
e = json.load(open(f"{work}/evaluate.json"))
print(f"accuracy {e['accuracy']:.3f}, pointing game {e['pointing_game']['share']:.3f} "
      f"({e['pointing_game']['hits']}/{e['pointing_game']['images']})")
assert e["images"] == 200, e["images"]
assert e["accuracy"] >= 0.95, e["accuracy"]
assert e["pointing_game"]["images"] == 100
assert e["pointing_game"]["share"] >= 0.90, e["pointing_game"]

a = json.load(open(f"{work}/analysis/demo-slide.tiff.analysis.json"))
lesions = json.load(open(f"{work}/demo/slide/demo-slide.json"))["lesions"]
assert a["complete"], "analysis incomplete"
regions = a["summary"]["top_regions"][: len(lesions)]
def inside(r):
    cx, cy = r["x"] + r["width"] / 2, r["y"] + r["height"] / 2
    return any(l["x"] <= cx <= l["x"] + l["width"] and l["y"] <= cy <= l["y"] + l["height"]
               for l in lesions)
hits = sum(inside(r) for r in regions)
print(f"slide: {a['analysed_patches']} tissue patches, {len(lesions)} lesions, "
      f"top {len(regions)} regions inside lesions: {hits}, top-k mean {a['summary']['top_k_mean']:.3f}")
assert hits == len(regions), [(r, inside(r)) for r in regions]
PY
