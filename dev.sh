#!/usr/bin/env bash
# The project's two entry points on a fresh Debian 12 machine:
#   ./dev.sh run    install what is needed, build, run plinth with the shipped plugins
#   ./dev.sh test   install what is needed, build, run the whole test suite
# Extra arguments after `run` go to plinth (default: `run`).
set -euo pipefail
cd "$(dirname "$0")"

# `run` builds as a release would (GCC, the project's default, optimised, with debug information);
# `test` builds for development with clang, without optimisation or debug information: clang at -O0
# compiles this code in about 60% of GCC's time, and what the tests prove does not depend on the
# optimiser. It also compiles four source files of a target as one (meson's unity build), which
# parses the shared headers once instead of four times. The SDK's own build test still compiles
# plugins with g++, meson and CMake, and `run` builds every file on its own, so a missing include
# still fails there. The test build is also instrumented with AddressSanitizer (LeakSanitizer
# included) and UndefinedBehaviorSanitizer (meson option sanitize): the one run of the suite is
# the sanitized run, and a sanitizer report from any program of it fails its test.
RUN_BUILD_DIR=${PLINTH_BUILD_DIR:-build}
TEST_BUILD_DIR=${PLINTH_TEST_BUILD_DIR:-build-test}
PACKAGES=(g++ clang meson ninja-build pkg-config cmake python3 libboost-dev libpq-dev libspdlog-dev doctest-dev
          libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libxxhash-dev postgresql-15 postgresql-server-dev-15 pgbouncer
          postgresql-15-auto-failover)

install_dependencies() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

build() {  # DIR [meson setup options...]
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >&2
    elif [ $# -gt 0 ]; then
        meson configure "$dir" "$@" >&2  # a folder set up before an option was added gets it too
    fi
    # Two cores on CI and the developers' machines: keep the build lean.
    ninja -C "$dir" -j "${PLINTH_JOBS:-2}" >&2
}

case "${1:-}" in
    run)
        shift
        install_dependencies
        build "$RUN_BUILD_DIR"
        if [ $# -eq 0 ]; then
            set -- run
            # As root, the embedded server runs as user postgres, which must reach the data folder.
            # A clone under /root (mode 0700) is out of its reach: keep the data in /var/lib then.
            if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$PWD"; then
                data_dir=/var/lib/plinth/$(printf '%s' "$PWD" | md5sum | cut -c1-12)
                mkdir -p /var/lib/plinth
                echo "note: user postgres cannot reach $PWD; the embedded database lives in $data_dir" >&2
                set -- run --data-dir "$data_dir"
            fi
        fi
        exec "$RUN_BUILD_DIR/runtime/plinth" "$@"
        ;;
    test)
        install_dependencies
        # The vector tests run against real pgvector, built from the vendored archive when missing.
        tests/support/install_pgvector.sh
        CC=${CC:-clang} CXX=${CXX:-clang++} build "$TEST_BUILD_DIR" -Doptimization=0 -Ddebug=false -Dunity=on -Dunity_size=4 \
            -Dsanitize=true
        status=0
        # Two test programs at a time: they mostly wait on their PostgreSQL servers.
        meson test -C "$TEST_BUILD_DIR" --num-processes "${PLINTH_TEST_PROCESSES:-2}" --print-errorlogs || status=$?
        python3 tests/summarize.py "$TEST_BUILD_DIR/meson-logs/testlog.json" || status=1
        exit $status
        ;;
    *)
        echo "usage: $0 run [plinth arguments...] | test" >&2
        exit 2
        ;;
esac
