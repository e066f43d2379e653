#!/usr/bin/env bash
# lucida-cli report: a demo slide's report has its sections (pdftotext), the training metrics
# from the report beside the model, the annotations per class, and one crop with and one without
# heat per top region (pdfimages); a DICOM report carries no patient name or ID (as pydicom reads
# them) unless --include-patient-details, neither in its text nor in its bytes or metadata.
set -euo pipefail
cli=${1:?usage: report_cli_test.sh LUCIDA_CLI SOURCE_DIR REFERENCE_DIR FIXTURES_DIR}
src=${2:?}
ref=${3:?}
fix=${4:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# shellcheck source=small_cnn_model.sh
source "$(dirname "$0")/small_cnn_model.sh"

# --- the demo slide: small, analysed with the bundled demo model ---
"$cli" make-demo --out "$out/demo" --train-per-class 0 --val-per-class 0 --test-per-class 0 \
    --slide-width 3072 --slide-height 2048 2>"$out/err" || { cat "$out/err"; fail "make-demo"; }
slide="$out/demo/slide/demo-slide.tiff"
model="$src/resources/demo/model/demo-smallcnn.pth"
"$cli" analyse "$slide" --model "$model" --out "$out/a" 2>"$out/err" || { cat "$out/err"; fail "analyse"; }
cat >"$out/notes.geojson" <<'JSON'
{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"classification": {"name": "Tumor"}},
  "geometry": {"type": "Polygon", "coordinates": [[[100,100],[300,100],[300,300],[100,300],[100,100]]]}},
 {"type": "Feature", "properties": {"classification": {"name": "Tumor"}},
  "geometry": {"type": "Polygon", "coordinates": [[[1000,1000],[1100,1000],[1100,1100],[1000,1100],[1000,1000]]]}},
 {"type": "Feature", "properties": {"classification": {"name": "Stroma"}},
  "geometry": {"type": "Polygon", "coordinates": [[[500,500],[900,500],[900,700],[500,700],[500,500]]]}}]}
JSON
"$cli" report "$slide" --model "$model" --results "$out/a" --annotations "$out/notes.geojson" \
    --out "$out/demo.pdf" 2>"$out/err" || { cat "$out/err"; fail "report exited $?"; }
[[ -s "$out/demo.pdf" ]] || fail "no PDF"
pdftotext -layout "$out/demo.pdf" "$out/raw.txt"
# Ligatures (DejaVu's "ﬀ") come out as one character: NFKC gives the letters, as readers do.
/usr/bin/python3 -c 'import sys, unicodedata; print(unicodedata.normalize("NFKC", open(sys.argv[1]).read()))' \
    "$out/raw.txt" >"$out/demo.txt"
for section in "Lucida case report" "demo-slide.tiff" "Slide and heat" "Slide score" "Top regions" \
    "Annotations per class" "Model card" "Training metrics" "Method and settings" "Software" \
    "demo-smallcnn.pth" "gradcam" "Validation accuracy" "Report date"; do
    grep -qF "$section" "$out/demo.txt" || fail "report text lacks '$section'"
done
# Regions, crops and the annotation areas (0.5 µm/px: 200x200 + 100x100 px = 12 500 µm², and
# 400x200 px = 20 000 µm²) against independent counts.
/usr/bin/python3 - "$out" "$src" <<'PY' || fail "report content differs from the analysis"
import json, re, subprocess, sys
d, src = sys.argv[1], sys.argv[2]
text = open(f"{d}/raw.txt").read()  # µ and ² as written (NFKC would change them)
summary = json.load(open(f"{d}/a/demo-slide.tiff.analysis.json"))["summary"]
regions = min(len(summary["top_regions"]), 6)
assert regions >= 1, "the demo slide should have a region above 0.5"
assert re.search(rf"Top regions \({regions}\)", text), "region count"
for i in range(1, regions + 1):
    assert f"Region {i} — peak probability" in text, i
listing = subprocess.run(["pdfimages", "-list", f"{d}/demo.pdf"], capture_output=True,
                         text=True, check=True).stdout.splitlines()[2:]
images = [l.split() for l in listing if l.strip()]
crops = [i for i in images if int(i[3]) == 640 and int(i[4]) == 640]
assert len(crops) == 2 * regions, (len(crops), regions)
assert any(int(i[3]) == 1600 for i in images), "no slide thumbnail"
tumour = re.search(r"Tumor\s+2 objects, area ([\d ,.]+) µm²", text)
stroma = re.search(r"Stroma\s+1 object, area ([\d ,.]+) µm²", text)
assert tumour and stroma, "annotation rows"
num = lambda m: float(m.group(1).replace(" ", "").replace(",", ""))
assert abs(num(tumour) - 12500) < 1 and abs(num(stroma) - 20000) < 1, (tumour.group(0), stroma.group(0))
version = open(f"{src}/CMakeLists.txt").read()
v = re.search(r"project\(\w+ VERSION ([\d.]+)", version).group(1)
assert f"Lucida {v}" in text, v
print("demo report:", regions, "regions,", len(crops), "crops")
PY

# --- DICOM: no patient details unless asked ---
small_cnn_model "$ref" "$out"
dcm="$fix/dicom/MR_small.dcm"
"$cli" analyse "$dcm" --model "$out/cnn.pt" --fit whole --out "$out/d" 2>"$out/err" || { cat "$out/err"; fail "analyse dicom"; }
"$cli" report "$dcm" --model "$out/cnn.pt" --fit whole --results "$out/d" --out "$out/plain.pdf" 2>"$out/err" \
    || { cat "$out/err"; fail "dicom report"; }
"$cli" report "$dcm" --model "$out/cnn.pt" --fit whole --results "$out/d" --include-patient-details \
    --out "$out/patient.pdf" 2>"$out/err" || { cat "$out/err"; fail "dicom report with patient"; }
/usr/bin/python3 - "$out" "$dcm" <<'PY' || fail "patient details"
import subprocess, sys
import pydicom
d, dcm = sys.argv[1], sys.argv[2]
ds = pydicom.dcmread(dcm)
secrets = [str(ds.PatientName), str(ds.PatientID)] + [p for p in str(ds.PatientName).split("^") if len(p) > 2]
assert all(secrets), secrets
text = lambda f: subprocess.run(["pdftotext", f, "-"], capture_output=True, text=True, check=True).stdout
meta = lambda f: subprocess.run(["pdfinfo", f], capture_output=True, text=True, check=True).stdout
plain, shown = text(f"{d}/plain.pdf"), text(f"{d}/patient.pdf")
raw = open(f"{d}/plain.pdf", "rb").read()
assert "MR_small.dcm" in plain and "Model card" in plain, "the plain report is a report"
for s in secrets:
    assert s not in plain, f"plain report text carries {s!r}"
    assert s.encode() not in raw, f"plain report bytes carry {s!r}"
    assert s not in meta(f"{d}/plain.pdf") and s not in meta(f"{d}/patient.pdf"), f"metadata carries {s!r}"
assert str(ds.PatientID) in shown and "CompressedSamples" in shown, "opted in: patient details missing"
assert "Patient ID" in shown and "Patient ID" not in plain
print("dicom report: patient details only when asked")
PY

# No stored analysis: a clear error, exit 1, no PDF.
set +e
"$cli" report "$slide" --model "$model" --results "$out/empty" --out "$out/none.pdf" 2>"$out/err"
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "no stored analysis: exit $rc, expected 1"
grep -q "run lucida-cli analyse first" "$out/err" || fail "no hint to analyse first"
[[ ! -e "$out/none.pdf" ]] || fail "a PDF without an analysis"
echo "report_cli_test passed"
