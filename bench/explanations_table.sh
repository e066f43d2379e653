#!/usr/bin/env bash
# The per-method table of docs/EXPLANATIONS.md: pointing games, deletion/insertion AUCs and randomisation
# correlations on the demo model and a fresh demo test set. Run holding the build lock:
#   flock /tmp/lucida-build.lock bench/explanations_table.sh [LUCIDA_CLI] [MODEL] [WORK_DIR]
set -euo pipefail
cli=${1:-build/app/lucida-cli}
model=${2:-resources/demo/model/demo-smallcnn.pth}
w=${3:-/tmp/lucida-explanations}; rm -rf $w; mkdir -p $w
$cli make-demo --out $w/demo --train-per-class 0 --val-per-class 0 --test-per-class 20 --slide-width 1024 --slide-height 1024 2>/dev/null
tumours=$(ls $w/demo/patches/test/tumour/*.png | head -10)
for m in cam gradcam gradcam++ xgradcam hirescam layercam eigencam scorecam; do
  s=$(date +%s.%N)
  $cli evaluate --model $model $w/demo/patches/test --masks $w/demo/patches/masks/test --method $m --json $w/eval.$m.json >/dev/null 2>&1
  e=$(date +%s.%N)
  echo "$m evaluate_seconds $(echo "$e - $s" | bc)" >> $w/times.txt
  $cli check --model $model --method $m --steps 16 --removal blur --out $w/check.$m $tumours > /dev/null 2>>$w/errors.txt || true
done
/usr/bin/python3 - $w <<'PY'
import json, sys, glob, statistics as st
w = sys.argv[1]
times = dict(l.split()[0::2] for l in open(f"{w}/times.txt"))
print("| method | pointing game | energy pointing | deletion AUC (random) | insertion AUC (random) | Spearman, head randomised | Spearman, last block too | evaluate images/s |")
print("|---|---|---|---|---|---|---|---|")
for m in ["cam", "gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "eigencam", "scorecam"]:
    e = json.load(open(f"{w}/eval.{m}.json"))
    cs = [json.load(open(f)) for f in sorted(glob.glob(f"{w}/check.{m}/*.check.json"))]
    f = lambda k: st.mean(c["faithfulness"][k]["auc"] for c in cs)
    s0 = st.mean(abs(c["randomisation"]["stages"][0]["spearman"]) for c in cs)
    s1 = st.mean(abs(c["randomisation"]["stages"][1]["spearman"]) for c in cs)
    ips = e["images"] / float(times[m])
    pg = e["pointing_game"]
    print(f"| {m} | {pg['share']:.2f} | {pg['energy_share']:.2f} | {f('deletion'):.3f} ({f('random_deletion'):.3f}) | "
          f"{f('insertion'):.3f} ({f('random_insertion'):.3f}) | {s0:.2f} | {s1:.2f} | {ips:.0f} |")
PY
