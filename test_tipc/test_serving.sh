#!/usr/bin/env bash
# The serving TIPC chain: prepare the model, start the Paddle Serving pipeline service once per
# setting of the config's matrix, run the clients, stop the service, and check the answers against
# the Paddle Inference reference.
#
#   bash test_tipc/test_serving.sh [CONFIG ...] [options]      (default config: configs/alexnet_serving.txt)
#   bash test_tipc/test_serving.sh configs/*.txt --shard 2/3   (every config; the shell expands the glob)
#
# Options:
#   --shard I/N          run only shard I of N of all the configs' cases (nightly CI fan-out)
#   --http-port P        HTTP port of the service (default: the service's config.yml)
#   --rpc-port P         gRPC port of the service (default: the service's config.yml)
#   --ready-timeout S    seconds a service may take to answer (default: the config's, else 60)
#   --stop-grace S       seconds between SIGINT, SIGTERM and SIGKILL when stopping (default 10)
#   --gpus auto|0|1      whether GPU cases run (default auto: nvidia-smi lists a GPU)
#   --output-dir DIR     where runs go (default test_tipc/output)
#   --benchmark          after the first case that passes (or each of --benchmark-cases), measure
#                        the served model against direct Paddle Inference (tools/benchmark.py)
#   --benchmark-cases A,B  the cases to benchmark ("all" for every passed case)
#   --netns auto|on|off  run in a private network namespace with only loopback (default auto: when
#                        this machine allows it, else on the host network, saying so; on: required)
#
# Output: test_tipc/output/<model>/serving_python/<run id>/ (a `latest` link points at the newest):
# results_serving_python.log (TIPC status lines), results.json, junit.xml, and per case the server,
# client and check logs and Paddle Serving's own logs. Exit status: 0 when every case that ran passed,
# 1 when something failed, 2 for a bad config or bad arguments (nothing started), 130/143 when
# interrupted. Every service this script starts is stopped by its process group, whatever happens.
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 2
# shellcheck source=test_tipc/common_func.sh
source "$REPO_ROOT/test_tipc/common_func.sh"

HARNESS_START="${TIPC_HARNESS_START:-$(now)}"  # kept across the re-exec into a network namespace
DEFAULT_CONFIG="configs/alexnet_serving.txt"
CONFIGS=()
PLAN_OPTIONS=()
OUTPUT_DIR="$REPO_ROOT/test_tipc/output"
STOP_GRACE=10
ACTIVE_RUN_DIR=""
ORIGINAL_ARGS=("$@")
NETNS_MODE=auto
BENCHMARK=0
BENCHMARK_CASES=""
BENCHMARKED=0
NETWORK_STATUS=skipped
NETWORK_NOTE=""
INTERRUPTED_BY=""
OVERALL_STATUS=0

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

die_usage() {
    echo "test_serving.sh: error: $*" >&2
    exit 2
}

parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --shard|--http-port|--rpc-port|--ready-timeout|--gpus)
                [[ $# -ge 2 ]] || die_usage "$1 needs a value"
                PLAN_OPTIONS+=("$1" "$2"); shift 2 ;;
            --output-dir)
                [[ $# -ge 2 ]] || die_usage "$1 needs a value"
                OUTPUT_DIR="$(realpath -m "$2")"; shift 2 ;;
            --benchmark) BENCHMARK=1; shift ;;
            --benchmark-cases)
                [[ $# -ge 2 ]] || die_usage "$1 needs a value"
                BENCHMARK=1; BENCHMARK_CASES="$2"; shift 2 ;;
            --netns)
                [[ $# -ge 2 && "$2" =~ ^(auto|on|off)$ ]] || die_usage "--netns takes auto, on or off"
                NETNS_MODE="$2"; shift 2 ;;
            --stop-grace)
                [[ $# -ge 2 && "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] || die_usage "--stop-grace needs a number of seconds"
                STOP_GRACE="$2"; shift 2 ;;
            -*) die_usage "unknown option '$1' (see --help)" ;;
            *) CONFIGS+=("$1"); shift ;;
        esac
    done
    [[ ${#CONFIGS[@]} -gt 0 ]] || CONFIGS=("$DEFAULT_CONFIG")
}

# Loopback traffic must never go through a proxy: a set http_proxy breaks the client and can hang
# Paddle Serving's gateway.
clear_proxies() {
    unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
    export NO_PROXY="127.0.0.1,localhost,::1" no_proxy="127.0.0.1,localhost,::1"
}

report() { "$PY" -m tipc_serving report "$@"; }

# Paddle Serving's HTTP gateway listens on every interface and its gRPC server on [::]. The whole
# chain therefore runs in a network namespace of its own with only loopback: its services answer
# this run and nothing else, and cannot collide with ports in use outside. This re-executes the
# script under unshare (root, or unprivileged user namespaces) after the bootstrap, which may need
# the network. Where neither works, the run stays on the host network and says so.
enter_private_network() {
    if [[ -n "${TIPC_NETNS:-}" ]]; then
        local problem
        if ! problem="$("$PY" -m tipc_serving loopback-up)"; then
            echo "test_serving.sh: error: in the network namespace: $problem" >&2
            exit 2
        fi
        NETWORK_STATUS=passed
        NETWORK_NOTE="private network namespace ($TIPC_NETNS): only loopback, unreachable from outside"
        return 0
    fi
    if [[ "$NETNS_MODE" == off ]]; then
        NETWORK_NOTE="host network (--netns off): the service's gateway listens on every interface"
        return 0
    fi
    local how
    for how in "--net" "--map-root-user --net"; do
        # shellcheck disable=SC2086  # $how is two words on purpose
        if unshare $how "$PY" -m tipc_serving loopback-up >/dev/null 2>&1; then
            export TIPC_NETNS="unshare $how" TIPC_BOOTSTRAPPED_PYTHON="$PY" TIPC_BOOTSTRAP_SECONDS="$BOOTSTRAP_SECONDS" \
                TIPC_HARNESS_START="$HARNESS_START"
            # shellcheck disable=SC2086
            exec unshare $how -- bash "${BASH_SOURCE[0]}" "${ORIGINAL_ARGS[@]}"
        fi
    done
    if [[ "$NETNS_MODE" == on ]]; then
        echo "test_serving.sh: error: --netns on, but no network namespace can be made here" \
             "(unshare --net and unshare --map-root-user --net both failed)" >&2
        exit 2
    fi
    NETWORK_NOTE="host network: no network namespace can be made here (unshare failed); the service's gateway listens on every interface while a case runs"
}

# ------------------------------------------------------------------ steps of one config

# failure_reason STATUS LOG: the step's own one-line error when it printed one, else the exception a
# Python traceback ended with, else its last non-empty line.
failure_reason() {
    local line
    line="$(grep -m 1 -E '^[A-Za-z0-9_.]+: error: ' "$2")" \
        || line="$(grep -E '^[A-Za-z_.]*(Error|Exception)[A-Za-z]*: ' "$2" | tail -n 1)"
    [[ -n "$line" ]] || line="$(grep -v '^[[:space:]]*$' "$2" | tail -n 1)"
    printf 'exit status %s: %s (see %s)' "$1" "${line:0:300}" "$2"
}

# prepare_step NAME LOG DIR COMMAND...: one named step with its status line and report entry.
prepare_step() {
    local name="$1" log="$2" dir="$3"
    shift 3
    local start rc=0 seconds status reason=""
    start="$(now)"
    progress "$MODEL_NAME: $name: $(command_text "$@")"
    run_step "$log" "$dir" "$@" || rc=$?
    seconds="$(seconds_since "$start")"
    status_line "$rc" "$(command_text "$@")" "$log"
    if [[ "$rc" -eq 0 ]]; then status=passed; else status=failed; reason="$(failure_reason "$rc" "$log")"; fi
    report step "$RUN_DIR" "$name" --status "$status" --seconds "$seconds" --log "$log" --reason "$reason" >/dev/null
    progress "$MODEL_NAME: $name $status in ${seconds}s"
    return "$rc"
}

prepare_model() {
    if [[ "$MODEL_PRESENT" == "1" ]]; then
        report step "$RUN_DIR" export --status skipped --seconds 0 --reason "inference model present in $MODEL_DIR" >/dev/null
        progress "$MODEL_NAME: export skipped: inference model present in $MODEL_DIR"
        return 0
    fi
    prepare_step export "$RUN_DIR/export.log" "$REPO_ROOT" "$SERVING_PYTHON" "${EXPORT_ARGS[@]}"
}

convert_model() {
    local since start
    since="$(date +%s)"
    start="$(now)"
    prepare_step convert "$RUN_DIR/convert.log" "$REPO_ROOT" "$SERVING_PYTHON" "${CONVERT_ARGS[@]}" || return 1
    # A zero exit status is not enough: the converter must have written its files, just now.
    local missing
    local check=("$PY" -m tipc_serving converted --since "$since" "$SERVING_SERVER" "$SERVING_CLIENT")
    if ! missing="$("${check[@]}")"; then
        status_line 1 "$(command_text "${check[@]}")" "$RUN_DIR/convert.log"
        report step "$RUN_DIR" convert --status failed --seconds "$(seconds_since "$start")" --reason "$missing" \
            --log "$RUN_DIR/convert.log" >/dev/null
        progress "$MODEL_NAME: convert failed: $missing"
        return 1
    fi
}

make_reference() {
    prepare_step reference "$RUN_DIR/reference.log" "$REPO_ROOT" "$SERVING_PYTHON" "${REFERENCE_ARGS[@]}" \
        --output-json "$RUN_DIR/reference.json" || return 1
    check_golden
}

# The fresh reference against the golden results kept in git, when they were made the same way.
check_golden() {
    local golden="$REPO_ROOT/test_tipc/results/${MODEL_NAME}_fp32.json" rc=0 start
    start="$(now)"
    if [[ ! -f "$golden" ]]; then
        report step "$RUN_DIR" golden --status skipped --seconds 0 --reason "no golden file $golden" >/dev/null
        return 0
    fi
    # A model brought along (--dirname at an existing inference model) has no export_info.json: the
    # golden file describes tools/export_model.py's seeded export and says nothing about it.
    if [[ ! -f "$MODEL_DIR/export_info.json" ]]; then
        local why="$MODEL_DIR has no export_info.json (not made by tools/export_model.py): $golden does not apply"
        report step "$RUN_DIR" golden --status skipped --seconds 0 --reason "$why" >/dev/null
        progress "$MODEL_NAME: golden skipped: $why"
        return 0
    fi
    local command=("$PY" test_tipc/compare_results.py --reference "$RUN_DIR/reference.json" --golden "$golden"
                   --export-info "$MODEL_DIR/export_info.json")
    run_step "$RUN_DIR/golden.log" "$REPO_ROOT" "${command[@]}" || rc=$?
    local status=passed
    if [[ "$rc" -ne 0 ]]; then
        status=failed
    elif head -n 1 "$RUN_DIR/golden.log" | grep -q '^golden: SKIP'; then
        status=skipped
    fi
    [[ "$status" == skipped ]] || status_line "$rc" "$(command_text "${command[@]}")" "$RUN_DIR/golden.log"
    report step "$RUN_DIR" golden --status "$status" --seconds "$(seconds_since "$start")" \
        --reason "$(head -n 1 "$RUN_DIR/golden.log")" --log "$RUN_DIR/golden.log" >/dev/null
    progress "$MODEL_NAME: golden $status: $(head -n 1 "$RUN_DIR/golden.log")"
    return "$rc"
}

# ------------------------------------------------------------------ one case

wants_benchmark() {  # case name
    [[ "$BENCHMARK" == 1 ]] || return 1
    case "$BENCHMARK_CASES" in
        "") [[ "$BENCHMARKED" == 0 ]] ;;
        all) return 0 ;;
        *) [[ ",$BENCHMARK_CASES," == *",$1,"* ]] ;;
    esac
}

# run_benchmark NAME OPTS...: served vs direct while the case's service is still up.
run_benchmark() {
    local name="$1" rc=0
    shift
    local command=("$SERVING_PYTHON" tools/benchmark.py --url "$SERVICE_URL" --pgid "$SERVICE_PID"
                   --model-dir "$MODEL_DIR" --images "$IMAGE_PATH" --out "$CASE_DIR/benchmark"
                   --config "$WEB_SERVICE_CONFIG" --name "$OP_NAME" --reference "$RUN_DIR/reference.json"
                   --title "$MODEL_NAME $name: served vs direct")
    [[ $# -gt 0 ]] && command+=(--opt "$@")
    progress "$MODEL_NAME: case $name: benchmark (tools/benchmark.py, a few minutes)"
    run_step "$CASE_DIR/benchmark.log" "$REPO_ROOT" "${command[@]}" || rc=$?
    status_line "$rc" "$(command_text "${command[@]}")" "$CASE_DIR/benchmark.log"
    sed -n '/^| path/,$p' "$CASE_DIR/benchmark.log"
    BENCHMARKED=1
    return "$rc"
}

case_var() { local name="CASE_${1}_${2}"; printf '%s' "${!name}"; }

finish_case() {  # name status reason case_start [extra report args...]
    local name="$1" status="$2" reason="$3" case_start="$4"
    shift 4
    report case "$RUN_DIR" "$name" --status "$status" --reason "$reason" \
        --timing "total_s=$(seconds_since "$case_start")" "$@" >/dev/null
    progress "$MODEL_NAME: case $name ${status^^}${reason:+: $reason}"
    [[ "$status" == passed ]]
}

# run_client LOG ARGV...: a client over the test images; prints nothing, returns its status.
run_client() {
    local log="$1" rc=0
    shift
    run_step "$log" "$SERVING_DIR" "$SERVING_PYTHON" "$@" || rc=$?
    status_line "$rc" "$(command_text "$SERVING_PYTHON" "$@")" "$log"
    return "$rc"
}

# check_answers LOG OUT_JSON: compare a client log with the reference.
check_answers() {
    local client_log="$1" out_json="$2" rc=0
    local command=("$PY" test_tipc/compare_results.py --reference "$RUN_DIR/reference.json" --client-log "$client_log"
                   --atol "$CASE_ATOL" --rtol "$CASE_RTOL" --json-out "$out_json")
    run_step "${out_json%.json}.log" "$REPO_ROOT" "${command[@]}" || rc=$?
    status_line "$rc" "$(command_text "${command[@]}")" "${out_json%.json}.log"
    return "$rc"
}

run_case() {
    local index="$1" name skip opts_name case_start t rc
    name="$(case_var NAME "$index")"
    skip="$(case_var SKIP "$index")"
    CASE_ATOL="$(case_var ATOL "$index")"
    CASE_RTOL="$(case_var RTOL "$index")"
    opts_name="CASE_OPTS_${index}[@]"
    local opts=("${!opts_name}")
    CASE_DIR="$RUN_DIR/$name"
    if [[ -n "$skip" ]]; then
        progress "$MODEL_NAME: case $name SKIPPED: $skip"
        return 0
    fi
    mkdir -p "$CASE_DIR"
    case_start="$(now)"
    report case "$RUN_DIR" "$name" --status running --log "server=$CASE_DIR/server.log" \
        --log "client=$CASE_DIR/client.log" --log "pipeline=$CASE_DIR/PipelineServingLogs" >/dev/null
    progress "$MODEL_NAME: case $name: starting"

    local busy
    if ! busy="$("$PY" -m tipc_serving ports "$HTTP_PORT" "$RPC_PORT")"; then
        finish_case "$name" failed "${busy//$'\n'/; } (not touched; free it or pass --http-port/--rpc-port)" "$case_start"
        return 1
    fi

    local server_command=("$SERVING_PYTHON" "${WEB_SERVICE_ARGV[@]}")
    [[ ${#opts[@]} -gt 0 ]] && server_command+=(--opt "${opts[@]}")
    t="$(now)"
    start_service "$CASE_DIR" "${server_command[@]}"
    if ! wait_until_ready "$CASE_DIR/ready.log"; then
        local why
        why="$(tail -n 1 "$CASE_DIR/ready.log")"
        if ! service_is_alive; then
            local service_rc=0
            wait "$SERVICE_PID" 2>/dev/null || service_rc=$?
            why="$why; its exit status: $(describe_exit "$service_rc")"
        fi
        status_line 1 "$(command_text "${server_command[@]}")" "$CASE_DIR/server.log"
        stop_service
        finish_case "$name" failed "service not ready: $why" "$case_start" --timing "start_s=$(seconds_since "$t")"
        return 1
    fi
    local start_s
    start_s="$(seconds_since "$t")"
    status_line 0 "$(command_text "${server_command[@]}")" "$CASE_DIR/server.log"
    progress "$MODEL_NAME: case $name: service ready in ${start_s}s (pid $SERVICE_PID)"

    local client_rc=0 rpc_rc=0 client_s rpc_s="0"
    t="$(now)"
    run_client "$CASE_DIR/client.log" "${CLIENT_ARGV[@]}" || client_rc=$?
    client_s="$(seconds_since "$t")"
    if [[ ${#RPC_CLIENT_ARGV[@]} -gt 0 ]]; then
        t="$(now)"
        run_client "$CASE_DIR/rpc_client.log" "${RPC_CLIENT_ARGV[@]}" || rpc_rc=$?
        rpc_s="$(seconds_since "$t")"
    fi
    local died=""
    if ! died="$("$PY" -m tipc_serving health --pid "$SERVICE_PID")"; then
        died="$died while the clients ran (see $CASE_DIR/server.log)"
    fi
    local benchmark_rc=0
    if [[ -z "$died" && "$client_rc" -eq 0 ]] && wants_benchmark "$name"; then
        run_benchmark "$name" "${opts[@]}" || benchmark_rc=$?
    fi

    t="$(now)"
    stop_service
    local stop_s
    stop_s="$(seconds_since "$t")"

    t="$(now)"
    local check_rc=0 rpc_check_rc=0
    check_answers "$CASE_DIR/client.log" "$CASE_DIR/check.json" || check_rc=$?
    if [[ ${#RPC_CLIENT_ARGV[@]} -gt 0 ]]; then
        check_answers "$CASE_DIR/rpc_client.log" "$CASE_DIR/check_rpc.json" || rpc_check_rc=$?
    fi
    local check_s
    check_s="$(seconds_since "$t")"

    local reasons=()
    [[ -n "$died" ]] && reasons+=("$died")
    [[ "$client_rc" -eq 0 ]] || reasons+=("HTTP client exit status $client_rc: $(grep -m1 'error' "$CASE_DIR/client.log" || true)")
    [[ "$rpc_rc" -eq 0 ]] || reasons+=("gRPC client exit status $rpc_rc: $(grep -m1 'error' "$CASE_DIR/rpc_client.log" || true)")
    [[ "$check_rc" -eq 0 ]] || reasons+=("HTTP answers: $(head -n 1 "$CASE_DIR/check.log")")
    [[ "$rpc_check_rc" -eq 0 ]] || reasons+=("gRPC answers: $(head -n 1 "$CASE_DIR/check_rpc.log")")
    [[ "$benchmark_rc" -eq 0 ]] || reasons+=("benchmark: $(grep -m1 'error' "$CASE_DIR/benchmark.log" || echo "exit status $benchmark_rc")")
    local status=passed reason
    [[ ${#reasons[@]} -eq 0 ]] || status=failed
    if [[ "$status" == passed ]]; then
        reason="$(head -n 1 "$CASE_DIR/check.log")"
    else
        reason="$(printf '%s; ' "${reasons[@]}")"
        reason="${reason%; }"
    fi
    local check_json=()
    [[ -f "$CASE_DIR/check.json" ]] && check_json=(--check-json "$CASE_DIR/check.json")
    finish_case "$name" "$status" "$reason" "$case_start" "${check_json[@]}" \
        --timing "start_s=$start_s" --timing "client_s=$client_s" --timing "rpc_client_s=$rpc_s" \
        --timing "stop_s=$stop_s" --timing "check_s=$check_s"
}

# ------------------------------------------------------------------ one config

run_config() {
    local index="$1" assignments
    assignments="$("$PY" -m tipc_serving shell "$PLAN_FILE" --index "$index" --cases-json "$WORK_DIR/cases_$index.json")" \
        || return 1
    eval "$assignments"
    local model_out="$OUTPUT_DIR/$MODEL_NAME/serving_python"
    RUN_DIR="$model_out/$RUN_ID"
    mkdir -p "$RUN_DIR"
    ln -sfn "$RUN_ID" "$model_out/latest"
    STATUS_LOG="$RUN_DIR/results_serving_python.log"
    : >"$STATUS_LOG"
    cp "$PLAN_FILE" "$RUN_DIR/plan.json"
    local shard_args=()
    [[ -n "$SHARD" ]] && shard_args=(--shard "$SHARD")
    report init "$RUN_DIR" --model-name "$MODEL_NAME" --config "$CONFIG_PATH" --run-id "$RUN_ID" \
        "${shard_args[@]}" --cases-json "$WORK_DIR/cases_$index.json" || return 1
    ACTIVE_RUN_DIR="$RUN_DIR"
    report step "$RUN_DIR" bootstrap --status passed --seconds "$BOOTSTRAP_SECONDS" --reason "$PY" >/dev/null
    report step "$RUN_DIR" network --status "$NETWORK_STATUS" --seconds 0 --reason "$NETWORK_NOTE" >/dev/null
    progress "$MODEL_NAME: run $RUN_ID in $RUN_DIR"
    progress "$MODEL_NAME: $SERVING_PYTHON_NOTE"

    local finish_args=()
    if prepare_model && convert_model && make_reference; then
        local case_index
        for ((case_index = 0; case_index < CASE_COUNT; case_index++)); do
            run_case "$case_index" || true
        done
    else
        finish_args=(--reason "not reached: a preparation step failed (see the steps above)")
    fi
    local rc=0
    report finish "$RUN_DIR" "${finish_args[@]}" || rc=$?
    ACTIVE_RUN_DIR=""
    return "$rc"
}

# ------------------------------------------------------------------ teardown

# shellcheck disable=SC2317,SC2329  # runs from a trap
on_signal() {
    INTERRUPTED_BY="$1"
    progress "received SIG$1: stopping every service this run started"
    exit "$2"
}

# shellcheck disable=SC2317,SC2329  # runs from a trap
cleanup() {
    local rc=$?
    trap - INT TERM
    stop_everything
    if [[ -n "$ACTIVE_RUN_DIR" ]]; then
        report finish "$ACTIVE_RUN_DIR" --interrupted \
            --reason "run interrupted${INTERRUPTED_BY:+ by SIG$INTERRUPTED_BY} before this case finished" || true
    fi
    [[ -n "${WORK_DIR:-}" ]] && rm -rf "$WORK_DIR"
    exit "$rc"
}

# ------------------------------------------------------------------ main

bootstrap() {
    if [[ -n "${TIPC_BOOTSTRAPPED_PYTHON:-}" ]]; then  # done before entering the network namespace
        PY="$TIPC_BOOTSTRAPPED_PYTHON"
        BOOTSTRAP_SECONDS="${TIPC_BOOTSTRAP_SECONDS:-0}"
        return 0
    fi
    local start
    start="$(now)"
    progress "bootstrap: bash tools/setup_env.sh"
    # The bootstrap's progress lines go to stdout with the rest of the progress; stderr stays for errors.
    { PY="$(bash "$REPO_ROOT/tools/setup_env.sh" 2>&3 | tail -n 1)"; } 3>&1
    if [[ ! -x "$PY" ]]; then
        echo "test_serving.sh: error: the environment could not be prepared (see above)" >&2
        exit 2
    fi
    BOOTSTRAP_SECONDS="$(seconds_since "$start")"
}

main() {
    parse_args "$@"
    trap cleanup EXIT
    trap 'on_signal INT 130' INT
    trap 'on_signal TERM 143' TERM
    clear_proxies
    bootstrap
    enter_private_network  # may re-execute this script: nothing of this process's own is made before
    progress "network: $NETWORK_NOTE"
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tipc-serving.XXXXXX")"

    PLAN_FILE="$WORK_DIR/plan.json"
    progress "plan: ${CONFIGS[*]}"
    "$PY" -m tipc_serving plan "${CONFIGS[@]}" --output "$PLAN_FILE" "${PLAN_OPTIONS[@]}" || exit 2
    SHARD="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["shard"] or "")' "$PLAN_FILE")"
    RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)-$$-$RANDOM"  # unique even for shards sharing a volume

    local count index
    count="$("$PY" -m tipc_serving shell "$PLAN_FILE" --count)"
    for ((index = 0; index < count; index++)); do
        run_config "$index" || OVERALL_STATUS=1
    done
    progress "done in $(seconds_since "$HARNESS_START")s: exit status $OVERALL_STATUS"
    exit "$OVERALL_STATUS"
}

main "$@"
