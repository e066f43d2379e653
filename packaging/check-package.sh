#!/usr/bin/env bash
# Builds the Debian package and checks it as a user's machine would see it:
#   - the files a user needs are in it (programs, desktop entry, icons, metainfo, MIME types, man
#     pages, demo model, copyright) and its dependencies come from the binaries;
#   - desktop-file-validate, appstreamcli validate and lintian find no errors; the MIME types
#     compile with update-mime-database and map the slide extensions;
#   - unpacked into a scratch root (no build tree on the library path), lucida-cli --version names
#     the right library versions, lucida-cli info reads a fixture slide as the build tree's does,
#     the demo is made and analysed from the installed files alone, and lucida takes a screenshot
#     offscreen that shows the slide.
# usage: packaging/check-package.sh [BUILD_DIR=build]   (after the build and the test fixtures)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
fixtures=${LUCIDA_FIXTURES:-$build/fixtures}
fail() {
    echo "check-package: FAIL: $*" >&2
    exit 1
}
pass() { echo "check-package: ok: $*"; }

version=$(sed -n 's/^project(Lucida VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
rm -f "$build"/lucida_*_amd64.deb
# What `cmake --build --target package` does, without building the tests and benchmarks first.
{ cmake --build "$build" --target lucida lucida-cli lucida_package_docs &&
    (cd "$build" && cpack --config CPackConfig.cmake); } >"$build/package.log" 2>&1 || {
    tail -30 "$build/package.log"
    fail "building the package"
}
deb="$build/lucida_${version}_amd64.deb"
[[ -f $deb ]] || fail "no $deb (made: $(ls "$build"/*.deb 2>/dev/null))"
pass "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

# Contents.
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for f in /usr/bin/lucida /usr/bin/lucida-cli \
    /usr/share/applications/org.lucida.Lucida.desktop \
    /usr/share/metainfo/org.lucida.Lucida.metainfo.xml \
    /usr/share/mime/packages/lucida.xml \
    /usr/share/icons/hicolor/scalable/apps/org.lucida.Lucida.svg \
    /usr/share/icons/hicolor/48x48/apps/org.lucida.Lucida.png \
    /usr/share/icons/hicolor/256x256/apps/org.lucida.Lucida.png \
    /usr/share/man/man1/lucida.1.gz /usr/share/man/man1/lucida-cli.1.gz \
    /usr/share/lucida/model/demo-smallcnn.pth /usr/share/lucida/model/demo-smallcnn.json \
    /usr/share/doc/lucida/copyright /usr/share/doc/lucida/changelog.gz; do
    grep -qx "$f" <<<"$contents" || fail "$f is not in the package"
done
pass "contents ($(grep -vc '/$' <<<"$contents") files)"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libtorch libqt6widgets6 libqt6charts6 libopenslide0 libdcmtk libopencv-core libqt6svg6; do
    grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
pass "Depends (from dpkg-shlibdeps): $depends"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
dpkg -x "$deb" "$scratch/root"
r=$scratch/root

# Desktop integration.
desktop-file-validate "$r/usr/share/applications/org.lucida.Lucida.desktop" ||
    fail "desktop-file-validate"
appstreamcli validate --no-net "$r/usr/share/metainfo/org.lucida.Lucida.metainfo.xml" ||
    fail "appstreamcli validate"
mkdir -p "$scratch/mime/packages"
cp "$r/usr/share/mime/packages/lucida.xml" "$scratch/mime/packages/"
update-mime-database "$scratch/mime" || fail "update-mime-database"
for ext in svs ndpi vms mrxs scn bif; do
    grep -q ":\*\.$ext$" "$scratch/mime/globs2" || fail "*.$ext has no MIME type"
done
desktop_types=$(sed -n 's/^MimeType=//p' "$r/usr/share/applications/org.lucida.Lucida.desktop")
for t in image/x-aperio-svs image/x-hamamatsu-ndpi image/x-3dhistech-mrxs image/x-leica-scn \
    image/x-hamamatsu-vms image/x-ventana-bif image/tiff application/dicom; do
    grep -q "$t;" <<<"$desktop_types" || fail "the desktop entry does not open $t"
done
grep -q '^application/dicom' /usr/share/mime/types || fail "shared-mime-info lacks application/dicom"
pass "desktop entry, metainfo and MIME types validate"
lintian_out=$(lintian --fail-on error "$deb" 2>&1) || {
    echo "$lintian_out"
    fail "lintian reports errors"
}
pass "lintian: no errors ($(grep -c '^W:' <<<"$lintian_out" || true) warnings)"

# The unpacked programs run from the system's libraries alone.
for p in lucida lucida-cli; do
    readelf -d "$r/usr/bin/$p" | grep -q -E 'RPATH|RUNPATH' && fail "$p carries an RPATH"
    missing=$(ldd "$r/usr/bin/$p" | grep 'not found' || true)
    [[ -z $missing ]] || fail "$p: $missing"
done
cd "$scratch"
report=$("$r/usr/bin/lucida-cli" --version)
echo "$report" | sed 's/^/    /'
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
grep -q "^lucida-cli $version (commit $commit" <<<"$report" || fail "--version: not $version/$commit"
grep -q "OpenSlide: $(pkg-config --modversion openslide)$" <<<"$report" || fail "--version: OpenSlide"
grep -q "OpenCV: $(pkg-config --modversion opencv4)$" <<<"$report" || fail "--version: OpenCV"
grep -q "DCMTK: $(dpkg-query -W -f='${Version}' libdcmtk-dev | cut -d- -f1)" <<<"$report" ||
    fail "--version: DCMTK"
grep -q "LibTorch: $(dpkg-query -W -f='${Version}' libtorch-dev | cut -d. -f1,2)\." <<<"$report" ||
    fail "--version: LibTorch"
grep -q "Qt: $(pkg-config --modversion Qt6Core)" <<<"$report" || fail "--version: Qt"
grep -q "Compute device: " <<<"$report" || fail "--version: compute device"
# LibTorch is a plugin in the package, loaded from there when a model is needed: not by `info`.
plugin=$(find "$r/usr/lib" -name liblucida-torch.so)
[[ -n $plugin ]] || fail "the package lacks liblucida-torch.so"
readelf -d "$plugin" | grep -q -E 'RPATH|RUNPATH' && fail "the plugin carries an RPATH"
missing=$(ldd "$plugin" | grep 'not found' || true)
[[ -z $missing ]] || fail "the plugin: $missing"
loads=$(LD_DEBUG=files "$r/usr/bin/lucida-cli" --version 2>&1 >/dev/null)
grep -q "file=$plugin" <<<"$loads" || fail "--version did not load the installed plugin $plugin"
loads=$(LD_DEBUG=files "$r/usr/bin/lucida-cli" info "$fixtures/slides/aperio.svs" 2>&1 >/dev/null)
grep -q -E 'file=[^ ]*(libtorch|liblucida-torch)' <<<"$loads" && fail "lucida-cli info loaded LibTorch"
pass "the LibTorch plugin: packaged, loaded from there, not by info"
gui_report=$("$r/usr/bin/lucida" --version)
grep -q "^lucida $version (commit $commit" <<<"$gui_report" || fail "lucida --version"
pass "--version of both programs"

"$r/usr/bin/lucida-cli" info --json "$fixtures/slides/aperio.svs" >installed.json
"$build/app/lucida-cli" info --json "$fixtures/slides/aperio.svs" >built.json
cmp -s installed.json built.json || fail "lucida-cli info differs from the build tree's"
grep -q '"width": 3000' installed.json || fail "lucida-cli info: not 3000 px wide"
pass "lucida-cli info on a fixture slide"

# The demo from the installed files alone: make a small demo slide, analyse it with the demo model.
"$r/usr/bin/lucida-cli" make-demo --out demo --train-per-class 0 --val-per-class 0 \
    --test-per-class 0 --slide-width 4096 --slide-height 3072 2>/dev/null
"$r/usr/bin/lucida-cli" analyse --model "$r/usr/share/lucida/model/demo-smallcnn.pth" \
    --out analysis demo/slide/demo-slide.tiff 2>/dev/null
/usr/bin/python3 - analysis demo/slide/demo-slide.json <<'EOF'
import json, pathlib, sys
j = json.loads(next(pathlib.Path(sys.argv[1]).glob("*.json")).read_text())
lesions = json.loads(pathlib.Path(sys.argv[2]).read_text())["lesions"]
assert j["complete"] and j["analysed_patches"] > 0, j
# The demo model finds the demo's lesions: the most suspicious patch overlaps one.
top = j["summary"]["top_regions"][0]
def overlaps(r, l):
    return (r["x"] < l["x"] + l["width"] and l["x"] < r["x"] + r["width"] and
            r["y"] < l["y"] + l["height"] and l["y"] < r["y"] + r["height"])
assert top["probability"] > 0.9 and any(overlaps(top, l) for l in lesions), (top, lesions)
print(f"check-package: ok: demo analysed from the installed files ({j['analysed_patches']} patches, "
      f"top region p = {top['probability']:.3f} on a lesion)")
EOF

# The viewer, offscreen, with the installed demo model on the demo slide.
QT_QPA_PLATFORM=offscreen HOME=$scratch "$r/usr/bin/lucida" --window-size 1000x700 \
    --model "$r/usr/share/lucida/model/demo-smallcnn.pth" --analyse --screenshot shot.png \
    demo/slide/demo-slide.tiff 2>viewer.log || {
    cat viewer.log
    fail "lucida --screenshot"
}
/usr/bin/python3 - shot.png <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
assert im.size == (1000, 700), im.size
colours = len(set(im.resize((250, 175)).getdata()))
assert colours > 500, f"the screenshot has {colours} colours: no slide shown?"
print(f"check-package: ok: lucida --screenshot from the installed files ({colours} colours)")
EOF
echo "check-package: all checks passed"
