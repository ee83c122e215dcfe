#!/usr/bin/env bash
# The installed SDK as a plugin author outside this repository uses it: install into a temporary
# prefix, write a plugin with the installed `plinth new`, build it with meson (through pkg-config),
# with CMake (find_package) and with one g++ command, then check it and migrate it next to the
# installed core plugin against a real PostgreSQL (the installed plinth's embedded server).
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
WORK=$(mktemp -d /tmp/plinth-sdk-test.XXXXXX)
chmod 755 "$WORK"  # the embedded server runs as an unprivileged user that must reach its data
PLINTH=
cleanup() {
    [ -n "$PLINTH" ] && "$PLINTH" db stop --data-dir "$WORK/db" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
step() { echo "--- $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

step "install into $WORK/root"
meson install -C "$BUILD" --no-rebuild --destdir "$WORK/root" >/dev/null
PLINTH=$(find "$WORK/root" -path '*/bin/plinth' -type f)
PC_DIR=$(dirname "$(find "$WORK/root" -name plinth-sdk.pc)")
PREFIX=$(cd "$(dirname "$PLINTH")/.." && pwd)
export PKG_CONFIG_PATH=$PC_DIR
grep -q '^prefix=${pcfiledir}' "$PC_DIR/plinth-sdk.pc" ||
    fail "plinth-sdk.pc is not relocatable: a build folder configured before pkgconfig.relocatable became a default option; run: meson configure $BUILD -Dpkgconfig.relocatable=true"
[ -f "$(pkg-config --variable=exportmap plinth-sdk)" ] || fail "pkg-config's exportmap does not exist"
PLUGIN_DIR=$(pkg-config --variable=plugindir plinth-sdk)
[ -f "$PLUGIN_DIR/core.so" ] || fail "pkg-config's plugindir $PLUGIN_DIR has no core.so"
COMPLETION=$PREFIX/share/bash-completion/completions/plinth
bash -n "$COMPLETION" || fail "the installed bash completion $COMPLETION is missing or not valid bash"

step "plinth new notes"
cd "$WORK"
"$PLINTH" new notes --dir notes
"$PLINTH" new notes --dir notes 2>/dev/null && fail "plinth new wrote into a folder that is not empty"
bad=$("$PLINTH" new 'Bad Name' --dir bad 2>&1) && fail "a bad plugin name was accepted"
[[ $bad == *'plugin name "Bad Name" is not usable'* ]] || fail "unclear message for a bad name: $bad"

step "build with meson through pkg-config"
(cd notes && meson setup build >/dev/null && ninja -C build >/dev/null)
step "build with CMake"
(cd notes && cmake -S . -B build-cmake -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null && cmake --build build-cmake >/dev/null)
step "build with one g++ command"
mkdir gxx
(cd notes && g++ -std=c++20 -shared -fPIC -fvisibility=hidden notes.cpp -o ../gxx/notes.so \
    $(pkg-config --cflags --libs plinth-sdk))

for so in notes/build/notes.so notes/build-cmake/notes.so gxx/notes.so; do
    exports=$(nm -D --defined-only "$so" | awk '{print $3}')
    [ "$exports" = plinth_plugin_entry_v1 ] || fail "$so exports more than its entry symbol: $exports"
    step "installed plinth check: $so next to the installed core"
    "$PLINTH" check --plugins "$(dirname "$so")" --plugins "$PLUGIN_DIR" >check.out || { cat check.out; fail "check $so"; }
    grep -q 'notes 0.1.0' check.out || fail "check does not list notes"
    if grep -q '^warnings:' check.out; then cat check.out; fail "check warns about $so"; fi
done

step "installed plinth finds the installed plugins by itself"
"$PLINTH" describe core --format json >describe.json || fail "describe core without --plugins"
grep -q '"public.agents"' describe.json || fail "describe core does not show public.agents"

step "the same plugin name in two folders names both files"
if "$PLINTH" check --plugins notes/build --plugins gxx >dup.out 2>&1; then cat dup.out; fail "duplicate accepted"; fi
grep -q "gxx/notes.so.*plugin name is also used by notes/build/notes.so\|notes/build/notes.so.*plugin name is also used by gxx/notes.so" dup.out \
    || { cat dup.out; fail "duplicate message does not name both files"; }

step "PLINTH_PLUGINS_PATH takes a colon-separated list"
PLINTH_PLUGINS_PATH="notes/build:$PLUGIN_DIR" "$PLINTH" check >path.out || { cat path.out; fail "check with PLINTH_PLUGINS_PATH"; }
grep -q 'plugins folders: notes/build, ' path.out || { cat path.out; fail "PLINTH_PLUGINS_PATH not used"; }

step "installed plinth migrate, notes next to core, on a real PostgreSQL"
"$PLINTH" migrate --data-dir "$WORK/db" --plugins notes/build --plugins "$PLUGIN_DIR"
"$PLINTH" plan --data-dir "$WORK/db" --plugins notes/build --plugins "$PLUGIN_DIR" >plan.out \
    || { cat plan.out; fail "plan after migrate is not up to date"; }
echo "the installed SDK works out of tree"
