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
#   --stop-grace S       seconds between SIGTERM and SIGKILL to a service's process group (default 10)
#   --gpu auto|on|off    GPU cases: run when nvidia-smi lists a GPU, else skip (auto, the default); run and
#                        fail without a GPU (on: for GPU machines, a broken driver must not go green); skip (off)
#   --require-golden     a golden check that cannot be made (no golden file, another export) fails the run
#   --golden-dir DIR     where the golden files are (default test_tipc/results: <model>_fp32.json)
#   --output-dir DIR     where runs go (default test_tipc/output)
#   --benchmark          after the first case of each config that passes (or each of --benchmark-cases),
#                        measure the served model against direct Paddle Inference (tools/benchmark.py)
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

export TIPC_HARNESS_START="${TIPC_HARNESS_START:-$(now)}"  # kept across the re-exec into a network namespace
ORIGINAL_ARGS=("$@")
CONFIGS=()
PLAN_OPTIONS=()
OUTPUT_DIR="$REPO_ROOT/test_tipc/output"
NETNS_MODE=auto
NETWORK_STATUS=skipped
NETWORK_NOTE=""
ACTIVE_RUN_DIR=""
INTERRUPTED_BY=""

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

die_usage() {
    echo "test_serving.sh: error: $*" >&2
    exit 2
}

say() { progress "$TIPC_HARNESS_START" "$*"; }

parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --shard|--http-port|--rpc-port|--ready-timeout|--stop-grace|--gpu|--benchmark-cases)
                [[ $# -ge 2 ]] || die_usage "$1 needs a value"
                PLAN_OPTIONS+=("$1" "$2"); shift 2 ;;
            --golden-dir)
                [[ $# -ge 2 ]] || die_usage "$1 needs a value"
                PLAN_OPTIONS+=("$1" "$(realpath -m "$2")"); shift 2 ;;
            --gpus)  # before --gpu: 0 meant "no GPU", which TIPC users read as GPU id 0
                [[ $# -ge 2 && "$2" =~ ^(auto|0|1)$ ]] || die_usage "--gpus takes auto, 0 or 1 (it is deprecated: use --gpu auto|on|off)"
                local mode=auto
                [[ "$2" == 0 ]] && mode=off
                [[ "$2" == 1 ]] && mode=on
                echo "test_serving.sh: note: --gpus is deprecated; --gpus $2 means --gpu $mode" >&2
                PLAN_OPTIONS+=(--gpu "$mode"); shift 2 ;;
            --benchmark|--require-golden) PLAN_OPTIONS+=("$1"); shift ;;
            --output-dir)
                [[ $# -ge 2 ]] || die_usage "$1 needs a value"
                OUTPUT_DIR="$(realpath -m "$2")"; shift 2 ;;
            --netns)
                [[ $# -ge 2 && "$2" =~ ^(auto|on|off)$ ]] || die_usage "--netns takes auto, on or off"
                NETNS_MODE="$2"; shift 2 ;;
            -*) die_usage "unknown option '$1' (see --help)" ;;
            *) CONFIGS+=("$1"); shift ;;
        esac
    done
    [[ ${#CONFIGS[@]} -gt 0 ]] || CONFIGS=("configs/alexnet_serving.txt")
}

# Loopback traffic must never go through a proxy: a set http_proxy breaks the client and can hang
# Paddle Serving's gateway.
clear_proxies() {
    unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
    export NO_PROXY="127.0.0.1,localhost,::1" no_proxy="127.0.0.1,localhost,::1"
}

tipc() { "$PY" -m tipc_serving "$@"; }

# ------------------------------------------------------------------ bootstrap and network

bootstrap() {
    if [[ -n "${TIPC_BOOTSTRAPPED_PYTHON:-}" ]]; then  # done before entering the network namespace
        PY="$TIPC_BOOTSTRAPPED_PYTHON"
        BOOTSTRAP_SECONDS="${TIPC_BOOTSTRAP_SECONDS:-0}"
        return 0
    fi
    local start
    start="$(now)"
    say "bootstrap: bash tools/setup_env.sh"
    # The bootstrap's progress lines go to stdout with the rest of the progress; stderr stays for errors.
    { PY="$(bash "$REPO_ROOT/tools/setup_env.sh" 2>&3 | tail -n 1)"; } 3>&1
    if [[ ! -x "$PY" ]]; then
        echo "test_serving.sh: error: the environment could not be prepared (see above)" >&2
        exit 2
    fi
    BOOTSTRAP_SECONDS="$(seconds_since "$start")"
}

# Paddle Serving's HTTP gateway listens on every interface and its gRPC server on [::]. The whole
# chain therefore runs in a network namespace of its own with only loopback: its services answer
# this run and nothing else, and cannot collide with ports in use outside. This re-executes the
# script under unshare (root, or unprivileged user namespaces) after the bootstrap, which may need
# the network. Where neither works, the run stays on the host network and says so.
enter_private_network() {
    if [[ -n "${TIPC_NETNS:-}" ]]; then
        local problem
        if ! problem="$(tipc loopback-up)"; then
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
            export TIPC_NETNS="unshare $how" TIPC_BOOTSTRAPPED_PYTHON="$PY" TIPC_BOOTSTRAP_SECONDS="$BOOTSTRAP_SECONDS"
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

# ------------------------------------------------------------------ one config: the TIPC steps

run_config() {  # RUN_DIR
    local run_dir="$1"
    waited tipc open "$run_dir" --plan "$PLAN_FILE" --bootstrap-seconds "$BOOTSTRAP_SECONDS" \
        --bootstrap-python "$PY" --network-status "$NETWORK_STATUS" --network-note "$NETWORK_NOTE" || return 1
    ACTIVE_RUN_DIR="$run_dir"
    if waited tipc step "$run_dir" export && waited tipc step "$run_dir" convert \
        && waited tipc step "$run_dir" reference && waited tipc step "$run_dir" golden; then
        waited tipc cases "$run_dir"
        waited tipc finish "$run_dir"
    else
        waited tipc finish "$run_dir" --not-reached
    fi
    local rc=$?
    ACTIVE_RUN_DIR=""
    return "$rc"
}

# ------------------------------------------------------------------ teardown

# shellcheck disable=SC2317,SC2329  # runs from a trap
on_signal() {
    INTERRUPTED_BY="$1"
    say "received SIG$1: stopping every service this run started"
    exit "$2"
}

# shellcheck disable=SC2317,SC2329  # runs from a trap
cleanup() {
    local rc=$?
    trap - INT TERM
    stop_children  # the running step stops its own service on the way out
    if [[ -n "$ACTIVE_RUN_DIR" ]]; then
        tipc abort "$ACTIVE_RUN_DIR" --signal "$INTERRUPTED_BY" || true
    fi
    [[ -n "${WORK_DIR:-}" ]] && rm -rf "$WORK_DIR"
    exit "$rc"
}

# ------------------------------------------------------------------ main

main() {
    parse_args "$@"
    trap cleanup EXIT
    trap 'on_signal INT 130' INT
    trap 'on_signal TERM 143' TERM
    clear_proxies
    bootstrap
    enter_private_network  # may re-execute this script: nothing of this process's own is made before
    say "network: $NETWORK_NOTE"
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tipc-serving.XXXXXX")"
    PLAN_FILE="$WORK_DIR/plan.json"

    say "plan: ${CONFIGS[*]}"
    local run_dirs
    run_dirs="$(tipc plan "${CONFIGS[@]}" --output "$PLAN_FILE" --output-dir "$OUTPUT_DIR" \
        --run-id "$(date -u +%Y%m%dT%H%M%SZ)-$$-$RANDOM" "${PLAN_OPTIONS[@]}")" || exit 2

    local run_dir status=0
    while IFS= read -r run_dir; do
        run_config "$run_dir" || status=1
    done <<<"$run_dirs"
    say "done in $(seconds_since "$TIPC_HARNESS_START")s: exit status $status"
    exit "$status"
}

main "$@"
