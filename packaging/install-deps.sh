#!/usr/bin/env bash
# Installs the Debian 12 packages Lucida needs to build, run and test — only those missing, so a
# second run is quick. Run as root (or with sudo available).
set -euo pipefail
packages=(
    build-essential cmake ninja-build ccache pkg-config git
    qt6-base-dev qt6-base-dev-tools qt6-charts-dev libgl-dev libxkbcommon-dev
    libopencv-dev libopenslide-dev libdcmtk-dev libtiff-dev nlohmann-json3-dev libcli11-dev libtorch-dev
    # tests: fixture makers (libvips, libtiff tools, Debian's python3 with numpy and Pillow),
    # a virtual display for screenshots
    libvips-tools libtiff-tools python3-numpy python3-pil xvfb xauth fonts-dejavu-core
    # Python references for the model and CAM tests (Debian's torch 1.13 / torchvision 0.14) and
    # for the training metrics (scikit-learn 1.2)
    python3-torch python3-torchvision python3-sklearn
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "Installing: ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "All build dependencies present."
fi
