#!/usr/bin/env bash
# Writes the Python reference data (models, inputs, maps, logits) into OUTDIR with Debian's
# /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14). Skipped when the scripts are
# unchanged since the last run.
set -euo pipefail
out=${1:?usage: make_reference.sh OUTDIR IHC_PNG}
ihc=${2:?usage: make_reference.sh OUTDIR IHC_PNG}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
sum=$(cat "$here"/*.py "$here"/*.sh | md5sum | cut -d' ' -f1)
[[ -f "$out/.stamp" && "$(cat "$out/.stamp")" == "$sum" ]] && { echo "reference data up to date"; exit 0; }
export OMP_NUM_THREADS=$(nproc)
# Score-CAM on every model but resnet50 at 224 x 224 (resnet50_64 stands in for it); on the ResNets
# for the first image only (see SCORECAM_ENTRIES). --fast would leave Score-CAM to the small CNN.
/usr/bin/python3 "$here/make_cam_reference.py" "$out" "$ihc"
/usr/bin/python3 "$here/make_smoothing_reference.py" "$out"
/usr/bin/python3 "$here/make_resnet_pth.py" "$out"
/usr/bin/python3 "$here/make_bad_models.py" "$out"
/usr/bin/python3 "$here/make_dense_models.py" "$out"
/usr/bin/python3 "$here/make_train_step_reference.py" "$out"
echo "$sum" > "$out/.stamp"
