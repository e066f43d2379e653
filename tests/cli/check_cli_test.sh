#!/usr/bin/env bash
# `lucida-cli check` on the bundled demo model and two fresh demo test patches: the JSON and CSV
# agree; each curve starts at the image's own probability (share 0) and deletion ends where
# insertion starts (everything replaced by the mean); every AUC is the trapezoid of its curve,
# recomputed here; the random baseline is worse than the map's order on the tumour patch; the
# randomisation stages run from the head down and Grad-CAM is found to depend on the weights.
# `evaluate --masks`: the energy pointing game equals the share computed here from `explain`'s raw
# map (bilinear upsampling by torch, align_corners=False) and the lesion mask. Several methods in
# one run (`--method gradcam,gradcam++`): one row each, Grad-CAM's equal to the one-method run,
# Grad-CAM++'s energy share equal to the one computed here from `explain --method gradcam++`.
# Usage: check_cli_test.sh LUCIDA_CLI SOURCE_DIR WORK_DIR
set -euo pipefail
cli=${1:?}; src=${2:?}; work=${3:?}
model="$src/resources/demo/model/demo-smallcnn.pth"
rm -rf "$work" && mkdir -p "$work"
"$cli" make-demo --out "$work/demo" --train-per-class 0 --val-per-class 0 --test-per-class 1 \
    --slide-width 1024 --slide-height 1024 2>/dev/null
tumour=$(ls "$work"/demo/patches/test/tumour/*.png | head -1)
"$cli" check --model "$model" --method gradcam --removal mean --steps 8 --stages 2 \
    --out "$work/check" "$tumour" > "$work/stdout.txt"
"$cli" evaluate --model "$model" "$work/demo/patches/test" --masks "$work/demo/patches/masks/test" \
    --json "$work/evaluate.json" > /dev/null 2>&1
"$cli" explain --model "$model" --class tumour --out "$work/explain" "$tumour" > /dev/null 2>&1
"$cli" evaluate --model "$model" "$work/demo/patches/test" --masks "$work/demo/patches/masks/test" \
    --method gradcam,gradcam++ --json "$work/evaluate2.json" > "$work/evaluate2.txt" 2>/dev/null
"$cli" explain --model "$model" --class tumour --method gradcam++ --out "$work/explain-cam" "$tumour" \
    > /dev/null 2>&1
/usr/bin/python3 - "$work" "$(basename "$tumour")" <<'PY'
import csv, json, sys
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
work, name = sys.argv[1], sys.argv[2]
j = json.load(open(f"{work}/check/{name}.check.json"))
out = open(f"{work}/stdout.txt").read()
f = j["faithfulness"]
def trapezoid(x, y):
    return sum((x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2 for i in range(1, len(x)))
for key in ["deletion", "insertion", "random_deletion", "random_insertion"]:
    c = f[key]
    assert len(c["share"]) == 9 and c["share"][0] == 0 and c["share"][-1] == 1, c["share"]
    assert abs(trapezoid(c["share"], c["probability"]) - c["auc"]) < 1e-9, key
p0 = j["probability"]
for key in ["deletion", "random_deletion"]:
    assert abs(f[key]["probability"][0] - p0) < 1e-5, (key, f[key]["probability"][0], p0)
    assert abs(f[key]["probability"][-1] - f["insertion"]["probability"][0]) < 1e-6, key
assert abs(f["insertion"]["probability"][-1] - p0) < 1e-5
rows = list(csv.DictReader(open(f"{work}/check/{name}.faithfulness.csv")))
assert len(rows) == 9
assert all(abs(float(r["deletion"]) - d) < 1e-5 for r, d in zip(rows, f["deletion"]["probability"]))
assert j["explained_class"] == "tumour", j["explained_class"]
assert f["deletion"]["auc"] < f["random_deletion"]["auc"], f
r = j["randomisation"]
assert [s["block"] for s in r["stages"]] == ["fc", "block4"], r["stages"]
assert abs(r["stages"][1]["spearman"]) < 0.3 and r["depends_on_weights"], r  # once block4 is random
stages = list(csv.DictReader(open(f"{work}/check/{name}.randomisation.csv")))
assert [s["block"] for s in stages] == ["fc", "block4"]
assert r["verdict"] in out, out
raw = np.array(Image.open(f"{work}/explain/{name}.cam.tiff"), dtype=np.float64)
mask = np.array(Image.open(f"{work}/demo/patches/masks/test/tumour/{name}").convert("L")) > 0
up = F.interpolate(torch.from_numpy(raw)[None, None], size=mask.shape, mode="bilinear",
                   align_corners=False)[0, 0].numpy().clip(min=0)
pg = json.load(open(f"{work}/evaluate.json"))["pointing_game"]
assert pg["images"] == 1 and abs(pg["energy_share"] - (up * mask).sum() / up.sum()) < 1e-5, pg
games = json.load(open(f"{work}/evaluate2.json"))["pointing_games"]
assert [g["method"] for g in games] == ["gradcam", "gradcam++"], games
assert games[0] == pg, (games[0], pg)
raw_cam = np.array(Image.open(f"{work}/explain-cam/{name}.cam.tiff"), dtype=np.float64)
up_cam = F.interpolate(torch.from_numpy(raw_cam)[None, None], size=mask.shape, mode="bilinear",
                       align_corners=False)[0, 0].numpy().clip(min=0)
assert abs(games[1]["energy_share"] - (up_cam * mask).sum() / up_cam.sum()) < 1e-5, games[1]
assert abs(games[1]["energy_share"] - games[0]["energy_share"]) > 1e-4, games  # two methods, two maps
assert "energy pointing game (gradcam++)" in open(f"{work}/evaluate2.txt").read()
print(f"deletion AUC {f['deletion']['auc']:.3f} (random {f['random_deletion']['auc']:.3f}), "
      f"insertion AUC {f['insertion']['auc']:.3f} (random {f['random_insertion']['auc']:.3f}); "
      f"spearman {[round(s['spearman'], 3) for s in r['stages']]}")
PY
