"""The harness's shell code under bash 4.2 (CentOS 7's), the oldest bash it supports.

bash 4.2 has no $EPOCHREALTIME (the clock falls back to date), and under `set -u` it calls an empty
array unbound. The bash is built once from the source in tools/oldbash (about a minute, then cached);
shellcheck cannot check for a bash version, so only a real old bash can.
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import REPO_ROOT, clean_env
from harnesskit import HARNESS, HarnessRun
from test_dialects import config_of, repo_with_model, seeded_exports  # noqa: F401  (a fixture)

COMMON = REPO_ROOT / "test_tipc" / "common_func.sh"
MERGE = REPO_ROOT / "test_tipc" / "merge_reports.sh"


@pytest.fixture(scope="session")
def old_bash():
    compiler = os.environ.get("CC") or "cc"  # what tools/oldbash/build.sh runs: ${CC:-cc}
    if not (shutil.which("make") and shutil.which(compiler)):
        pytest.skip("building bash 4.2 needs make and a C compiler ({}), which this machine lacks".format(compiler))
    built = subprocess.run(["bash", str(REPO_ROOT / "tools" / "oldbash" / "build.sh")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=900)
    assert built.returncode == 0, built.stderr
    path = built.stdout.strip().splitlines()[-1]
    version = subprocess.run([path, "-c", "echo $BASH_VERSION"], stdout=subprocess.PIPE, text=True).stdout
    assert version.startswith("4.2."), version
    return path


def run_old(old_bash, args, cwd=REPO_ROOT, env=None, timeout=600):
    return subprocess.run([old_bash, *[str(a) for a in args]], cwd=str(cwd), env=clean_env(**(env or {})),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)


def test_the_clock_works_without_epochrealtime(old_bash):
    script = 'set -u; source "{}"; start="$(now)"; sleep 0.2; echo "$start"; seconds_since "$start"; echo; ' \
             'progress "$start" hello'.format(COMMON)
    result = run_old(old_bash, ["-c", script])
    assert result.returncode == 0, result.stderr
    start, since, line = result.stdout.splitlines()
    assert re.fullmatch(r"\d{10}\.\d+", start)
    assert 0.1 <= float(since) < 5
    assert re.fullmatch(r"\[tipc +\d+\.\ds\] hello", line)


def test_arguments_and_their_errors(old_bash, tmp_path):
    helped = run_old(old_bash, [HARNESS, "--help"], cwd=tmp_path)
    assert helped.returncode == 0 and "CONFIG [MODE] [GPUID]" in helped.stdout
    wrong_mode = run_old(old_bash, [HARNESS, "lite_train_lite_infer"], cwd=tmp_path)
    assert wrong_mode.returncode == 2
    assert wrong_mode.stderr.strip() == ("test_serving.sh: error: 'lite_train_lite_infer' is not a config file, a TIPC "
                                         "mode this script runs (serving_infer) or a GPU id (GPUID, e.g. 0)")
    gpus = run_old(old_bash, [HARNESS, "--gpus", "0"], cwd=tmp_path)
    assert gpus.returncode == 2 and "--gpus was removed" in gpus.stderr and len(gpus.stderr.splitlines()) == 1


def test_a_whole_run_under_bash_4_2(old_bash, tmp_path, seeded_exports):
    """TIPC's positional form, from the model repository's root, with a relative config path: the GPU
    case is skipped here (GPU id 0, no GPU), the CPU case runs; every time in the report is a number."""
    repo = repo_with_model("PaddleSeg", tmp_path, seeded_exports)
    config = config_of("PaddleSeg", tmp_path).relative_to(repo)
    result = run_old(old_bash, [HARNESS, config, "serving_infer", "0", "--output-dir", "out"], cwd=repo)
    run = HarnessRun(result, repo / "out", "pp_liteseg_stdc1")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "mode serving_infer, GPU ids 0 (CUDA_VISIBLE_DEVICES)" in result.stdout
    assert re.search(r"done in \d+\.\ds: exit status 0", result.stdout)
    statuses = {case["name"]: case["status"] for case in run.results["cases"]}
    assert statuses == {"gpu": "skipped", "cpu": "passed"}  # its tensors match Paddle Inference (engine level)
    assert all(isinstance(step["seconds"], (int, float)) for step in run.results["steps"])
    assert run.leftovers() == {}
    merged = run_old(old_bash, [MERGE, tmp_path / "merged", repo / "out"], cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "pp_liteseg_stdc1: 1 passed, 0 failed, 1 skipped, 0 not run" in merged.stdout

