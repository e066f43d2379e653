#!/usr/bin/env bash
# The bundled demo model (resources/demo/model) on held-out demo data made afresh by
# `lucida-cli make-demo` (the test split is never trained on): accuracy >= 0.95 and Grad-CAM
# pointing game >= 0.90 on the test patches; and on a demo slide, the top regions of
# `lucida-cli analyse` (connected areas of high probability) are the lesions, one region each.
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
regions = a["summary"]["top_regions"]
def overlaps(r, l):
    return (r["x"] < l["x"] + l["width"] and l["x"] < r["x"] + r["width"] and
            r["y"] < l["y"] + l["height"] and l["y"] < r["y"] + r["height"])
def peak_inside(r):
    px, py = r["peak"]["x"], r["peak"]["y"]
    return any(l["x"] <= px <= l["x"] + l["width"] and l["y"] <= py <= l["y"] + l["height"]
               for l in lesions)
print(f"slide: {a['analysed_patches']} tissue patches, {len(lesions)} lesions, "
      f"{len(regions)} top regions, top-k mean {a['summary']['top_k_mean']:.3f}")
for r in regions:
    print(f"  p {r['probability']:.3f} area {r['area_um2']:.0f} um2 ({r['patches']} patches) "
          f"bounds {r['x']:.0f},{r['y']:.0f} {r['width']:.0f}x{r['height']:.0f}")
# Distinct regions, one per lesion: as many as lesions, each on exactly one lesion (its peak
# inside it), each lesion under exactly one region.
assert len(regions) == len(lesions), regions
for r in regions:
    assert sum(overlaps(r, l) for l in lesions) == 1, r
    assert peak_inside(r), r
    assert r["x"] <= r["peak"]["x"] <= r["x"] + r["width"], r
    assert r["area_px2"] == r["patches"] * a["grid"]["stride"] ** 2, r
    assert abs(r["area_um2"] - r["area_px2"] * 0.25) < 1e-6 * r["area_px2"], r  # 0.5 um/px
for l in lesions:
    assert sum(overlaps(r, l) for r in regions) == 1, l
peaks = [(r["probability"], r["area_px2"]) for r in regions]
assert peaks == sorted(peaks, reverse=True), peaks  # highest peak first, then the largest
PY
