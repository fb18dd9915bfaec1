#!/usr/bin/env bash
# Run the test suite in the project's environment, bootstrapping it first if needed.
#
#   bash tools/run_tests.sh              # the default run (slow tests excluded)
#   bash tools/run_tests.sh --all        # everything, as CI runs it
#   bash tools/run_tests.sh -k config    # any pytest arguments pass through
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The environment with the tests' own tools (requirements-dev.txt) on top of the service's.
PYTHON="$(TIPC_REQUIREMENTS_DEV="$REPO_ROOT/requirements-dev.txt" bash "$REPO_ROOT/tools/setup_env.sh" | tail -n 1)"
MARKERS=(-m "not slow")
ARGS=()
for arg in "$@"; do
    if [[ "$arg" == "--all" ]]; then MARKERS=(); else ARGS+=("$arg"); fi
done
cd "$REPO_ROOT"
# ${a[@]+"${a[@]}"}: an empty array under set -u is an error before bash 4.4
exec "$PYTHON" -m pytest ${MARKERS[@]+"${MARKERS[@]}"} ${ARGS[@]+"${ARGS[@]}"}
