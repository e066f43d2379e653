#!/usr/bin/env bash
# `lucida-cli batch` killed with SIGKILL in the middle of the second slide and started again:
# the first slide is not touched, the second goes on from the patches stored before the kill
# (reused = the valid records in its store at the kill; inferred = the rest), the third runs
# whole, and the table equals that of an uninterrupted batch. A third run computes nothing.
# Usage: batch_resume_test.sh LUCIDA_CLI SOURCE_DIR
set -euo pipefail
cli=$(realpath "${1:?}"); src=${2:?}
model="$src/resources/demo/model/demo-smallcnn.pth"
work=$(mktemp -d /tmp/lucida-resume-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; tr '\r' '\n' <"$work/run2.err" 2>/dev/null | tail -20; exit 1; }
source "$(dirname "$0")/demo_cohort.sh"
# A manifest is untrusted: a bad line is refused with the file and line named.
printf 'path,label\nslides/a.tiff,1,g,extra\n' >"$work/bad.csv"
printf '# cohort\n"slides/a.tiff,1\n' >"$work/quote.csv"
for bad in "bad.csv:2: 4 columns" "quote.csv:2: a quoted field is not closed"; do
    code=0
    "$cli" batch "$work/${bad%%:*}" --model "$model" --out "$work/x" 2>"$work/bad.err" || code=$?
    [ $code = 1 ] && grep -qF "$work/$bad" "$work/bad.err" || fail "manifest $bad: $code $(cat "$work/bad.err")"
done
demo_cohort "$cli" "$work" 3
printf 'path,label\nslides/slide-1.tiff,1\nslides/slide-2.tiff,0\nslides/slide-3.tiff,1\n' \
    >"$work/manifest.csv"
batch=(batch "$work/manifest.csv" --model "$model" --batch 4)

# Records in the second slide's store (its results folder is the one made after the first's).
store_records() {
    /usr/bin/python3 - "$work/out" <<'PY'
import glob, json, os, struct, sys
out = sys.argv[1]
first = json.load(open(f"{out}/cohort/tasks/1.json"))
key1 = json.load(open(first["outputs"]))["key"]
stores = [s for s in glob.glob(f"{out}/*/patches.bin") if key1 not in s]
if not stores:
    print(0); sys.exit()
data = open(stores[0], "rb").read()
if len(data) < 48:
    print(0); sys.exit()
classes, w, h = struct.unpack_from("<III", data, 24)
print((len(data) - 48) // (8 + 4 * (classes + w * h)))
PY
}
"$cli" "${batch[@]}" --out "$work/out" 2>"$work/run1.err" & pid=$!
killed=""
for _ in $(seq 1 1200); do  # at most 60 s
    if [ -f "$work/out/cohort/tasks/1.json" ] && [ "$(store_records)" -ge 8 ]; then
        kill -KILL $pid; killed=$(store_records); break
    fi
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
wait $pid 2>/dev/null || true
[ -n "$killed" ] || fail "the batch was not caught in the second slide"
[ ! -f "$work/out/cohort/tasks/2.json" ] || fail "the second slide finished before the kill"
"$cli" "${batch[@]}" --out "$work/out" 2>"$work/run2.err" || fail "restarted batch exited $?"
"$cli" "${batch[@]}" --out "$work/out" 2>"$work/run3.err" || fail "third batch exited $?"
"$cli" "${batch[@]}" --out "$work/fresh" 2>/dev/null || fail "uninterrupted batch exited $?"
/usr/bin/python3 - "$work" "$killed" <<'PY' || fail "resume"
import json, re, sys
work, killed = sys.argv[1], int(sys.argv[2])
run2 = open(f"{work}/run2.err").read()
run3 = open(f"{work}/run3.err").read()
rows = json.load(open(f"{work}/out/cohort.json"))["images"]
fresh = json.load(open(f"{work}/fresh/cohort.json"))["images"]
assert "[1/3]" in run2 and re.search(r"\[1/3\] \S+slide-1.tiff: done before", run2), run2
m = re.search(r"(\d+) patches reused", run2)
assert m and int(m.group(1)) >= killed, (killed, m and m.group(0))
second = rows[1]
assert second["inferred"] == second["patches"] - int(m.group(1)), second
assert second["inferred"] > 0 and int(m.group(1)) > 0, second
assert rows[2]["inferred"] == rows[2]["patches"], rows[2]
for a, b in zip(rows, fresh):
    assert a["status"] == b["status"] == "done", (a, b)
    assert a["score"] == b["score"] and a["top_region"] == b["top_region"], (a, b)
    assert a["patches"] == b["patches"], (a, b)
assert run3.count("done before") == 3, run3
print(f"killed with {killed} records of slide 2 stored; restart reused {m.group(1)} and "
      f"inferred {second['inferred']} of {second['patches']}")
PY
echo "PASS"
