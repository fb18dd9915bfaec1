#!/usr/bin/env bash
# Merge the reports of a sharded (or any multi-machine) run into one results.json and junit.xml.
#
#   bash test_tipc/merge_reports.sh OUT_DIR INPUT...
#
# INPUT: a results.json, a run directory, or a whole tree (e.g. the downloaded CI artifacts: every
# run report under it is found). Prints the combined table and writes OUT_DIR/results.json and
# OUT_DIR/junit.xml. Exit status: 0 when every case that ran passed, 1 when a case failed or did not
# run, a step failed, a case ran in two shards or a shard of I/N is missing, 2 for bad usage or a
# file that is not a run report.
#
# A thin wrapper of `python -m tipc_serving report merge OUT_DIR INPUT...`. The report code uses the
# standard library only, so no Paddle environment is installed for a merge: the project's .venv
# when it exists (or TIPC_PYTHON), else any python3 >= 3.9, else the bootstrap of tools/setup_env.sh.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ $# -lt 2 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]] && exit 0
    exit 2
fi

new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1; }

if [[ -n "${TIPC_PYTHON:-}" ]] && new_enough "$TIPC_PYTHON"; then
    PY="$TIPC_PYTHON"
elif [[ -x "$REPO_ROOT/.venv/bin/python" ]] && new_enough "$REPO_ROOT/.venv/bin/python"; then
    PY="$REPO_ROOT/.venv/bin/python"
elif command -v python3 >/dev/null 2>&1 && new_enough python3; then
    PY="python3"
else
    PY="$(bash "$REPO_ROOT/tools/setup_env.sh" | tail -n 1)"
fi

# Relative INPUT and OUT_DIR paths are taken from where the user stands, not from the repo root.
export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m tipc_serving report merge "$@"
