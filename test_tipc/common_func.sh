#!/usr/bin/env bash
# A few shell helpers for test_serving.sh, each taking what it needs as arguments. Everything that
# decides something is in tipc_serving (Python).

# now: the current time in seconds since the epoch, with a fraction (bash 5's EPOCHREALTIME, else date).
now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }

# seconds_since START -> "12.3"
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# progress START TEXT: a progress line counted from START, in the format the Python steps print too.
progress() { printf '[tipc %7ss] %s\n' "$(seconds_since "$1")" "$2"; }

# waited COMMAND...: run COMMAND in the background and wait for it, so that a signal to this shell is
# handled at once (bash defers traps while a foreground command runs); its exit status.
waited() {
    "$@" </dev/null &
    wait "$!"
}

# stop_children: SIGTERM to every background job of this shell, then wait for them (from a trap).
stop_children() {
    local pids
    pids="$(jobs -p)"
    [[ -n "$pids" ]] || return 0
    # shellcheck disable=SC2086  # one pid per word
    kill -TERM $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    wait $pids 2>/dev/null || true
}
