#!/usr/bin/env bash
# Prepare the serving environment and print the Python interpreter to use on the last stdout line.
#
#   bash tools/setup_env.sh                 # bootstrap (idempotent) and print the interpreter
#   bash tools/setup_env.sh --find-python   # only say which base interpreter would be used
#   TIPC_REQUIREMENTS_DEV=requirements-dev.txt bash tools/setup_env.sh   # also the tests' tools
#                                           (tools/run_tests.sh does this)
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
REQUIREMENTS_DEV="${TIPC_REQUIREMENTS_DEV:-}"
REQUIREMENTS_DEV_NODEPS="${REQUIREMENTS_DEV:+${REQUIREMENTS_DEV%.txt}-nodeps.txt}"
CHECK_ENV="$REPO_ROOT/tools/check_env.py"
STAMP="$VENV_DIR/.tipc-requirements.sha256"
START_SECONDS=$SECONDS
PREVIOUS_STAMP=""

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

# The requirements files this call needs: the service's, and the tests' tools when asked for.
requirement_files() {
    echo "$REQUIREMENTS"
    [[ -f "$REQUIREMENTS_NODEPS" ]] && echo "$REQUIREMENTS_NODEPS"
    [[ -n "$REQUIREMENTS_DEV" ]] && echo "$REQUIREMENTS_DEV"
    [[ -n "$REQUIREMENTS_DEV_NODEPS" && -f "$REQUIREMENTS_DEV_NODEPS" ]] && echo "$REQUIREMENTS_DEV_NODEPS"
    return 0
}

# One stamp line per installed requirements file: "<sha256 of its text and the Python version> <name>".
# The venv is current when every file needed now has its line: the main job (no dev tools) and the tests
# (with them) share one venv without reinstalling in turn.
stamp_line() {
    local sum
    sum="$({ cat "$1"; "$VENV_DIR/bin/python" -c 'import sys; print(sys.version)'; } | sha256sum)"
    echo "${sum%-}$(basename "$1")"
}

# has_line TEXT LINE: whether one of TEXT's lines is LINE (bash only: setup_env.sh needs few tools)
has_line() {
    local line
    while IFS= read -r line; do
        [[ "$line" == "$2" ]] && return 0
    done <<<"$1"
    return 1
}

venv_is_current() {
    local file stamp
    [[ -x "$VENV_DIR/bin/python" && -f "$STAMP" ]] || return 1
    supported_version "$VENV_DIR/bin/python" >/dev/null || return 1
    stamp="$(cat "$STAMP")"
    while IFS= read -r file; do
        has_line "$stamp" "$(stamp_line "$file")" || return 1
    done < <(requirement_files)
}

# The lines of the files installed now, and those of the stamp before (PREVIOUS_STAMP) still true of the
# other requirements files (the dev tools stay installed when the main job updates the service's packages).
write_stamp() {
    local file line lines=""
    while IFS= read -r file; do
        lines+="$(stamp_line "$file")"$'\n'
    done < <(requirement_files)
    for file in "$REQUIREMENTS" "$REQUIREMENTS_NODEPS" "$REPO_ROOT/requirements-dev.txt" \
            "$REPO_ROOT/requirements-dev-nodeps.txt"; do
        [[ -f "$file" ]] || continue
        line="$(stamp_line "$file")"
        if has_line "$PREVIOUS_STAMP" "$line" && ! has_line "$lines" "$line"; then
            lines+="$line"$'\n'
        fi
    done
    printf '%s' "$lines" | sort >"$STAMP"
}

satisfies_requirements() {
    local file files=()
    while IFS= read -r file; do files+=("$file"); done < <(requirement_files)
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
    PREVIOUS_STAMP="$(cat "$STAMP" 2>/dev/null || true)"
    rm -f "$STAMP"
    local requirements=(-r "$REQUIREMENTS")
    [[ -z "$REQUIREMENTS_DEV" ]] || requirements+=(-r "$REQUIREMENTS_DEV")
    say "installing $(basename "$REQUIREMENTS")${REQUIREMENTS_DEV:+ and $(basename "$REQUIREMENTS_DEV")} (log: $log)"
    "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check "${requirements[@]}" >"$log" 2>&1 \
        || die "pip install ${requirements[*]} failed; last lines of $log: $(tail -n 3 "$log" | tr '\n' ' ')"
    local nodeps
    for nodeps in "$REQUIREMENTS_NODEPS" "$REQUIREMENTS_DEV_NODEPS"; do
        [[ -n "$nodeps" && -f "$nodeps" ]] || continue
        say "installing $(basename "$nodeps") without dependencies"
        "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --no-deps -r "$nodeps" >>"$log" 2>&1 \
            || die "pip install --no-deps -r $nodeps failed; see $log"
    done
    satisfies_requirements "$VENV_DIR/bin/python" \
        || die "the new environment does not satisfy the requirements (see above and $log)"
    write_stamp
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
