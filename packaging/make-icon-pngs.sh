#!/usr/bin/env bash
# Renders the application icon's PNG sizes for the hicolor theme from resources/icons/lucida.svg.
# The PNGs are committed (packaging/linux/icons), so building needs no SVG renderer; rerun this
# after changing the SVG (needs librsvg2-bin).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
for n in 16 22 24 32 48 64 128 256 512; do
    rsvg-convert -w "$n" -h "$n" "$root/resources/icons/lucida.svg" \
        -o "$root/packaging/linux/icons/lucida-$n.png"
done
