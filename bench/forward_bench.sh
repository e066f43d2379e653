#!/bin/sh
# Issue 16's forward benchmark in one run: Lucida's engine (plain against fast forward) on
# ResNet-18, the small CNN and the demo model, then PyTorch's best paths in Python on ResNet-18,
# with the load average before and after. Run it holding the build lock:
#   flock /tmp/lucida-build.lock bench/forward_bench.sh [BUILD_DIR]
set -e
BUILD=${1:-build}
ROOT=$(dirname "$0")/..
echo "# $(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
"$BUILD/bench/forward_bench" --batch 16 --rounds 8 resnet18 smallcnn \
    "$BUILD/reference/resnet18.traced.pt" "$ROOT/resources/demo/model/demo-smallcnn.pth"
/usr/bin/python3 "$ROOT/bench/forward_bench.py" --batch 16 --rounds 8
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
