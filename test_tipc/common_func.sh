#!/usr/bin/env bash
# Small functions for test_serving.sh: progress and status lines, steps that can be interrupted,
# and the service's start / wait-until-ready / stop. Anything with logic is in tipc_serving (Python).
#
# Globals they use: PY (the project's Python for helpers), RUN_DIR, STATUS_LOG, MODEL_NAME,
# SERVING_DIR, HARNESS_START, and for a case CASE_DIR, SERVICE_URL, HTTP_PORT, READY_TIMEOUT,
# STOP_GRACE. They set: CURRENT_PID (the step running now), SERVICE_PID, STARTED_GROUPS.
# shellcheck disable=SC2153  # those globals are set by test_serving.sh

CURRENT_PID=""
SERVICE_PID=""
STARTED_GROUPS=()

now() { printf '%s' "$EPOCHREALTIME"; }

# seconds_since START -> "12.3"
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

progress() { printf '[tipc %7ss] %s\n' "$(seconds_since "$HARNESS_START")" "$*"; }

# The one-line form of a command, as a person would type it.
command_text() { local IFS=' '; printf '%s' "$*"; }

# TIPC's status line, which PaddlePaddle's nightly CI greps for "with command" and splits on " - ".
status_line() {  # rc command_text log_path
    local rc="$1" command="$2" log="$3" line
    if [[ "$rc" -eq 0 ]]; then
        line="Run successfully with command - ${MODEL_NAME} - ${command} - ${log}!"
    else
        line="Run failed with command - ${MODEL_NAME} - ${command} - ${log}!"
    fi
    printf '%s\n' "$line" >>"$STATUS_LOG"
    printf '%s\n' "$line"
}

# run_step LOG DIR COMMAND...: run COMMAND in DIR with stdout and stderr to LOG. It runs in the
# background and is waited for, so that a signal to the harness is handled at once (bash defers
# traps while a foreground command runs) and the trap knows which child to stop.
run_step() {
    local log="$1" dir="$2"
    shift 2
    (cd "$dir" && exec "$@") >"$log" 2>&1 </dev/null &
    CURRENT_PID=$!
    local rc=0
    wait "$CURRENT_PID" || rc=$?
    CURRENT_PID=""
    return "$rc"
}

# start_service CASE_DIR COMMAND...: start the service in its own session (setsid: its own process
# group), with its log and Paddle Serving's own logs in CASE_DIR. Sets SERVICE_PID, which is also the
# process group id (setsid does not fork here: a background child of a script is no group leader).
start_service() {
    local case_dir="$1"
    shift
    (cd "$SERVING_DIR" && exec env SERVING_LOG_PATH="$case_dir" SERVING_HOME="$case_dir" \
        setsid "$@") >"$case_dir/server.log" 2>&1 </dev/null &
    SERVICE_PID=$!
    STARTED_GROUPS+=("$SERVICE_PID")
    printf '%s\n' "$SERVICE_PID" >>"$RUN_DIR/.started_groups"
}

# True while the service's main process runs (a zombie awaiting its reaping counts as dead).
service_is_alive() {
    [[ -n "$SERVICE_PID" ]] && kill -0 "$SERVICE_PID" 2>/dev/null \
        && [[ "$(awk '/^State:/ { print $2 }' "/proc/$SERVICE_PID/status" 2>/dev/null)" != "Z" ]]
}

# describe_exit STATUS: "1", or "137 (killed by SIGKILL)" for a status from a signal.
describe_exit() {
    if [[ "$1" -gt 128 ]]; then
        printf '%s (killed by SIG%s)' "$1" "$(kill -l "$(($1 - 128))")"
    else
        printf '%s' "$1"
    fi
}

# wait_until_ready LOG: poll until the service answers, dies, or READY_TIMEOUT passes.
wait_until_ready() {
    run_step "$1" "$REPO_ROOT" "$PY" -m tipc_serving wait-ready --pid "$SERVICE_PID" --url "$SERVICE_URL" \
        --http-port "$HTTP_PORT" --timeout "$READY_TIMEOUT" --log "$CASE_DIR/server.log"
}

forget_group() {
    local pgid="$1" kept=() group
    for group in "${STARTED_GROUPS[@]}"; do
        [[ "$group" == "$pgid" ]] || kept+=("$group")
    done
    STARTED_GROUPS=("${kept[@]}")
}

# stop_group PGID [LOG]: SIGINT, then SIGTERM and SIGKILL to the group (tipc_serving.service), then
# reap the leader. Sets STOP_MESSAGE.
stop_group() {
    local pgid="$1" log="${2:-/dev/null}"
    STOP_MESSAGE="$("$PY" -m tipc_serving stop --pgid "$pgid" --grace "$STOP_GRACE" 2>&1 | tee -a "$log")"
    wait "$pgid" 2>/dev/null || true
    forget_group "$pgid"
}

stop_service() {
    [[ -n "$SERVICE_PID" ]] || return 0
    stop_group "$SERVICE_PID" "$CASE_DIR/stop.log"
    SERVICE_PID=""
}

# Stop whatever this run started and is still running: the current step, then every service group.
stop_everything() {
    if [[ -n "$CURRENT_PID" ]]; then
        kill -TERM "$CURRENT_PID" 2>/dev/null || true
        wait "$CURRENT_PID" 2>/dev/null || true
        CURRENT_PID=""
    fi
    local group
    for group in "${STARTED_GROUPS[@]}"; do
        stop_group "$group"
        progress "stopped service group $group: $STOP_MESSAGE"
    done
    SERVICE_PID=""
}
