#!/usr/bin/env bash
# `lucida-cli annotations convert|stats` and `analyse --annotations`: QuPath GeoJSON <-> ASAP XML
# keep geometry and classes; areas per class equal the shoelace sums computed in Python; bad files
# exit 1 naming the file; the CAM's energy inside annotations equals what Python computes from
# the written cam.tiff.
# Usage: annotations_cli_test.sh LUCIDA_CLI SOURCE_DIR [REFERENCE_DIR FIXTURES_DIR]
set -euo pipefail
cli=${1:?}; src=${2:?}; ref=${3:-}; fix=${4:-}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; cat "$out"/err 2>/dev/null | tr '\r' '\n' | tail -20; exit 1; }
/usr/bin/python3 "$src/tests/reference/make_annotation_reference.py" "$out"

"$cli" annotations convert "$out/qupath.geojson" "$out/a.xml" 2>"$out/err" || fail "convert to XML"
grep -q "hole(s) dropped: ASAP XML has no holes" "$out/err" || fail "holes loss not said"
"$cli" annotations convert "$out/a.xml" "$out/b.geojson" 2>"$out/err" || fail "convert back"
"$cli" annotations stats "$out/qupath.geojson" --mpp 0.5 >"$out/stats.csv" 2>"$out/err" || fail "stats"
"$cli" annotations stats "$out/qupath.geojson" --objects >"$out/objects.csv" || fail "stats --objects"
/usr/bin/python3 - "$out" <<'PY' || fail "inconsistent"
import csv, json, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
src = json.load(open(f"{out}/qupath.geojson"))["features"]
exp = json.load(open(f"{out}/expected.json"))
# stats: per class, count and area in µm² (0.5 µm/px -> x 0.25)
want = {}
for f, area in zip(src, exp["areas"]):
    c = f["properties"].get("classification", {}).get("name", "(none)")
    n, a = want.get(c, (0, 0.0))
    want[c] = (n + 1, a + area * 0.25)
rows = list(csv.DictReader(open(f"{out}/stats.csv")))
got = {r["class"]: (int(r["objects"]), float(r["area_µm2"])) for r in rows}
assert set(got) == set(want), (got, want)
for c in want:
    assert got[c][0] == want[c][0], (c, got[c], want[c])
    assert abs(got[c][1] - want[c][1]) <= 1e-6 * max(1, want[c][1]), (c, got[c], want[c])
objs = list(csv.DictReader(open(f"{out}/objects.csv")))
assert [o["id"] for o in objs] == exp["ids"]
# XML: one Annotation per polygon part, outer rings equal to the source's (closing point dropped)
root = ET.parse(f"{out}/a.xml").getroot()
anns = root.find("Annotations").findall("Annotation")
first = anns[0]
assert first.get("PartOfGroup") == "Tumor" and first.get("Type") == "Polygon"
pts = sorted(first.find("Coordinates"), key=lambda c: int(c.get("Order")))
ring = src[0]["geometry"]["coordinates"][0][:-1]
assert [[float(c.get("X")), float(c.get("Y"))] for c in pts] == ring
groups = {g.get("Name"): g.get("Color") for g in root.find("AnnotationGroups")}
assert groups["Tumor"] == "#C80000" and groups["Stroma"] == "#96C896", groups
back = json.load(open(f"{out}/b.geojson"))["features"]
assert back[0]["geometry"]["coordinates"][0][:-1] == ring
assert len(back) == len(anns)
PY
# Bad files: exit 1, the file named.
printf '{"type": "FeatureCollection", "features": [' >"$out/bad.geojson"
set +e
"$cli" annotations stats "$out/bad.geojson" >/dev/null 2>"$out/err"; rc=$?
set -e
[[ $rc == 1 ]] || fail "bad file exit $rc"
grep -q "$out/bad.geojson: not valid JSON" "$out/err" || fail "bad file message"

[[ -n "$ref" && -f "$ref/smallcnn.traced.pt" ]] || { echo "no reference model: analyse part skipped"; exit 0; }
source "$(dirname "$0")/small_cnn_model.sh"
small_cnn_model "$ref" "$out"
slide="$fix/slides/aperio.svs"
# The left half of the slide as one annotation of class Tumour, the right half as Stroma.
/usr/bin/python3 - "$out" "$slide" <<'PY'
import json, sys, subprocess
out, slide = sys.argv[1], sys.argv[2]
w, h = 3000, 1990  # aperio.svs is 3000 x 2000; no cell centre lies on an edge
def rect(x0, x1, cls):
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[x0, 0], [x1, 0], [x1, h], [x0, h], [x0, 0]]]},
            "properties": {"objectType": "annotation", "classification": {"name": cls, "color": [200, 0, 0]}}}
json.dump({"type": "FeatureCollection", "features": [rect(0, w / 2, "Tumour"), rect(w / 2, w, "Stroma")]},
          open(f"{out}/halves.geojson", "w"))
PY
"$cli" analyse "$slide" --model "$out/cnn.pt" --out "$out/an" --annotations "$out/halves.geojson" \
    --annotation-class Tumour 2>"$out/err" || fail "analyse --annotations"
grep -q "% of the CAM's energy" "$out/err" || fail "no annotation summary"
/usr/bin/python3 - "$out" <<'PY' || fail "energy share differs from Python's"
import json, sys
import numpy as np
from PIL import Image
out = sys.argv[1]
j = json.load(open(f"{out}/an/aperio.svs.annotations.json"))
im = Image.open(f"{out}/an/aperio.svs.cam.tiff")
cam = np.array(im, dtype=np.float64)
meta = json.load(open(f"{out}/an/aperio.svs.analysis.json"))
cell = meta["cam_map"]["cell_size"]
valid = np.isfinite(cam)
v = np.where(valid & (cam > 0), cam, 0)
xs = (np.arange(cam.shape[1]) + 0.5) * cell
ys = (np.arange(cam.shape[0]) + 0.5) * cell
inside = v[np.ix_(ys < 1990, xs < 1500)].sum() / v.sum()
print("energy inside", j["energy_inside"], "python", inside)
assert abs(j["energy_inside"] - inside) < 1e-6, (j["energy_inside"], inside)
assert j["areas"] == 1 and j["class"] == "Tumour"
print("energy inside", j["energy_inside"], "python", inside)
PY
echo "annotations CLI: ok"
