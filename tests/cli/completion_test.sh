#!/usr/bin/env bash
# The bash completion script the build writes: valid bash, and it completes every command and every
# option that `plinth <command> --help` lists, and the values of options with fixed choices.
# Usage: completion_test.sh PLINTH_EXE COMPLETION_SCRIPT
set -uo pipefail
plinth=$1
script=$2
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

bash -n "$script" || fail "bash -n $script"
# shellcheck disable=SC1090
source "$script"

# Completes the words given (the last one is the word being typed) and prints the candidates.
complete_words() {
    COMP_WORDS=(plinth "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    _plinth
    printf '%s\n' "${COMPREPLY[@]}"
}
expect() {  # DESCRIPTION WANTED -- WORDS...
    local what=$1 wanted=$2
    shift 3
    local offered  # captured first: grep -q ending a pipe early would fail it under pipefail
    offered=$(complete_words "$@")
    grep -qx -- "$wanted" <<<"$offered" || fail "$what: '$wanted' not offered for: plinth $*"
}

expect "command" plan -- pl
expect "nested command" start -- db st
expect "option" --format -- plan --form
expect "choice" json -- plan --format ""
expect "choice of a global option" never -- --color ""
expect "help's argument" migrate -- help mig
[ -z "$(complete_words plan --lock-timeout "")" ] || fail "a number is offered words"

commands=$("$plinth" --help | awk '/^Subcommands:/ {on = 1; next} on && NF {print $1}')
[ -n "$commands" ] || fail "no commands read from plinth --help"
for command in $commands; do
    expect "command" "$command" -- ""
    for option in $("$plinth" "$command" --help | grep -oE '^  (-[a-z],)?--[a-z-]+' | sed 's/.*--/--/'); do
        expect "option of $command" "$option" -- "$command" --
    done
done

echo "$failures failures"
[ "$failures" -eq 0 ]
