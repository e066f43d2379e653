#!/usr/bin/env bash
# packaging/check-deps.sh must pass on this build with the real install script, and must fail —
# naming the package and a file of it — when the script misses a package the build uses: the
# script as it was before libqt6opengl6-dev was added (Qt6Charts' CMake package needs Qt6OpenGL's).
# usage: check_deps_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
check() {  # description, condition...
    local what=$1
    shift
    if "$@"; then echo "PASS: $what"; else
        echo "FAIL: $what"
        failures=$((failures + 1))
    fi
}

out=$(bash "$src/packaging/check-deps.sh" "$build" "$src/packaging/install-deps.sh" 2>&1)
rc=$?
echo "$out"
check "the real install script brings in every package the build used" test $rc -eq 0

sed 's/ libqt6opengl6-dev//' "$src/packaging/install-deps.sh" >"$tmp/old-install-deps.sh"
check "the old script really lacks libqt6opengl6-dev" \
    bash -c "! bash '$tmp/old-install-deps.sh' --list test | grep -qx libqt6opengl6-dev"
out=$(bash "$src/packaging/check-deps.sh" "$build" "$tmp/old-install-deps.sh" 2>&1)
rc=$?
echo "$out"
check "the old script is refused (exit 1)" test $rc -eq 1
check "the refusal names libqt6opengl6-dev and one of its files" \
    grep -q -E '^  libqt6opengl6-dev  \(e\.g\. /usr/.*Qt6OpenGL.*\)$' <<<"$out"
check "it is the demo's build (lucida, lucida-cli) that needs it" \
    grep -q "build of lucida and lucida-cli uses packages" <<<"$out"

sed 's/ libcli11-dev//' "$src/packaging/install-deps.sh" >"$tmp/no-cli11.sh"
out=$(bash "$src/packaging/check-deps.sh" "$build" "$tmp/no-cli11.sh" 2>&1)
check "a header-only library missing (CLI11) is found too" \
    grep -q -E '^  libcli11-dev  \(e\.g\. /usr/(include/CLI|share/cmake/CLI11)' <<<"$out"

echo "$((6 - failures)) passed, $failures failed"
exit $((failures > 0))
