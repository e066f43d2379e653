#!/usr/bin/env bash
# Does packaging/install-deps.sh bring in every Debian package the finished build really used?
# A used machine holds packages installed by hand, so a build there passes while a fresh Debian 12
# fails (Qt6Charts needed libqt6opengl6-dev, which the script did not name). This derives the
# packages from the build itself and checks them against the script's lists:
#   - what building lucida and lucida-cli used (their objects' headers in Ninja's dependency log,
#     the libraries they link, every CMake package file the configure step found) must be brought
#     in by `install-deps.sh build` (Quick start 1 installs only that);
#   - what the tests and benchmarks used, by `install-deps.sh test`.
# "Brought in" means named there, or a dependency of a named package (apt-cache depends --recurse).
# usage: packaging/check-deps.sh [BUILD_DIR=build] [INSTALL_SCRIPT=packaging/install-deps.sh]
# exit 0: all brought in; 1: some not (each named with one file it owns); 2: usage.
set -uo pipefail
build=${1:-build}
script=${2:-packaging/install-deps.sh}
[[ -f $build/build.ninja && -f $build/CMakeCache.txt ]] || {
    echo "check-deps: no finished Ninja build in '$build' (build first)" >&2
    exit 2
}
[[ -f $script ]] || {
    echo "check-deps: no install script '$script'" >&2
    exit 2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. System files the build used, in two groups.
# Ninja's dependency log: "OBJECT: #deps N, ..." then the object's inputs, indented.
ninja -C "$build" -t deps 2>/dev/null | awk -v app="$tmp/app.files" -v test="$tmp/test.files" '
    /^[^ ]/ { out = ($1 ~ /^(tests|bench)\//) ? test : app; next }
    $1 ~ /^\/usr\// { print $1 > out }'
# Link lines: the libraries each executable links.
awk -v app="$tmp/app.files" -v test="$tmp/test.files" '
    /^build / { target = $2; sub(/:$/, "", target) }
    /^ *LINK_LIBRARIES = / {
        out = (target ~ /^app\/lucida(-cli)?$/) ? app : test
        for (i = 3; i <= NF; ++i) if ($i ~ /^\/usr\/.*\.(so|a)/) print $i > out
    }' "$build/build.ninja"
# CMake package files: every <Name>_DIR the configure step found (configuring is part of the build).
grep -E '^[A-Za-z0-9_]+_DIR:(PATH|INTERNAL)=/usr/' "$build/CMakeCache.txt" | cut -d= -f2 |
    while read -r dir; do ls "$dir"/*[Cc]onfig.cmake 2>/dev/null | head -1; done >>"$tmp/app.files"
touch "$tmp/app.files" "$tmp/test.files"

# 2. The packages that own them (dpkg's file lists; merged /usr means a file may be listed under
# /lib rather than /usr/lib).
owners() {
    sort -u "$1" | xargs -r -d '\n' realpath -s -q -e 2>/dev/null | sort -u >"$tmp/used"
    sed 's|^/usr/lib/|/lib/|' "$tmp/used" | cat "$tmp/used" - >"$tmp/used.both"
    grep -F -x -f "$tmp/used.both" /var/lib/dpkg/info/*.list 2>/dev/null |
        sed 's|^/var/lib/dpkg/info/||; s|\.list:| |; s|:[a-z0-9]* | |' | sort -u -k1,1
}
owners "$tmp/app.files" >"$tmp/app.owners"
owners "$tmp/test.files" >"$tmp/test.owners"

# 3. What each list of the script brings in: the packages it names and their dependencies.
closure() {
    bash "$script" --list "$1" | sort -u >"$tmp/$1.named"
    # shellcheck disable=SC2046
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances $(cat "$tmp/$1.named") 2>/dev/null |
        grep -v '^ ' | sed 's/:.*//' | sort -u >"$tmp/$1.closure"
    [[ -s $tmp/$1.closure ]] || {
        echo "check-deps: apt-cache knows none of the packages in '$script --list $1'" \
            "(run apt-get update)" >&2
        exit 2
    }
}
closure build
closure test

# The compiler's own headers come with build-essential's g++ whatever its version is called.
toolchain='^(libc6-dev|libc-dev-bin|linux-libc-dev|libgcc-[0-9]+-dev|libstdc\+\+-[0-9]+-dev|gcc-[0-9]+|g\+\+-[0-9]+|cpp-[0-9]+)$'
status=0
report() {  # group owners-file closure-file
    local missing
    missing=$(cut -d' ' -f1 "$2" | sort -u | comm -23 - "$3" | grep -v -E "$toolchain")
    if [[ -n $missing ]]; then
        echo "check-deps: the $1 uses packages that '$script $4' does not install:"
        for p in $missing; do
            echo "  $p  (e.g. $(grep -m1 "^$p " "$2" | cut -d' ' -f2))"
        done
        status=1
    fi
}
report "build of lucida and lucida-cli" "$tmp/app.owners" "$tmp/build.closure" build
report "build of the tests and benchmarks" "$tmp/test.owners" "$tmp/test.closure" test
if ((status == 0)); then
    echo "check-deps: $(cut -d' ' -f1 "$tmp/app.owners" | sort -u | wc -l) packages used by lucida" \
        "and lucida-cli, $(cut -d' ' -f1 "$tmp/test.owners" | sort -u | wc -l) by the tests and" \
        "benchmarks: all brought in by $script"
fi
exit $status
