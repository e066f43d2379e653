#!/usr/bin/env bash
# A project's per-image settings in `lucida-cli batch`: slide 1 has its own overlap, method and
# mode, slide 3 its own pixel size and precision (int8), slide 2 none. Each image's stored results
# (key, settings.json, grid) are those of ITS effective settings: slide 1 equals `analyse` run
# directly with the same options, slide 3's patches are planned at the given scale and run in int8
# (slide 2 stays fp32). A re-run computes nothing; changing one image's settings recomputes only
# that image; an excluded image is skipped and reported as such; a bad setting is refused naming
# the project file, the image and the key.
# Usage: batch_image_settings_test.sh LUCIDA_CLI SOURCE_DIR
set -euo pipefail
cli=$(realpath "${1:?}"); src=${2:?}
model="$src/resources/demo/model/demo-smallcnn.pth"
work=$(mktemp -d /tmp/lucida-image-settings-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; tr '\r' '\n' <"$work/run.err" 2>/dev/null | tail -20; exit 1; }
source "$(dirname "$0")/demo_cohort.sh"
demo_cohort "$cli" "$work" 3
project() {  # $1: slide 2's settings object (JSON), $2: slide 1's "excluded" (true/false)
    cat >"$work/project.json" <<JSON
{"lucida_project": 1, "images": [
  {"path": "slides/slide-1.tiff", "label": "1",
   "settings": {"overlap": 0.5, "method": "gradcam++", "mode": "patch", "excluded": $2}},
  {"path": "slides/slide-2.tiff", "label": "0", "settings": $1},
  {"path": "slides/slide-3.tiff", "label": "1",
   "settings": {"pixel_size_um": 0.25, "precision": "int8"}}]}
JSON
}
batch() { "$cli" batch "$work/project.json" --model "$model" --batch 8 --out "$work/out" "$@"; }
# The table with each row's outputs and stored settings as they are now (later runs rewrite them).
snapshot() {
    /usr/bin/python3 - "$work/out" "$work/$1.json" <<'PY'
import json, os, sys
rows = json.load(open(f"{sys.argv[1]}/cohort.json"))["images"]
for r in rows:
    if r["status"] == "done":
        r["analysis"] = json.load(open(r["outputs"]))
        r["stored"] = json.load(open(os.path.join(r["analysis"]["results"], "settings.json")))
json.dump(rows, open(sys.argv[2], "w"))
PY
}

project '{}' false
batch 2>"$work/run.err" || fail "first batch exited $?"
snapshot first
# The independent references: `analyse` with slide 1's options, and slide 3 at its file's scale.
"$cli" analyse "$work/slides/slide-1.tiff" --model "$model" --batch 8 --overlap 0.5 \
    --method gradcam++ --mode patch --out "$work/direct" 2>/dev/null || fail "analyse slide 1"
# The default mode (dense) cannot explain Grad-CAM++: patch mode is used, a note says why, and the
# results are stored as patch mode's (the run above's are reused, nothing is inferred again).
"$cli" analyse "$work/slides/slide-1.tiff" --model "$model" --batch 8 --overlap 0.5 \
    --method gradcam++ --out "$work/fallback" --results "$work/direct" 2>"$work/fallback.err" \
    || fail "analyse slide 1 in the default mode"
grep -q "note: dense mode does not apply (.*): patches as trained" "$work/fallback.err" ||
    fail "no note of the fallback: $(cat "$work/fallback.err")"
grep -q "^0 patches inferred" "$work/fallback.err" ||
    fail "the fallback recomputed patch mode's results: $(cat "$work/fallback.err")"
"$cli" analyse "$work/slides/slide-3.tiff" --model "$model" --batch 8 --out "$work/direct" \
    2>/dev/null || fail "analyse slide 3"
batch 2>"$work/run.err" || fail "second batch exited $?"
cp "$work/run.err" "$work/run2.err"
"$cli" batch collect --out "$work/out" 2>"$work/collect.err" || fail "collect: $(cat "$work/collect.err")"
snapshot collected
project '{"overlap": 0.25}' false
batch 2>"$work/run.err" || fail "batch after slide 2's change exited $?"
cp "$work/run.err" "$work/run3.err"
snapshot third
project '{"overlap": 0.25}' true
batch 2>"$work/run.err" || fail "batch with slide 1 excluded exited $?"
snapshot excluded

