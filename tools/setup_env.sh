#!/usr/bin/env bash
# Prepare the serving environment and print the Python interpreter to use on the last stdout line.
#
#   bash tools/setup_env.sh                 # bootstrap (idempotent) and print the interpreter
#   bash tools/setup_env.sh --find-python   # only say which base interpreter would be used
#
# Order of preference:
#   1. the project's venv ($TIPC_VENV, default .venv) when its stamp matches the requirements;
#   2. an active environment ($TIPC_PYTHON, else $VIRTUAL_ENV / $CONDA_PREFIX) that already has
#      every requirement: it is used as it is, never modified;
#   3. otherwise a venv is (re)built from $TIPC_PYTHON, python3.9 / python3.8 on PATH, or pyenv's 3.9
#      then 3.8.
# Progress goes to stderr, one line per step with the elapsed time.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${TIPC_VENV:-$REPO_ROOT/.venv}"
REQUIREMENTS="${TIPC_REQUIREMENTS:-$REPO_ROOT/requirements.txt}"
REQUIREMENTS_NODEPS="${TIPC_REQUIREMENTS_NODEPS:-$REPO_ROOT/requirements-nodeps.txt}"
CHECK_ENV="$REPO_ROOT/tools/check_env.py"
STAMP="$VENV_DIR/.tipc-requirements.sha256"
START_SECONDS=$SECONDS

say() { echo "[setup_env $((SECONDS - START_SECONDS))s] $*" >&2; }
die() { echo "setup_env: error: $*" >&2; exit 1; }

# Prints "3.9" for a working interpreter of a supported version, nothing otherwise.
supported_version() {
    local version
    version="$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" || return 1
    case "$version" in
        3.8|3.9) echo "$version" ;;
        *) return 1 ;;
    esac
}

requirements_hash() {
    local files=("$REQUIREMENTS")
    [[ -f "$REQUIREMENTS_NODEPS" ]] && files+=("$REQUIREMENTS_NODEPS")
    { cat "${files[@]}"; "$VENV_DIR/bin/python" -c 'import sys; print(sys.version)'; } \
        | sha256sum | cut -d' ' -f1
}

venv_is_current() {
    [[ -x "$VENV_DIR/bin/python" && -f "$STAMP" ]] || return 1
    supported_version "$VENV_DIR/bin/python" >/dev/null || return 1
    [[ "$(cat "$STAMP")" == "$(requirements_hash)" ]]
}

satisfies_requirements() {
    local files=("$REQUIREMENTS")
    [[ -f "$REQUIREMENTS_NODEPS" ]] && files+=("$REQUIREMENTS_NODEPS")
    "$1" "$CHECK_ENV" "${files[@]}" >&2
}

active_environment_python() {
    if [[ -n "${TIPC_PYTHON:-}" ]]; then
        echo "$TIPC_PYTHON"
    elif [[ -n "${VIRTUAL_ENV:-}" && -x "$VIRTUAL_ENV/bin/python" ]]; then
        echo "$VIRTUAL_ENV/bin/python"
    elif [[ -n "${CONDA_PREFIX:-}" && -x "$CONDA_PREFIX/bin/python" ]]; then
        echo "$CONDA_PREFIX/bin/python"
    fi
}

