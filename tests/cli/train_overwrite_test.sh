#!/usr/bin/env bash
# lucida-cli train never replaces the outputs of an earlier run unless --overwrite is given: the
# second run with the same --name stops with exit code 2 before training, naming the file and a
# free name, and leaves the model as it was; --help documents the flag.
set -euo pipefail
cli=${1:?usage: train_overwrite_test.sh LUCIDA_CLI}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$cli" train --help | grep -q -- "--overwrite" || fail "--overwrite is not in train --help"
# Two classes of small flat PNGs (Pillow).
/usr/bin/python3 - "$out/data" <<'PY'
import os, sys
from PIL import Image
for name, colour in (("a", (220, 40, 30)), ("b", (30, 40, 220))):
    os.makedirs(f"{sys.argv[1]}/{name}")
    for i in range(5):
        Image.new("RGB", (32, 32), tuple(max(0, v - 12 * i) for v in colour)).save(
            f"{sys.argv[1]}/{name}/{i}.png")
PY
train() {
    "$cli" train "$out/data" --out "$out/models" --model smallcnn --input-size 32 --epochs 1 \
        --batch 4 --threads 1 "$@"
}
train --seed 1 2>"$out/err1" || fail "first run exited $?: $(cat "$out/err1")"
[[ -s "$out/models/model.pth" ]] || fail "no model.pth"
sum=$(sha256sum <"$out/models/model.pth")

rc=0
train --seed 2 2>"$out/err2" || rc=$?
[[ $rc == 2 ]] || fail "a second run without --overwrite exited $rc, expected 2: $(cat "$out/err2")"
grep -q "models/model.pth" "$out/err2" || fail "the refusal does not name model.pth: $(cat "$out/err2")"
grep -q -- "--name model-2" "$out/err2" || fail "no free name offered: $(cat "$out/err2")"
grep -q -- "--overwrite" "$out/err2" || fail "--overwrite not mentioned: $(cat "$out/err2")"
[[ $(sha256sum <"$out/models/model.pth") == "$sum" ]] || fail "model.pth was replaced"

train --seed 2 --name model-2 2>/dev/null || fail "a free name was refused"
[[ -s "$out/models/model-2.pth" ]] || fail "no model-2.pth"
[[ $(sha256sum <"$out/models/model.pth") == "$sum" ]] || fail "model.pth changed"

train --seed 2 --overwrite 2>"$out/err3" || fail "--overwrite run exited $?: $(cat "$out/err3")"
[[ $(sha256sum <"$out/models/model.pth") != "$sum" ]] || fail "--overwrite did not replace model.pth"
echo "train: outputs refused without --overwrite, replaced with it"
