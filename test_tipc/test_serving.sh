#!/usr/bin/env bash
# The serving TIPC chain: prepare the model, start the Paddle Serving pipeline service once per
# setting of the config's matrix, run the clients, stop the service, and check the answers against
# the Paddle Inference reference.
#
#   bash test_tipc/test_serving.sh [CONFIG ...] [options]      (default config: configs/alexnet_serving.txt)
#   bash test_tipc/test_serving.sh CONFIG [MODE] [GPUID]       (TIPC's own form: MODE serving_infer, GPUID 0 or 0,1)
#   bash test_tipc/test_serving.sh configs/*.txt --shard 2/3   (every config; the shell expands the glob)
#
# Run it from anywhere: relative paths (configs, --output-dir, --golden-dir, --repo-root) are taken from
# the current folder. A config in one of PaddlePaddle's own layouts (PaddleClas, PaddleOCR, PaddleDetection,
# PaddleSeg, PaddleVideo, the models repo's Step6 and template) runs as that repository's script runs it;
# its paths are taken from the folder above its test_tipc (the model repository's root).
#
# Options:
#   --list-cases         print each config's dialect, cases and exact commands, and stop (reads only the configs)
#   --dialect NAME       read the configs as this layout (default: found from each config's header and keys)
#   --repo-root DIR      the model repository a dialect config's paths are relative to
#   --seeded-export      a missing inference model that tools/export_model.py builds is exported, untrained
#                        and seeded (else a missing model is an error naming the config's download key)
#   --shard I/N          run only shard I of N of all the configs' cases (nightly CI fan-out)
#   --http-port P        HTTP port of the service (default: the service's config.yml)
#   --rpc-port P         gRPC port of the service (default: the service's config.yml)
#   --ready-timeout S    seconds a service may take to answer (default: the config's, else 60)
#   --stop-grace S       seconds between SIGTERM and SIGKILL to a service's process group (default 10)
#   --case-timeout S     seconds each case may take from its service's start to its stop, clients included
#                        (default 300): then what hangs is stopped by its process group, the case fails
#                        naming it, and the run goes on with the next case; the comparisons after the stop
#                        (the replay, the repository's own inference) get as long again each
#   --gpu auto|on|off    GPU cases: run when nvidia-smi lists a GPU, else skip (auto, the default); run and
#                        fail without a GPU (on: for GPU machines, a broken driver must not go green); skip (off)
#   --gpu-ids IDS        the GPUs the GPU cases use (TIPC's GPUID: CUDA_VISIBLE_DEVICES=IDS), e.g. 1 or 0,1
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
# client and check logs and Paddle Serving's own logs. Several configs end with one table across them
# (test_tipc/output/all_configs/<run id>/). Exit status: 0 when every case that ran passed,
# 1 when something failed or the output folder cannot be written (one line says which file and why),
# 2 for a bad config or bad arguments (nothing started), 130/143/129 when interrupted (SIGINT, SIGTERM,
# SIGHUP to this script alone or to its group). Every process this script starts is stopped before it
# exits, services by their process group, whatever happens; killed with SIGKILL, its steps notice and
# stop theirs.
set -uo pipefail

CALLER_DIR="${TIPC_CALLER_DIR:-$PWD}"  # kept across the re-exec into a network namespace
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REPO_ROOT="$(dirname "$(dirname "$SCRIPT")")"
cd "$REPO_ROOT" || exit 2
# shellcheck source=test_tipc/common_func.sh
source "$REPO_ROOT/test_tipc/common_func.sh"

export TIPC_HARNESS_START="${TIPC_HARNESS_START:-$(now)}"  # kept across the re-exec into a network namespace
ORIGINAL_ARGS=("$@")
SERVED_MODES="serving_infer"  # TIPC's modes this script runs: the serving inference chain
MODE=serving_infer
GPU_IDS=""
LIST_CASES=0
SHARDED=0
CONFIGS=()
PLAN_OPTIONS=()
OUTPUT_DIR="$REPO_ROOT/test_tipc/output"
NETNS_MODE=auto
NETWORK_STATUS=skipped
NETWORK_NOTE=""
ACTIVE_RUN_DIR=""
INTERRUPTED_BY=""
OUTPUT_FAILED=0
CASE_TIMEOUT=300

usage() { sed -n '2,/^set -uo/p' "$SCRIPT" | sed '$d; s/^# \{0,1\}//'; }

die_usage() {
    echo "test_serving.sh: error: $*" >&2
    exit 2
}

say() { progress "$TIPC_HARNESS_START" "$*"; }

# from_caller PATH: PATH as an absolute path, a relative one taken from where the user stands.
from_caller() { (cd "$CALLER_DIR" && realpath -m -- "$1"); }

