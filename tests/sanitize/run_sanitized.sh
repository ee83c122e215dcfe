#!/bin/sh
# Runs one test command of a -Dsanitize=true build (meson's test wrapper there). ASan, LSan and
# UBSan write their reports, from the test program and from every instrumented process it starts
# (plinth, a forked child), to a folder of this test's own; any report fails the test and is shown,
# even when the process that wrote it had its output swallowed or its exit status ignored.
dir=$(mktemp -d "${TMPDIR:-/tmp}/plinth-sanitizer.XXXXXX") || exit 1
chmod 1777 "$dir"  # processes run as user postgres write here too
here=$(cd "$(dirname "$0")" && pwd)
# Crashes stay crashes (a signal, as the runtime and its tests expect): ASan does not take over
# SIGSEGV, SIGBUS, SIGFPE or SIGILL. Leaks are checked at every instrumented process's exit.
ASAN_OPTIONS="detect_leaks=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:log_path=$dir/report${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$dir/report${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
"$@"
status=$?
if [ -n "$(ls -A "$dir")" ]; then
    for report in "$dir"/*; do
        echo "=== sanitizer report $(basename "$report") ===" >&2
        cat "$report" >&2
    done
    echo "sanitizer reports above: the test fails" >&2
    status=1
fi
rm -rf "$dir"
exit $status
