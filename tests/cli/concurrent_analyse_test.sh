#!/usr/bin/env bash
# Two `lucida-cli analyse` runs at once on one results folder: one waits for the other (and says
# so) or comes after it; together they compute each patch once (duplicated work <= one batch),
# leave one consistent store (one header, one valid record per patch, nothing else) and write the
# same outputs.
# Usage: concurrent_analyse_test.sh LUCIDA_CLI REFERENCE_DIR FIXTURES_DIR
set -euo pipefail
cli=${1:?}; ref=${2:?}; fix=${3:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; cat "$out"/err1 "$out"/err2 2>/dev/null | tr '\r' '\n' | tail -20; exit 1; }
source "$(dirname "$0")/small_cnn_model.sh"
small_cnn_model "$ref" "$out"
slide="$fix/slides/aperio.svs"
batch=4
"$cli" analyse "$slide" --model "$out/cnn.pt" --mode patch --batch $batch --out "$out/a" --results "$out/r" \
    2>"$out/err1" & first=$!
"$cli" analyse "$slide" --model "$out/cnn.pt" --mode patch --batch $batch --out "$out/b" --results "$out/r" \
    2>"$out/err2" & second=$!
wait $first || fail "first analyse exited $?"
wait $second || fail "second analyse exited $?"
/usr/bin/python3 - "$out" $batch <<'PY' || fail "inconsistent"
import glob, json, re, struct, sys, zlib
out, batch = sys.argv[1], int(sys.argv[2])
a = json.load(open(f"{out}/a/aperio.svs.analysis.json"))
b = json.load(open(f"{out}/b/aperio.svs.analysis.json"))
total = a["analysed_patches"]
assert a["complete"] and b["complete"], "incomplete"
assert a["summary"] == b["summary"], "different outputs"
errs = [open(f"{out}/err{i}").read() for i in (1, 2)]
reused = []
for e in errs:
    m = re.search(r"(\d+) patches reused", e)
    reused.append(int(m.group(1)) if m else 0)
computed = [total - r for r in reused]
waited = ["waiting:" in e for e in errs]
print(f"{total} patches; computed {computed[0]} + {computed[1]}; waited {waited}")
assert sum(computed) <= total + batch, computed
assert sum(computed) >= total
# The store: one header, then exactly one valid record per patch.
stores = glob.glob(f"{out}/r/*/patches.bin")
assert len(stores) == 1, stores
data = open(stores[0], "rb").read()
assert data[:8] == b"LUCPATC2", data[:8]
classes, w, h, count = struct.unpack_from("<IIIQ", data, 24)
rec = 8 + 4 * (classes + w * h)
assert count == total and (len(data) - 48) == total * rec, (len(data), total, rec)
indices = {struct.unpack_from("<I", data, 48 + k * rec)[0] for k in range(total)}
assert indices == set(range(total)), "records missing or repeated"
assert not glob.glob(f"{out}/r/*/patches.bin.*"), "files set aside"
PY
echo "PASS"
