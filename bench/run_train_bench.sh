#!/usr/bin/env bash
# Training throughput of `lucida-cli train` against PyTorch (bench/train_bench.py: Debian's
# python3-torch, same model, data, batch, input size, optimizer, threads), in one run.
# Usage: run_train_bench.sh BUILD_DIR [RESULTS_DIR] [MODEL] [INPUT] [BATCH]
#   The data is the demo training set (lucida-cli make-demo, made once into RESULTS_DIR/demo).
set -euo pipefail
build=${1:?usage: run_train_bench.sh BUILD_DIR [RESULTS_DIR] [MODEL] [INPUT] [BATCH]}
results=${2:-$build/bench-results}
model=${3:-smallcnn}
input=${4:-128}
batch=${5:-32}
here=$(cd "$(dirname "$0")" && pwd)
cli="$build/app/lucida-cli"
mkdir -p "$results"
[[ -d "$results/demo/patches/train" ]] ||
    "$cli" make-demo --out "$results/demo" --no-slide >/dev/null
data="$results/demo/patches/train"
cat $(find "$data" -name '*.png') >/dev/null  # page cache warm for both

out="$results/train-$model-$input"
# Lucida: 3 epochs, the first a warm-up; every image trains (no validation split).
"$cli" train "$data" --out "$out" --overwrite --model "$model" --input-size "$input" --batch "$batch" \
    --epochs 3 --optimizer adamw --lr 1e-3 --validation-fraction 0 --schedule none 2>/dev/null
lucida=$(/usr/bin/python3 -c "import json,sys; h=json.load(open(sys.argv[1]))['history'];
print(sum(r['images_per_second'] for r in h[1:]) / len(h[1:]))" "$out/model.report.json")
python=$(/usr/bin/python3 "$here/train_bench.py" "$data" --model "$model" --input-size "$input" \
    --batch "$batch" --epochs 2)
# Like for like: PyTorch with the allocator settings lucida-cli makes for itself
# (core/model/AllocatorMode.h), given through glibc's environment variables.
tuned=$(MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=536870912 /usr/bin/python3 \
    "$here/train_bench.py" "$data" --model "$model" --input-size "$input" --batch "$batch" --epochs 2)
/usr/bin/python3 - "$lucida" "$python" "$model" "$input" "$batch" "$results/train-$model-$input.json" "$tuned" <<'PY'
import json, os, platform, sys
lucida, python, tuned = float(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[7])
r = {"model": sys.argv[3], "input": int(sys.argv[4]), "batch": int(sys.argv[5]),
     "lucida_images_per_second": lucida, "python_images_per_second": python["images_per_second"],
     "ratio": lucida / python["images_per_second"], "python": python,
     "python_same_allocator_images_per_second": tuned["images_per_second"],
     "ratio_same_allocator": lucida / tuned["images_per_second"],
     "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
     "cores": os.cpu_count()}
json.dump(r, open(sys.argv[6], "w"), indent=1)
print(json.dumps(r))
PY
