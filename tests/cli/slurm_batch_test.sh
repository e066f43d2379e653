#!/usr/bin/env bash
# `lucida-cli batch --slurm` on a real single-node Slurm (munged, slurmctld and slurmd started
# here on localhost with a generated slurm.conf, stopped on exit): a manifest of three demo slides
# and one broken file runs as a job array; `batch collect` gives the cohort table, whose scores
# equal `lucida-cli analyse` on each slide, names the broken one's task as failed (with the reason)
# and keeps the others; resubmitting asks only for the task that is not done. Skipped (exit 77)
# only when the Slurm daemons cannot start here.
# Usage: slurm_batch_test.sh LUCIDA_CLI SOURCE_DIR
set -euo pipefail
cli=$(realpath "${1:?}"); src=${2:?}
model="$src/resources/demo/model/demo-smallcnn.pth"
work=$(mktemp -d /tmp/lucida-slurm-test.XXXXXX)
source "$(dirname "$0")/local_slurm.sh"
source "$(dirname "$0")/demo_cohort.sh"
cleanup() { stop_local_slurm; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -5 "$work"/out/cohort/logs/*.log "$work"/*.err 2>/dev/null; exit 1; }

if ! start_local_slurm "$work/slurm"; then
    echo "SKIP: the Slurm daemons cannot start on this machine: $local_slurm_problem"
    exit 77
fi
demo_cohort "$cli" "$work" 3
head -c 5000 /dev/urandom >"$work/slides/broken.tiff"
cat >"$work/manifest.csv" <<CSV
path,label,group
slides/slide-1.tiff,1,site-a
slides/slide-2.tiff,0,site-a
slides/broken.tiff,1,site-b
slides/slide-3.tiff,1,site-b
CSV
set +e
"$cli" batch "$work/manifest.csv" --model "$model" --out "$work/out" --slurm --max-parallel 2 \
    --cpus-per-task 1 2>"$work/submit.err"
submitted=$?
job=$(sed -n 's/^submitted job \([0-9]*\);.*/\1/p' "$work/submit.err")
# Bounded wait for the array to leave the queue (sbatch --wait polls too slowly for a test).
for _ in $(seq 1 240); do
    [ -n "$job" ] && [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
    sleep 0.5
done
"$cli" batch collect --out "$work/out" 2>"$work/collect.err"
collected=$?
set -e
cat "$work/submit.err" "$work/collect.err"
[ $submitted = 0 ] && [ -n "$job" ] || fail "batch --slurm exited $submitted"
[ $collected = 1 ] || fail "collect exited $collected with a failed task (expected 1)"
grep -q 'image 3 (.*broken.tiff): failed' "$work/collect.err" || fail "collect does not name the failed task"
grep -q '^#SBATCH --array=1-4%2$' "$work/out/cohort/batch.sbatch" || fail "array or throttle"
grep -q '^#SBATCH --cpus-per-task=1$' "$work/out/cohort/batch.sbatch" || fail "cpus per task"
for n in 1 2 4; do
    "$cli" analyse "$work/slides/slide-$([ $n = 4 ] && echo 3 || echo $n).tiff" --model "$model" \
        --out "$work/direct" 2>/dev/null || fail "direct analyse of image $n"
done
/usr/bin/python3 - "$work" <<'PY' || fail "cohort table"
import csv, json, sys
work = sys.argv[1]
rows = list(csv.DictReader(open(f"{work}/out/cohort.csv")))
table = json.load(open(f"{work}/out/cohort.json"))
assert [r["status"] for r in rows] == ["done", "done", "failed", "done"], rows
assert "broken.tiff" in rows[2]["error"], rows[2]
assert len(rows[2]["error"]) > len("broken.tiff") + 10, rows[2]["error"]
scores = []
for r in rows:
    if r["status"] != "done":
        continue
    name = r["image"].rsplit("/", 1)[1]
    direct = json.load(open(f"{work}/direct/{name}.analysis.json"))
    assert abs(float(r["score"]) - direct["summary"]["top_k_mean"]) < 1e-6, (r, direct["summary"])
    assert int(r["patches"]) == direct["analysed_patches"], r
    # Tasks and `analyse` share results by default: the same key, stored in dense mode.
    task = json.load(open(next(t for t in table["images"] if t["image"] == r["image"])["outputs"]))
    assert task["key"] == direct["key"], (task["key"], direct["key"])
    assert json.load(open(task["results"] + "/settings.json"))["mode"] == "dense", task["results"]
    top = direct["summary"]["top_regions"][0]
    assert abs(float(r["region_x"]) - top["x"]) < 1e-6 and abs(float(r["region_y"]) - top["y"]) < 1e-6
    scores.append((float(r["score"]), int(r["label"])))
# AUC by its definition (Mann-Whitney): P(score of a positive > score of a negative), ties half.
pos = [s for s, l in scores if l == 1]
neg = [s for s, l in scores if l == 0]
auc = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
assert abs(table["roc"]["auc"] - auc) < 1e-9, (table["roc"], auc)
assert table["counts"] == {"done": 3, "failed": 1}, table["counts"]
print(f"scores {scores}, AUC {auc}")
PY
# Resubmitting asks Slurm only for what is not done: the broken image's task.
"$cli" batch "$work/manifest.csv" --model "$model" --out "$work/out" --slurm --max-parallel 2 \
    --no-submit 2>"$work/resubmit.err" || fail "resubmit"
grep -q '^#SBATCH --array=3%2$' "$work/out/cohort/batch.sbatch" || fail "resubmission array: $(grep array "$work/out/cohort/batch.sbatch")"
grep -q '1 of 4 images to analyse' "$work/resubmit.err" || fail "resubmission count"
echo "PASS"