/usr/bin/python3 - "$work" <<'PY' || fail "per-image settings"
import json, re, sys
work = sys.argv[1]
first = json.load(open(f"{work}/first.json"))
assert [r["status"] for r in first] == ["done"] * 3, first
outputs = [r["analysis"] for r in first]
stored = [r["stored"] for r in first]
# Slide 1: its own overlap, method and mode, in the results' key and settings; the same key and
# score as `analyse` run with those options directly.
direct1 = json.load(open(f"{work}/direct/slide-1.tiff.analysis.json"))
assert stored[0]["overlap"] == 0.5 and stored[0]["method"] == "gradcam++", stored[0]
direct1_stored = json.load(open(f"{direct1['results']}/settings.json"))
assert stored[0]["mode"] == direct1_stored["mode"], (stored[0], direct1_stored)
assert outputs[0]["key"] == direct1["key"], (outputs[0]["key"], direct1["key"])
assert abs(first[0]["score"] - direct1["summary"]["top_k_mean"]) < 1e-9
assert stored[0]["mode"] == "patch", stored[0]
fallback1 = json.load(open(f"{work}/fallback/slide-1.tiff.analysis.json"))
assert fallback1["key"] == direct1["key"], (fallback1["key"], direct1["key"])
assert outputs[0]["grid"]["overlap"] == 0.5 and outputs[0]["grid"]["stride"] == 64, outputs[0]["grid"]
# Slide 2: the batch's settings.
assert stored[1]["overlap"] == 0 and stored[1]["method"] == "gradcam", stored[1]
assert stored[1]["mode"] == "dense", stored[1]  # the default, where it applies
# Slide 3: the model's 0.5 µm pixels over given 0.25 µm pixels: a 128 px patch covers 256 image
# pixels (the file says 0.5 µm: 128), and its results are kept apart from the file-scale ones.
direct3 = json.load(open(f"{work}/direct/slide-3.tiff.analysis.json"))
assert direct3["grid"]["patch_size"] == 128 and direct3["grid"]["downsample"] == 1, direct3["grid"]
assert outputs[2]["grid"]["patch_size"] == 256 and outputs[2]["grid"]["downsample"] == 2, outputs[2]["grid"]
assert outputs[2]["key"] != direct3["key"]
assert first[2]["patches"] < direct3["analysed_patches"], (first[2], direct3["analysed_patches"])
# Slide 3's own precision: its dense run is int8 (recorded with its results); the others fp32.
assert stored[2]["precision"] == "int8" and stored[2]["mode"] == "dense", stored[2]
assert stored[1]["precision"] == "fp32" and stored[0]["precision"] == "fp32", stored[:2]
# A re-run recomputes nothing; collect gives the same table.
run2 = open(f"{work}/run2.err").read()
assert run2.count("done before") == 3 and "patches inferred" not in run2, run2
collected = json.load(open(f"{work}/collected.json"))
for a, b in zip(first, collected):
    assert a["status"] == b["status"] == "done" and a["score"] == b["score"], (a, b)
# Slide 2's overlap changed: only slide 2 runs again, with the new overlap.
run3 = open(f"{work}/run3.err").read()
assert re.search(r"\[1/3\] \S+slide-1.tiff: done before", run3), run3
assert re.search(r"\[3/3\] \S+slide-3.tiff: done before", run3), run3
assert run3.count("done before") == 2 and run3.count("patches inferred") == 1, run3
third = json.load(open(f"{work}/third.json"))
assert third[1]["inferred"] == third[1]["patches"] > 0, third[1]
out2 = third[1]["analysis"]
assert out2["grid"]["overlap"] == 0.25 and out2["key"] != outputs[1]["key"], out2["grid"]
assert third[0] == first[0] and third[2] == first[2], (third[0], first[0])
# Slide 1 excluded: reported as such, not run, and the batch still succeeds.
excluded = json.load(open(f"{work}/excluded.json"))
assert [r["status"] for r in excluded] == ["excluded", "done", "done"], excluded
print("slide 1 key", outputs[0]["key"], "= analyse's; slide 3 patches", first[2]["patches"],
      "at 0.25 µm/px against", direct3["analysed_patches"], "at the file's 0.5")
PY

# A bad setting: refused before anything runs, naming the project file, the image and the key.
project '{"overlap": 0.9}' false
code=0
batch 2>"$work/run.err" || code=$?
[ $code = 1 ] || fail "a bad setting: exit $code"
grep -qF "$work/project.json: image 2 (slides/slide-2.tiff): settings \"overlap\": 0.9 is outside" \
    "$work/run.err" || fail "the error does not name the file, image and key: $(cat "$work/run.err")"
project '{"overlap": 0.25, "colour": "red"}' false
code=0
batch 2>"$work/run.err" || code=$?
[ $code = 1 ] && grep -qF "image 2 (slides/slide-2.tiff): settings: unknown key \"colour\"" \
    "$work/run.err" || fail "an unknown key: exit $code $(cat "$work/run.err")"
echo "PASS"
