#!/usr/bin/env bash
# Installs the Debian 12 packages Lucida needs — only those missing, so a second run is quick.
# Run as root (or with sudo available).
#   install-deps.sh build   what building and running the viewer and the CLI need (Quick start 1)
#   install-deps.sh test    that, plus the test, fuzzing and packaging tools (Quick start 2, CI)
#   install-deps.sh --list build|test   only print the package names, one a line
# packaging/check-deps.sh checks after a build that every package the build used is brought in here.
set -euo pipefail
list_only=0
if [[ ${1:-} == --list ]]; then
    list_only=1
    shift
fi
what=${1:-test}
build_packages=(
    build-essential cmake ninja-build ccache pkg-config git file
    # Qt 6: Widgets, Concurrent and Test come with qt6-base-dev; Charts needs Qt6OpenGL's CMake
    # package (libqt6opengl6-dev), which qt6-charts-dev does not pull in.
    qt6-base-dev qt6-base-dev-tools qt6-charts-dev libqt6opengl6-dev libgl-dev libxkbcommon-dev
    libqt6svg6  # SVG icon engine and image plugin for the bundled icons
    # figure export: SVG writer (QSvgGenerator), TIFF with its DPI (Qt's TIFF image plugin)
    qt6-svg-dev qt6-image-formats-plugins
    libopencv-dev libopenslide-dev libdcmtk-dev libopenjp2-7-dev libtiff-dev nlohmann-json3-dev
    libcli11-dev libtorch-dev
    zlib1g-dev  # CRC-32 and inflate in the model-file reader
    libgeos-dev libpugixml-dev  # annotations: geometry (GEOS), ASAP XML (pugixml)
)
test_packages=(
    # fixture makers (libvips, libtiff tools, Debian's python3 with numpy and Pillow), a virtual
    # display for screenshots
    libvips-tools libtiff-tools python3-numpy python3-pil xvfb xauth fonts-dejavu-core
    # Python references for the model and CAM tests (Debian's torch 1.13 / torchvision 0.14) and
    # for the training metrics (scikit-learn 1.2)
    python3-torch python3-torchvision python3-sklearn
    # case reports: their text (pdftotext) and images (pdfimages), DICOM patient tags (pydicom)
    poppler-utils python3-pydicom
    # cohorts on a cluster: a real single-node Slurm (slurmctld, slurmd) with munge for
    # tests/cli/slurm_batch_test.sh
    slurm-wlm munge
    # fuzzing (libFuzzer with ASan/UBSan) and the ThreadSanitizer build
    clang libclang-rt-14-dev
    # checks of the .deb: desktop entry, AppStream metainfo, lintian
    desktop-file-utils appstream lintian shared-mime-info
)
case "$what" in
    build) packages=("${build_packages[@]}") ;;
    test) packages=("${build_packages[@]}" "${test_packages[@]}") ;;
    *)
        echo "usage: $0 [build|test]" >&2
        exit 2
        ;;
esac
if ((list_only)); then
    printf '%s\n' "${packages[@]}"
    exit 0
fi
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
    echo "All $what dependencies present."
fi