# TIPC's positional form: CONFIG [MODE] [GPUID]. A word that is neither a file nor a GPU id list is a MODE.
positional() {
    if [[ -e "$(from_caller "$1")" || "$1" == *.txt ]]; then
        CONFIGS+=("$(from_caller "$1")")
    elif [[ "$1" =~ ^[0-9]+(,[0-9]+)*$ ]]; then
        GPU_IDS="$1"
    elif [[ " $SERVED_MODES " == *" $1 "* ]]; then
        MODE="$1"
    else
        die_usage "'$1' is not a config file, a TIPC mode this script runs ($SERVED_MODES) or a GPU id (GPUID, e.g. 0)"
    fi
}

parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --shard|--http-port|--rpc-port|--ready-timeout|--stop-grace|--gpu|--benchmark-cases|--dialect)
                [[ $# -ge 2 ]] || die_usage "$1 needs a value"
                [[ "$1" != --shard ]] || SHARDED=1
                PLAN_OPTIONS+=("$1" "$2"); shift 2 ;;
            --golden-dir|--repo-root)
                [[ $# -ge 2 ]] || die_usage "$1 needs a value"
                PLAN_OPTIONS+=("$1" "$(from_caller "$2")"); shift 2 ;;
            --gpu-ids)
                [[ $# -ge 2 && "$2" =~ ^[0-9]+(,[0-9]+)*$ ]] || die_usage "--gpu-ids takes GPU ids such as 0 or 0,1"
                GPU_IDS="$2"; shift 2 ;;
            --list-cases) LIST_CASES=1; shift ;;
            --seeded-export) PLAN_OPTIONS+=("$1"); shift ;;
            --gpus)  # refused, not mapped: its "0" meant "no GPU", which TIPC users read as GPU id 0
                die_usage "--gpus was removed (its 0 meant no GPU): use --gpu off|on|auto for GPU cases, and --gpu-ids 0 (or TIPC's GPUID) for which GPU" ;;
            --benchmark|--require-golden) PLAN_OPTIONS+=("$1"); shift ;;
            --case-timeout)
                [[ $# -ge 2 && "$2" =~ ^[0-9]+([.][0-9]+)?$ && ! "$2" =~ ^0+([.]0+)?$ ]] \
                    || die_usage "--case-timeout takes a number of seconds above 0"
                CASE_TIMEOUT="$2"; shift 2 ;;
            --output-dir)
                [[ $# -ge 2 ]] || die_usage "$1 needs a value"
                OUTPUT_DIR="$(from_caller "$2")"; shift 2 ;;
            --netns)
                [[ $# -ge 2 && "$2" =~ ^(auto|on|off)$ ]] || die_usage "--netns takes auto, on or off"
                NETNS_MODE="$2"; shift 2 ;;
            -*) die_usage "unknown option '$1' (see --help)" ;;
            *) positional "$1"; shift ;;
        esac
    done
    [[ ${#CONFIGS[@]} -gt 0 ]] || CONFIGS=("$REPO_ROOT/configs/alexnet_serving.txt")
    if [[ -n "$GPU_IDS" ]]; then  # as TIPC's scripts do with GPUID
        export CUDA_VISIBLE_DEVICES="$GPU_IDS"
    fi
}

# Arrays are expanded as ${a[@]+"${a[@]}"} where they may be empty: under set -u an empty array is an
# error before bash 4.4 (this script supports bash 4.2, CentOS 7's).

# Loopback traffic must never go through a proxy: a set http_proxy breaks the client and can hang
# Paddle Serving's gateway.
clear_proxies() {
    unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
    export NO_PROXY="127.0.0.1,localhost,::1" no_proxy="127.0.0.1,localhost,::1"
}

tipc() { "$PY" -m tipc_serving "$@"; }

# chain_step COMMAND ARGS...: one Python step of the chain, waited for in the background (common_func.sh). The
# interpreter itself is the background job, not a subshell around a function: the trap's SIGTERM must reach
# the process that stops what it started. Exit status 3: the output folder cannot be written (the step said
# so in one line): nothing more can be recorded, so the run stops here.
chain_step() {
    waited "$PY" -m tipc_serving "$@"
    local rc=$?
    if [[ "$rc" == 3 ]]; then
        OUTPUT_FAILED=1
        exit 1
    fi
    return "$rc"
}

# ------------------------------------------------------------------ bootstrap and network

bootstrap() {
    if [[ -n "${TIPC_BOOTSTRAPPED_PYTHON:-}" ]]; then  # done before entering the network namespace
        PY="$TIPC_BOOTSTRAPPED_PYTHON"
        BOOTSTRAP_SECONDS="${TIPC_BOOTSTRAP_SECONDS:-0}"
        return 0
    fi
    local start
    start="$(now)"
    say "bootstrap: tools/setup_env.sh"
    # The bootstrap's progress lines go to stdout with the rest of the progress; stderr stays for errors.
    { PY="$("$BASH" "$REPO_ROOT/tools/setup_env.sh" 2>&3 | tail -n 1)"; } 3>&1
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
            export TIPC_NETNS="unshare $how" TIPC_BOOTSTRAPPED_PYTHON="$PY" TIPC_BOOTSTRAP_SECONDS="$BOOTSTRAP_SECONDS" \
                TIPC_CALLER_DIR="$CALLER_DIR"
            # shellcheck disable=SC2086
            exec unshare $how -- "$BASH" "$SCRIPT" ${ORIGINAL_ARGS[@]+"${ORIGINAL_ARGS[@]}"}
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
    chain_step open "$run_dir" --plan "$PLAN_FILE" --bootstrap-seconds "$BOOTSTRAP_SECONDS" \
        --bootstrap-python "$PY" --network-status "$NETWORK_STATUS" --network-note "$NETWORK_NOTE" \
        --case-timeout "$CASE_TIMEOUT" || return 1
    ACTIVE_RUN_DIR="$run_dir"
    take_repository_lock "$run_dir"
    if chain_step step "$run_dir" export && chain_step step "$run_dir" convert \
        && chain_step step "$run_dir" reference && chain_step step "$run_dir" golden; then
        chain_step cases "$run_dir"
        chain_step finish "$run_dir"
    else
        chain_step finish "$run_dir" --not-reached
    fi
    local rc=$?
    if [[ -n "$REPOSITORY_LOCK_FD" ]]; then exec {REPOSITORY_LOCK_FD}>&-; REPOSITORY_LOCK_FD=""; fi
    ACTIVE_RUN_DIR=""
    return "$rc"
}

# A PaddlePaddle repository's config converts into the checkout's own folders, which its services read: two
# runs of one checkout take turns (the lock file the open step named). Waits in 1 s steps, so that a signal
# is handled at once. REPOSITORY_LOCK_FD holds it (empty for the harness's own configs, which convert into
# folders of their own run).
REPOSITORY_LOCK_FD=""
take_repository_lock() {  # RUN_DIR
    local lock_file
    lock_file="$(cat "$1/repository.lock" 2>/dev/null)" || return 0
    if ! command -v flock >/dev/null; then
        say "no flock here: two runs of one repository's checkout at once are not kept apart"
        return 0
    fi
    exec {REPOSITORY_LOCK_FD}>>"$lock_file"
    if ! flock -n "$REPOSITORY_LOCK_FD"; then
        say "waiting for another run of this repository's checkout (it converts into the same folders)"
        until flock -w 1 "$REPOSITORY_LOCK_FD"; do :; done
    fi
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
    trap '' INT TERM HUP  # a second signal must not cut the cleanup short and leave processes behind
    stop_children  # the running step stops its own service on the way out, and is waited for
    if [[ -n "$ACTIVE_RUN_DIR" && "$OUTPUT_FAILED" == 1 ]]; then
        # what it can still record: the cases that did not run (its own write errors were said once already)
        tipc abort "$ACTIVE_RUN_DIR" --output-failed 2>/dev/null || true
    elif [[ -n "$ACTIVE_RUN_DIR" ]]; then
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
    trap 'on_signal HUP 129' HUP
    clear_proxies
    bootstrap
    if [[ "$LIST_CASES" == 1 ]]; then
        tipc plan "${CONFIGS[@]}" --list-cases --caller-dir "$CALLER_DIR" ${PLAN_OPTIONS[@]+"${PLAN_OPTIONS[@]}"}
        exit $?
    fi
    enter_private_network  # may re-execute this script: nothing of this process's own is made before
    export TIPC_HARNESS_PID=$$  # the steps stop at once if this script dies without its trap (SIGKILL)
    say "mode $MODE${GPU_IDS:+, GPU ids $GPU_IDS (CUDA_VISIBLE_DEVICES)}"
    say "network: $NETWORK_NOTE"
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tipc-serving.XXXXXX")"
    PLAN_FILE="$WORK_DIR/plan.json"

    say "plan: ${CONFIGS[*]}"
    local run_dirs run_id
    run_id="$(date -u +%Y%m%dT%H%M%SZ)-$$-$RANDOM"
    run_dirs="$(tipc plan "${CONFIGS[@]}" --output "$PLAN_FILE" --output-dir "$OUTPUT_DIR" --caller-dir "$CALLER_DIR" \
        --run-id "$run_id" ${PLAN_OPTIONS[@]+"${PLAN_OPTIONS[@]}"})" || exit 2

    local run_dir status=0 done_dirs=()
    while IFS= read -r run_dir; do
        run_config "$run_dir" || status=1
        done_dirs+=("$run_dir")
    done <<<"$run_dirs"
    # One table and one totals line across the models (a shard's are merged with the other shards' later).
    if [[ ${#done_dirs[@]} -gt 1 && "$SHARDED" == 0 ]]; then
        say "all configs: $OUTPUT_DIR/all_configs/$run_id"
        tipc report merge "$OUTPUT_DIR/all_configs/$run_id" "${done_dirs[@]}" || status=1
    fi
    say "done in $(seconds_since "$TIPC_HARNESS_START")s: exit status $status"
    exit "$status"
}

main "$@"
