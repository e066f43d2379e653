#!/usr/bin/env bash
# A benchmark slide with one contiguous tissue section, as a resection looks on the glass (the demo
# slides hold small scattered pieces instead): scikit-image's ihc.png (a real immunohistochemistry
# image) enlarged 4x and mirror-extended, cut to an irregular ellipse filling most of the slide,
# on white glass. JPEG-tiled pyramid (256-px tiles) with an Aperio description declaring
# 0.5 um/px, so the analysis reads the scale as it does from a scanner's file.
# Usage: make_section_slide.sh OUTDIR [WIDTH HEIGHT]  (default 8192 x 6144) -> OUTDIR/section-WxH.tif
set -euo pipefail
out=${1:?usage: make_section_slide.sh OUTDIR [WIDTH HEIGHT]}
width=${2:-8192}
height=${3:-6144}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out" && out=$(cd "$out" && pwd)
export VIPS_WARNING=0
file="$out/section-${width}x${height}.tif"
[[ -f "$file" ]] && { echo "$file exists"; exit 0; }

ihc="$out/pkgs/skimage-data/ihc.png"
[[ -f "$ihc" ]] || bash "$here/../tests/fixtures/fetch_packages.sh" "$out/pkgs" >/dev/null
/usr/bin/python3 - "$ihc" "$out/section.png" "$width" "$height" <<'EOF'
import sys
import numpy as np
from PIL import Image

ihc, dest, w, h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tile = np.asarray(Image.open(ihc).convert("RGB").resize((2048, 2048), Image.BICUBIC))
# Mirror-extend the enlarged image to the slide's size (no seams where copies meet).
both = np.concatenate([tile, tile[:, ::-1]], axis=1)
both = np.concatenate([both, both[::-1]], axis=0)
reps = (-(-h // both.shape[0]), -(-w // both.shape[1]), 1)
tissue = np.tile(both, reps)[:h, :w]
# An irregular ellipse (radius modulated by a few harmonics) covering about 60 % of the slide.
y, x = np.mgrid[0:h, 0:w].astype(np.float32)
dx, dy = (x - w / 2) / (0.46 * w), (y - h / 2) / (0.44 * h)
angle = np.arctan2(dy, dx)
radius = 1 + 0.06 * np.sin(3 * angle + 0.5) + 0.04 * np.sin(7 * angle + 1.3)
inside = np.hypot(dx, dy) <= radius
glass = np.full_like(tissue, 244)
Image.fromarray(np.where(inside[..., None], tissue, glass)).save(dest)
print(f"tissue {inside.mean():.2f} of the slide")
EOF
vips tiffsave "$out/section.png" "$out/section.partial.tif" --tile --tile-width 256 \
    --tile-height 256 --pyramid --compression jpeg --Q 85
rm "$out/section.png"
# OpenSlide reads the scale from an Aperio description (its generic TIFF reader has none).
tiffset -d 0 -s 270 "Aperio Image Library (Lucida bench)
${width}x${height} [0,0 ${width}x${height}] (256x256) JPEG Q=85|AppMag = 20|MPP = 0.5" \
    "$out/section.partial.tif"
mv "$out/section.partial.tif" "$file"
echo "$file: ${width}x${height}, $(du -h "$file" | cut -f1)"
