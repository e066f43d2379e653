#!/usr/bin/env bash
# lucida-cli figure, read back by other tools: a 300-DPI PNG's pHYs chunk (11 811 px/m, read byte
# by byte), an SVG that parses (Python's XML parser) with vector paths for the annotation and the
# scale bar, a PDF whose text (pdftotext) holds the caption, model, method and class; a comparison
# of methods whose panel labels are PDF text; bad arguments exit non-zero naming the problem.
set -euo pipefail
cli=${1:?usage: figure_cli_test.sh LUCIDA_CLI SOURCE_DIR}
src=${2:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export QT_QPA_PLATFORM=offscreen

"$cli" make-demo --out "$out/demo" --train-per-class 0 --val-per-class 0 --test-per-class 0 \
    --slide-width 2048 --slide-height 1536 2>"$out/err" || { cat "$out/err"; fail "make-demo"; }
slide="$out/demo/slide/demo-slide.tiff"
model="$src/resources/demo/model/demo-smallcnn.pth"
"$cli" analyse "$slide" --model "$model" --out "$out/a" 2>"$out/err" || { cat "$out/err"; fail "analyse"; }
json="$out/a/demo-slide.tiff.analysis.json"
cat >"$out/notes.geojson" <<'JSON'
{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"name": "Lesion A", "classification": {"name": "Tumor"}},
  "geometry": {"type": "Polygon", "coordinates": [[[600,500],[1000,500],[1000,900],[600,900],[600,500]]]}}]}
JSON

# PNG at 300 DPI: pHYs = 11811 px/m in both directions, unit metre; 80 mm = 945 px wide.
"$cli" figure "$slide" --analysis "$json" --width-mm 80 --dpi 300 --out "$out/f.png" 2>"$out/err" \
    || { cat "$out/err"; fail "png figure"; }
/usr/bin/python3 - "$out/f.png" <<'PY' || fail "PNG pHYs"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
at, phys, width = 8, None, None
while at < len(data):
    length, kind = struct.unpack(">I4s", data[at:at + 8])
    body = data[at + 8:at + 8 + length]
    if kind == b"IHDR": width = struct.unpack(">I", body[:4])[0]
    if kind == b"pHYs": phys = struct.unpack(">IIB", body)
    at += 12 + length
assert phys == (11811, 11811, 1), phys
assert width == 945, width
print("png: pHYs", phys, "width", width)
PY

# SVG: parses; paths for the annotation and the scale bar; the annotation's label is text.
"$cli" figure "$slide" --analysis "$json" --annotations "$out/notes.geojson" --width-px 900 \
    --out "$out/f.svg" 2>"$out/err" || { cat "$out/err"; fail "svg figure"; }
/usr/bin/python3 - "$out/f.svg" <<'PY' || fail "SVG content"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
paths = root.iter(ns + "path")
count = sum(1 for _ in paths)
text = " ".join(t.text or "" for t in root.iter(ns + "text"))
images = sum(1 for _ in root.iter(ns + "image"))
assert count >= 3, f"only {count} paths"
assert "Lesion A" in text and "µm" in text, text
assert images >= 1, "no embedded slide raster"
print("svg:", count, "paths,", images, "images")
PY

# Measurements beside the labels, only when asked: the polygon's area (shoelace × 0.5² µm/px),
# formatted as AnnotationMeasure does (no decimals from 100 up, mm² from 10⁶ µm²).
"$cli" figure "$slide" --annotations "$out/notes.geojson" --measurements --width-px 900 \
    --out "$out/m.svg" 2>"$out/err" || { cat "$out/err"; fail "svg with measurements"; }
/usr/bin/python3 - "$out/m.svg" "$out/f.svg" "$out/notes.geojson" <<'PY' || fail "measurements"
import json, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
text = lambda f: " ".join(t.text or "" for t in ET.parse(f).getroot().iter(ns + "text"))
ring = json.load(open(sys.argv[3]))["features"][0]["geometry"]["coordinates"][0]
area = abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))) / 2 * 0.5 * 0.5
value = f"{area / 1e6:.2f} mm²" if area >= 1e6 else (f"{area:.0f} µm²" if area >= 100 else f"{area:.2f} µm²")
assert f"Lesion A · {value}" in text(sys.argv[1]), (value, text(sys.argv[1]))
assert "µm²" not in text(sys.argv[2]), "measurements without --measurements"
print("measurements:", value)
PY

# PDF: the caption's model, method and class are real text.
"$cli" figure "$slide" --analysis "$json" --width-mm 120 --out "$out/f.pdf" 2>"$out/err" \
    || { cat "$out/err"; fail "pdf figure"; }
pdftotext "$out/f.pdf" "$out/raw.txt"
# Ligatures (DejaVu's "ﬀ") come out as one character: NFKC gives the letters, as readers do.
/usr/bin/python3 -c 'import sys, unicodedata; print(unicodedata.normalize("NFKC", open(sys.argv[1]).read()))' \
    "$out/raw.txt" >"$out/f.txt"
for expected in "demo-slide.tiff" "demo-smallcnn.pth" "gradcam" "tumour" "slide-wide scale"; do
    grep -qF "$expected" "$out/f.txt" || fail "PDF text lacks '$expected': $(cat "$out/f.txt")"
done

# A comparison of methods on one region: three labelled panels.
"$cli" figure "$slide" --model "$model" --compare-methods gradcam,gradcampp,eigencam \
    --region 1000,600,384,256 --no-tissue --results "$out/a" --width-px 1200 --out "$out/c.pdf" \
    2>"$out/err" || { cat "$out/err"; fail "comparison figure"; }
pdftotext "$out/c.pdf" "$out/c.txt"
for expected in "Grad-CAM" "Grad-CAM++" "Eigen-CAM" "class tumour"; do
    grep -qF "$expected" "$out/c.txt" || fail "comparison PDF lacks '$expected': $(cat "$out/c.txt")"
done

# Bad arguments: non-zero exit, a message naming the problem, no file.
bad() {  # bad 'expected message' args...
    local expected=$1; shift
    set +e
    "$cli" figure "$@" 2>"$out/err" >/dev/null
    local rc=$?
    set -e
    [[ $rc -ne 0 ]] || fail "figure $* exited 0"
    grep -qF -- "$expected" "$out/err" || fail "figure $*: no '$expected' in: $(cat "$out/err")"
}
bad ".png, .tif, .jpg, .svg or .pdf" "$slide" --out "$out/x.gif"
bad "--region must be x,y,width,height" "$slide" --region 1,2,3 --out "$out/x.png"
bad "--dpi" "$slide" --dpi 5 --out "$out/x.png"
bad "--compare needs --analysis" "$slide" --compare --out "$out/x.png"
bad "need --model" "$slide" --compare-methods gradcam,scorecam --out "$out/x.png"
bad "unknown CAM method 'gradcamx'" "$slide" --model "$model" --compare-methods gradcam,gradcamx \
    --out "$out/x.png"
bad "not one of the model's" "$slide" --model "$model" --compare-classes normal,lymph \
    --out "$out/x.png"
bad "2 to 6 methods or classes" "$slide" --model "$model" --compare-methods gradcam --out "$out/x.png"
bad "missing.tiff: no such file" "$out/missing.tiff" --out "$out/x.png"
[[ ! -e "$out/x.png" && ! -e "$out/x.gif" ]] || fail "a bad command wrote a file"
echo "figure_cli_test passed"