# The base interpreter for a new venv: explicit choice, then PATH, then pyenv.
find_base_python() {
    local candidate pyenv_root
    local candidates=()
    if [[ -n "${TIPC_PYTHON:-}" ]]; then
        echo "$TIPC_PYTHON"  # checked by require_explicit_python_supported
        return 0
    fi
    for candidate in python3.9 python3.8; do
        command -v "$candidate" >/dev/null 2>&1 && candidates+=("$(command -v "$candidate")")
    done
    pyenv_root="${PYENV_ROOT:-}"
    if [[ -z "$pyenv_root" ]] && command -v pyenv >/dev/null 2>&1; then
        pyenv_root="$(pyenv root 2>/dev/null || true)"
    fi
    if [[ -n "$pyenv_root" ]]; then
        # Newest patch release first (3.9.18 before 3.9.1).
        while IFS= read -r candidate; do
            [[ -x "$candidate" ]] && candidates+=("$candidate")
        done < <(printf '%s\n' "$pyenv_root"/versions/3.9*/bin/python3.9 | sort -rV; \
                 printf '%s\n' "$pyenv_root"/versions/3.8*/bin/python3.8 | sort -rV)
    fi
    for candidate in "${candidates[@]}"; do
        if supported_version "$candidate" >/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

no_python_message() {
    echo "no Python 3.9 or 3.8 found (Paddle Serving 0.9.0 supports CPython 3.6-3.9 only):" \
         "install python3.9 (for example 'pyenv install 3.9.18') or set TIPC_PYTHON=/path/to/python3.9"
}

build_venv() {
    local base="$1" log="$VENV_DIR.setup.log"
    if [[ -x "$VENV_DIR/bin/python" ]] && [[ "$(supported_version "$VENV_DIR/bin/python" || true)" == "$(supported_version "$base")" ]]; then
        say "updating $VENV_DIR (requirements changed)"
    else
        say "creating $VENV_DIR with $base (Python $(supported_version "$base"))"
        rm -rf "$VENV_DIR"
        "$base" -m venv "$VENV_DIR" 2>"$log" \
            || die "'$base -m venv' failed (on Debian/Ubuntu install python3.9-venv); see $log"
    fi
    rm -f "$STAMP"
    say "installing $(basename "$REQUIREMENTS") (log: $log)"
    "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check -r "$REQUIREMENTS" >"$log" 2>&1 \
        || die "pip install -r $REQUIREMENTS failed; last lines of $log: $(tail -n 3 "$log" | tr '\n' ' ')"
    if [[ -f "$REQUIREMENTS_NODEPS" ]]; then
        say "installing $(basename "$REQUIREMENTS_NODEPS") without dependencies"
        "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --no-deps \
            -r "$REQUIREMENTS_NODEPS" >>"$log" 2>&1 \
            || die "pip install --no-deps -r $REQUIREMENTS_NODEPS failed; see $log"
    fi
    satisfies_requirements "$VENV_DIR/bin/python" \
        || die "the new environment does not satisfy the requirements (see above and $log)"
    requirements_hash >"$STAMP"
    say "environment ready"
}

# An explicit choice is used or refused, never silently replaced by another interpreter.
require_explicit_python_supported() {
    if [[ -n "${TIPC_PYTHON:-}" ]] && ! supported_version "$TIPC_PYTHON" >/dev/null; then
        die "TIPC_PYTHON=$TIPC_PYTHON is not a working Python 3.9 or 3.8"
    fi
}

main() {
    local active base
    require_explicit_python_supported
    if [[ "${1:-}" == "--find-python" ]]; then
        active="$(active_environment_python)"
        if [[ -n "$active" ]] && satisfies_requirements "$active" 2>/dev/null; then
            echo "$active"
            return 0
        fi
        find_base_python || die "$(no_python_message)"
        return 0
    fi
    [[ -f "$REQUIREMENTS" ]] || die "requirements file not found: $REQUIREMENTS"

    if venv_is_current; then
        say "$VENV_DIR is up to date (requirements unchanged)"
        echo "$VENV_DIR/bin/python"
        return 0
    fi
    active="$(active_environment_python)"
    if [[ -n "$active" && "$active" != "$VENV_DIR/bin/python" ]]; then
        if satisfies_requirements "$active"; then
            say "using the active environment $active: it has every requirement"
            echo "$active"
            return 0
        fi
        say "the active environment $active lacks the requirements above; building $VENV_DIR instead"
    fi
    base="$(find_base_python)" || die "$(no_python_message)"

    # Two harness runs on one machine must not build the same venv at once.
    mkdir -p "$(dirname "$VENV_DIR")"
    exec 9>"$VENV_DIR.lock"
    flock 9
    if venv_is_current; then
        say "$VENV_DIR was built by a concurrent run"
    else
        build_venv "$base"
    fi
    echo "$VENV_DIR/bin/python"
}

main "$@"
