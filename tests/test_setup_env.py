"""tools/setup_env.sh and tools/check_env.py: interpreter discovery and the idempotent venv bootstrap.

Discovery runs bash with a PATH of our own: a folder of fake interpreters (shell scripts answering the
version query) and a folder of links to the few commands the script needs, so that no real python3.9 or
python3.8 on this machine can be found by accident. The bootstrap cycle builds a throwaway venv (a few
seconds) from requirements that pip can satisfy with no network (PIP_NO_INDEX=1).
"""
import glob
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT, run

BASH = shutil.which("bash") or "/bin/bash"
SETUP = REPO_ROOT / "tools" / "setup_env.sh"
CHECK_ENV = REPO_ROOT / "tools" / "check_env.py"
PROJECT_VENV = REPO_ROOT / ".venv"
PROJECT_PYTHON = PROJECT_VENV / "bin" / "python"
# Every external command tools/setup_env.sh runs (bash builtins aside).
COMMANDS = ("dirname", "cat", "sha256sum", "cut", "flock", "rm", "mkdir", "tail", "tr", "basename", "sort")
NO_PYTHON = re.compile(r"^setup_env: error: no Python 3\.9 or 3\.8 found .*install python3\.9 .*TIPC_PYTHON=")
PROGRESS = re.compile(r"^\[setup_env \d+s\] ")


# ------------------------------------------------------------------------------------------- helpers
class Sandbox:
    """tmp/bin (fake interpreters, first on PATH), tmp/tools (links to real commands), tmp/pyenv (empty)."""

    def __init__(self, root):
        self.root = root
        self.bin = root / "bin"
        self.tools = root / "tools"
        self.pyenv = root / "pyenv"
        for folder in (self.bin, self.tools, self.pyenv):
            folder.mkdir()
        for command in COMMANDS:
            found = shutil.which(command)
            if found is None:
                pytest.skip("setup_env.sh needs '{}', which this machine lacks".format(command))
            (self.tools / command).symlink_to(found)

    def fake_python(self, path, version, satisfies=False):
        """A script that answers setup_env.sh's version query with `version`; anything else (check_env.py
        included) exits 0 when `satisfies`, else 1."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "#!/bin/sh\n"
            'case "$2" in *sys.version_info*) echo {version}; exit 0 ;; esac\n'
            "exit {other}\n".format(version=version, other=0 if satisfies else 1))
        path.chmod(0o755)
        return path

    def env(self, path=None, **extra):
        """A minimal environment: no VIRTUAL_ENV, CONDA_PREFIX or TIPC_* unless given in extra."""
        env = {"HOME": str(self.root), "LANG": "C", "PYENV_ROOT": str(self.pyenv),
               "PATH": path or "{}:{}".format(self.bin, self.tools)}
        env.update({k: str(v) for k, v in extra.items() if v is not None})
        return {k: v for k, v in env.items() if k not in extra or extra[k] is not None}


@pytest.fixture
def sandbox(tmp_path):
    return Sandbox(tmp_path)


def setup_env(env, *args):
    return run([BASH, SETUP, *args], env=env, timeout=300)


def stdout_lines(result):
    return result.stdout.splitlines()


def stamp_line(venv, path):
    """What setup_env.sh stamps for one requirements file: sha256 of the file then the venv's sys.version
    line, and the file's name."""
    version = subprocess.check_output([str(venv / "bin" / "python"), "-c", "import sys; print(sys.version)"])
    return "{}  {}".format(hashlib.sha256(Path(path).read_bytes() + version).hexdigest(), Path(path).name)


def requirements_hash(venv, *files):
    """The whole stamp after installing files: one line per file, sorted."""
    return "\n".join(sorted(stamp_line(venv, path) for path in files))


def fake_pip(root):
    """A folder for PYTHONPATH whose `pip` package records every `python -m pip` run and fails."""
    folder = root / "fake_pip"
    (folder / "pip").mkdir(parents=True)
    (folder / "pip" / "__init__.py").write_text("")
    (folder / "pip" / "__main__.py").write_text(
        "import os, sys\n"
        "with open(os.environ['FAKE_PIP_LOG'], 'a') as log:\n"
        "    log.write(' '.join(sys.argv[1:]) + '\\n')\n"
        "sys.exit(3)\n")
    return folder, root / "fake_pip.log"


def assert_fake_pip_works(python, env, log):
    """The detector must detect: `python -m pip` under env runs the fake (and leaves a log line)."""
    result = run([python, "-m", "pip", "--version"], env=env)
    assert result.returncode == 3 and log.read_text() == "--version\n"
    log.unlink()


def real_python39():
    """A real CPython 3.9 (or 3.8): the project venv's base, pyenv's, or one on PATH."""
    candidates = []
    cfg = PROJECT_VENV / "pyvenv.cfg"
    if cfg.is_file():
        for line in cfg.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                candidates += [Path(value.strip()) / "python3.9", Path(value.strip()) / "python3.8"]
    for root in (os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")):
        if root:
            candidates += sorted(Path(p) for p in glob.glob(os.path.join(root, "versions", "3.[89]*", "bin", "python3.[89]")))
    candidates += [Path(p) for p in (shutil.which("python3.9"), shutil.which("python3.8")) if p]
    for candidate in candidates:
        if candidate.is_file() and os.access(str(candidate), os.X_OK):
            try:
                version = subprocess.check_output(
                    [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], text=True).strip()
            except (OSError, subprocess.CalledProcessError):
                continue
            if version in ("3.8", "3.9"):
                return candidate
    pytest.skip("no real Python 3.9 or 3.8 on this machine")


def needs_project_venv():
    if not PROJECT_PYTHON.exists():
        pytest.skip("the project venv {} is not built".format(PROJECT_VENV))
    return PROJECT_PYTHON


# ------------------------------------------------------------------------------ interpreter discovery
def test_sandbox_path_holds_no_real_python(sandbox):
    result = run([BASH, "-c", "command -v python3.9 python3.8 python3 python pyenv; true"], env=sandbox.env())
    assert result.stdout == ""


def test_python39_is_preferred_over_python38(sandbox):
    py39 = sandbox.fake_python(sandbox.bin / "python3.9", "3.9")
    sandbox.fake_python(sandbox.bin / "python3.8", "3.8")
    result = setup_env(sandbox.env(), "--find-python")
    assert result.returncode == 0, result.stderr
    assert stdout_lines(result) == [str(py39)]


def test_python38_when_there_is_no_python39(sandbox):
    py38 = sandbox.fake_python(sandbox.bin / "python3.8", "3.8")
    result = setup_env(sandbox.env(), "--find-python")
    assert result.returncode == 0, result.stderr
    assert stdout_lines(result) == [str(py38)]


def test_path_order_decides_between_two_python39(sandbox):
    second = sandbox.root / "second"
    first_py = sandbox.fake_python(sandbox.bin / "python3.9", "3.9")
    sandbox.fake_python(second / "python3.9", "3.9")
    result = setup_env(sandbox.env(path="{}:{}:{}".format(sandbox.bin, second, sandbox.tools)), "--find-python")
    assert stdout_lines(result) == [str(first_py)]


def test_pyenv_layout_when_path_has_none(sandbox):
    sandbox.fake_python(sandbox.pyenv / "versions" / "3.8.18" / "bin" / "python3.8", "3.8")
    py39 = sandbox.fake_python(sandbox.pyenv / "versions" / "3.9.18" / "bin" / "python3.9", "3.9")
    result = setup_env(sandbox.env(), "--find-python")
    assert result.returncode == 0, result.stderr
    assert stdout_lines(result) == [str(py39)]


def test_pyenv_38_when_pyenv_has_no_39(sandbox):
    py38 = sandbox.fake_python(sandbox.pyenv / "versions" / "3.8.18" / "bin" / "python3.8", "3.8")
    sandbox.fake_python(sandbox.pyenv / "versions" / "3.11.7" / "bin" / "python3.11", "3.11")
    result = setup_env(sandbox.env(), "--find-python")
    assert stdout_lines(result) == [str(py38)]


def test_pyenv_newest_patch_release_first(sandbox):
    sandbox.fake_python(sandbox.pyenv / "versions" / "3.9.1" / "bin" / "python3.9", "3.9")
    newest = sandbox.fake_python(sandbox.pyenv / "versions" / "3.9.18" / "bin" / "python3.9", "3.9")
    result = setup_env(sandbox.env(), "--find-python")
    assert stdout_lines(result) == [str(newest)]


def test_path_comes_before_pyenv(sandbox):
    on_path = sandbox.fake_python(sandbox.bin / "python3.8", "3.8")
    sandbox.fake_python(sandbox.pyenv / "versions" / "3.9.18" / "bin" / "python3.9", "3.9")
    result = setup_env(sandbox.env(), "--find-python")
    assert stdout_lines(result) == [str(on_path)]


def test_pyenv_root_is_asked_of_pyenv_when_unset(sandbox):
    root = sandbox.root / "elsewhere"
    py39 = sandbox.fake_python(root / "versions" / "3.9.7" / "bin" / "python3.9", "3.9")
    pyenv = sandbox.bin / "pyenv"
    pyenv.write_text('#!/bin/sh\n[ "$1" = root ] && echo {} && exit 0\nexit 1\n'.format(root))
    pyenv.chmod(0o755)
    result = setup_env(sandbox.env(PYENV_ROOT=None), "--find-python")
    assert result.returncode == 0, result.stderr
    assert stdout_lines(result) == [str(py39)]


@pytest.mark.parametrize("bad", ["wrong-version", "broken"])
def test_a_candidate_of_the_wrong_version_is_skipped(sandbox, bad):
    if bad == "wrong-version":
        sandbox.fake_python(sandbox.bin / "python3.9", "3.11")
    else:
        path = sandbox.bin / "python3.9"
        path.write_text("#!/bin/sh\necho 'error while loading shared libraries' >&2\nexit 127\n")
        path.chmod(0o755)
    py38 = sandbox.fake_python(sandbox.bin / "python3.8", "3.8")
    result = setup_env(sandbox.env(), "--find-python")
    assert result.returncode == 0, result.stderr
    assert stdout_lines(result) == [str(py38)]


def test_nothing_suitable_is_one_line_naming_what_to_install(sandbox):
    sandbox.fake_python(sandbox.bin / "python3.9", "3.11")
    sandbox.fake_python(sandbox.bin / "python3.8", "3.7")
    sandbox.fake_python(sandbox.pyenv / "versions" / "3.9.0" / "bin" / "python3.9", "3.12")
    result = setup_env(sandbox.env(), "--find-python")
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and NO_PYTHON.match(lines[0]), result.stderr


def test_bootstrap_with_nothing_suitable_fails_before_touching_the_venv(sandbox):
    venv = sandbox.root / "venv"
    result = setup_env(sandbox.env(TIPC_VENV=venv))
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and NO_PYTHON.match(lines[0]), result.stderr
    assert sorted(p.name for p in sandbox.root.iterdir()) == ["bin", "pyenv", "tools"]


def test_missing_requirements_file_is_one_line(sandbox):
    missing = sandbox.root / "nope.txt"
    result = setup_env(sandbox.env(TIPC_VENV=sandbox.root / "venv", TIPC_REQUIREMENTS=missing))
    assert result.returncode != 0
    assert result.stderr.strip() == "setup_env: error: requirements file not found: {}".format(missing)


def test_active_environment_that_satisfies_is_chosen_as_is(sandbox):
    python = needs_project_venv()
    sandbox.fake_python(sandbox.bin / "python3.9", "3.9")
    result = setup_env(sandbox.env(TIPC_PYTHON=python), "--find-python")
    assert result.returncode == 0, result.stderr
    assert stdout_lines(result) == [str(python)]


def test_virtual_env_that_satisfies_is_chosen(sandbox):
    python = needs_project_venv()
    sandbox.fake_python(sandbox.bin / "python3.9", "3.9")
    result = setup_env(sandbox.env(VIRTUAL_ENV=PROJECT_VENV), "--find-python")
    assert stdout_lines(result) == [str(python)]


def test_active_environment_lacking_requirements_is_only_a_base(sandbox):
    # A conda env of Python 3.11: not usable as is, not a base either; PATH's python3.9 is chosen.
    conda = sandbox.root / "conda"
    sandbox.fake_python(conda / "bin" / "python", "3.11")
    py39 = sandbox.fake_python(sandbox.bin / "python3.9", "3.9")
    result = setup_env(sandbox.env(CONDA_PREFIX=conda), "--find-python")
    assert stdout_lines(result) == [str(py39)]


def test_explicit_tipc_python_is_the_base_before_path(sandbox):
    chosen = sandbox.fake_python(sandbox.root / "mine" / "python", "3.8")  # lacks the requirements
    sandbox.fake_python(sandbox.bin / "python3.9", "3.9")
    result = setup_env(sandbox.env(TIPC_PYTHON=chosen), "--find-python")
    assert stdout_lines(result) == [str(chosen)]


@pytest.mark.parametrize("args", [["--find-python"], []])
def test_explicit_tipc_python_of_the_wrong_version_is_refused(sandbox, args):
    wrong = sandbox.fake_python(sandbox.root / "mine" / "python", "3.11")
    sandbox.fake_python(sandbox.bin / "python3.9", "3.9")  # would do, but was not asked for
    result = setup_env(sandbox.env(TIPC_PYTHON=wrong, TIPC_VENV=sandbox.root / "venv"), *args)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "setup_env: error: TIPC_PYTHON={} is not a working Python 3.9 or 3.8".format(wrong)]
    assert not (sandbox.root / "venv").exists()


def test_bootstrap_uses_a_satisfying_active_environment_without_building(sandbox):
    python = needs_project_venv()
    venv = sandbox.root / "never_built"
    result = setup_env(sandbox.env(TIPC_PYTHON=python, TIPC_VENV=venv))
    assert result.returncode == 0, result.stderr
    assert stdout_lines(result)[-1] == str(python)
    assert "using the active environment {}: it has every requirement".format(python) in result.stderr
    assert not venv.exists() and not Path(str(venv) + ".lock").exists()


# ---------------------------------------------------------------------------------- the real project venv
def test_project_venv_rerun_is_up_to_date_and_runs_no_pip(tmp_path):
    python = needs_project_venv()
    stamp = PROJECT_VENV / ".tipc-requirements.sha256"
    files = [REPO_ROOT / "requirements.txt", REPO_ROOT / "requirements-nodeps.txt"]
    expected = stamp.read_text().strip() if stamp.is_file() else ""
    if not all(stamp_line(PROJECT_VENV, path) in expected.splitlines() for path in files):
        pytest.skip("the project venv is not current (its stamp does not match the requirements): running "
                    "setup_env.sh here would rebuild it")
    before = stamp.stat().st_mtime_ns
    pip_path, pip_log = fake_pip(tmp_path)
    env = {"HOME": os.environ.get("HOME", str(tmp_path)), "PATH": os.environ["PATH"], "LANG": "C",
           "PYTHONPATH": str(pip_path), "FAKE_PIP_LOG": str(pip_log)}
    assert_fake_pip_works(python, env, pip_log)
    outputs = []
    for _ in range(2):
        result = setup_env(env)
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines() == [
            line for line in result.stderr.splitlines() if PROGRESS.match(line)]
        assert "{} is up to date (requirements unchanged)".format(PROJECT_VENV) in result.stderr
        assert "installing" not in result.stderr and "creating" not in result.stderr
        outputs.append(stdout_lines(result)[-1])
    assert outputs == [str(python), str(python)]
    assert not pip_log.exists(), pip_log.read_text()
    assert stamp.read_text().strip() == expected and stamp.stat().st_mtime_ns == before


# ---------------------------------------------------------------------------- a throwaway venv's cycle
@pytest.fixture
def throwaway(sandbox):
    """Requirements pip satisfies from the new venv itself, an environment with a real Python 3.9 on
    PATH (TIPC_PYTHON unset) and pip kept off the network."""
    base = real_python39()
    req, nodeps = sandbox.root / "req.txt", sandbox.root / "nodeps.txt"
    req.write_text("# needs nothing new\npip>=20\n")
    nodeps.write_text("# installed with --no-deps\nsetuptools>=40\n")
    venv = sandbox.root / "venv"
    env = sandbox.env(path="{}:{}".format(base.parent, sandbox.tools), TIPC_VENV=venv, TIPC_REQUIREMENTS=req,
                      TIPC_REQUIREMENTS_NODEPS=nodeps, PIP_NO_INDEX=1, PIP_DISABLE_PIP_VERSION_CHECK=1)
    pip_path, pip_log = fake_pip(sandbox.root)
    no_pip_env = dict(env, PYTHONPATH=str(pip_path), FAKE_PIP_LOG=str(pip_log))
    return dict(base=base, req=req, nodeps=nodeps, venv=venv, env=env, no_pip_env=no_pip_env, pip_log=pip_log,
                stamp=venv / ".tipc-requirements.sha256", python=venv / "bin" / "python")


def test_bootstrap_cycle_on_a_throwaway_venv(throwaway):
    t = throwaway
    venv, stamp = t["venv"], t["stamp"]

    # First run: creates the venv, installs both files, checks them, writes the stamp.
    first = setup_env(t["env"])
    assert first.returncode == 0, first.stderr
    assert stdout_lines(first)[-1] == str(t["python"])
    assert "creating {} with {} (Python 3.".format(venv, t["base"]) in first.stderr
    assert "installing req.txt" in first.stderr
    assert "installing nodeps.txt without dependencies" in first.stderr
    assert "environment ready" in first.stderr
    assert "Requirement already satisfied: pip>=20" in Path(str(venv) + ".setup.log").read_text()
    first_stamp = stamp.read_text().strip()
    assert first_stamp == requirements_hash(venv, t["req"], t["nodeps"])
    (venv / "keep-me").write_text("a file the update must not remove")

    # Second run: up to date, no pip at all, the same interpreter.
    assert_fake_pip_works(t["python"], t["no_pip_env"], t["pip_log"])
    second = setup_env(t["no_pip_env"])
    assert second.returncode == 0, second.stderr
    assert stdout_lines(second) == [str(t["python"])]
    assert len(second.stderr.splitlines()) == 1
    assert PROGRESS.match(second.stderr)
    assert "{} is up to date (requirements unchanged)".format(venv) in second.stderr
    assert not t["pip_log"].exists()

    # Editing the requirements updates the venv in place and re-stamps it.
    with open(str(t["req"]), "a") as handle:
        handle.write("setuptools>=40\n")
    third = setup_env(t["env"])
    assert third.returncode == 0, third.stderr
    assert stdout_lines(third)[-1] == str(t["python"])
    assert "updating {} (requirements changed)".format(venv) in third.stderr
    assert "creating" not in third.stderr
    assert (venv / "keep-me").exists()
    new_stamp = stamp.read_text().strip()
    assert new_stamp != first_stamp
    assert new_stamp == requirements_hash(venv, t["req"], t["nodeps"])

    # And then it is up to date again.
    fourth = setup_env(t["no_pip_env"])
    assert fourth.returncode == 0, fourth.stderr
    assert "is up to date (requirements unchanged)" in fourth.stderr
    assert not t["pip_log"].exists()


def test_the_tests_tools_and_the_main_job_share_one_venv(throwaway):
    """tools/run_tests.sh adds requirements-dev.txt (and its -nodeps file); the main job, which does not,
    finds the venv current afterwards, and the reverse: neither reinstalls what the other installed."""
    t = throwaway
    dev = t["req"].parent / "dev.txt"
    dev.write_text("# the tests' tools\nsetuptools>=40\n")
    (t["req"].parent / "dev-nodeps.txt").write_text("# installed with --no-deps\npip>=20\n")
    with_dev = dict(t["env"], TIPC_REQUIREMENTS_DEV=str(dev))
    first = setup_env(with_dev)
    assert first.returncode == 0, first.stderr
    assert "installing req.txt and dev.txt" in first.stderr
    assert "installing dev-nodeps.txt without dependencies" in first.stderr
    assert t["stamp"].read_text().strip() == requirements_hash(
        t["venv"], t["req"], t["nodeps"], dev, t["req"].parent / "dev-nodeps.txt")
    for env in (t["no_pip_env"], dict(t["no_pip_env"], TIPC_REQUIREMENTS_DEV=str(dev))):
        again = setup_env(env)
        assert again.returncode == 0 and "up to date" in again.stderr, again.stderr
    assert not t["pip_log"].exists()


def test_failed_install_leaves_no_stamp_and_is_retried(throwaway):
    t = throwaway
    assert setup_env(t["env"]).returncode == 0
    good = t["req"].read_text()
    t["req"].write_text(good + "tipc-serving-no-such-package==1.0\n")

    failed = setup_env(t["env"])
    assert failed.returncode == 1
    assert failed.stdout == ""
    errors = [line for line in failed.stderr.splitlines() if not PROGRESS.match(line)]
    assert len(errors) == 1, failed.stderr
    assert errors[0].startswith("setup_env: error: pip install -r {} failed; last lines of {}.setup.log:".format(
        t["req"], t["venv"]))
    assert not t["stamp"].exists()

    # Not "up to date" now: the next run runs pip again (the fake one here, which fails too).
    retried = setup_env(t["no_pip_env"])
    assert retried.returncode == 1
    assert "up to date" not in retried.stderr
    assert t["pip_log"].read_text().startswith("install ")

    t["req"].write_text(good)
    fixed = setup_env(t["env"])
    assert fixed.returncode == 0, fixed.stderr
    assert "updating" in fixed.stderr
    assert t["stamp"].read_text().strip() == requirements_hash(t["venv"], t["req"], t["nodeps"])


# ----------------------------------------------------------------------------------------- check_env.py
def test_check_env_accepts_the_project_venv():
    python = needs_project_venv()
    result = run([python, CHECK_ENV, REPO_ROOT / "requirements.txt", REPO_ROOT / "requirements-nodeps.txt"])
    assert (result.returncode, result.stdout) == (0, "")


def test_check_env_names_each_problem(tmp_path):
    python = needs_project_venv()
    req = tmp_path / "req.txt"
    req.write_text("# a comment\n-r other.txt\n--no-deps\nnumpy>=99  # too new\ntipc-serving-no-such-package\n"
                   "pytest>=7\n\n")
    result = run([python, CHECK_ENV, req])
    assert result.returncode == 1
    lines = stdout_lines(result)
    assert len(lines) == 2, result.stdout
    assert re.match(r"^numpy: 1\.\d+\.\d+ installed, >=99 required$", lines[0]), lines[0]
    assert lines[1] == "tipc-serving-no-such-package: not installed"


def test_check_env_refuses_other_python_versions(tmp_path):
    other = None
    for name in ("python3.11", "python3.12", "python3.10", "python3"):
        found = shutil.which(name)
        if found:
            version = subprocess.check_output([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                              text=True).strip()
            if version not in ("3.8", "3.9"):
                other = (found, version)
                break
    if other is None:
        pytest.skip("no Python other than 3.8/3.9 on PATH")
    req = tmp_path / "req.txt"
    req.write_text("pip\n")
    result = run([other[0], CHECK_ENV, req])
    assert result.returncode == 1
    assert stdout_lines(result) == ["Python {} (need 3.8 or 3.9)".format(other[1])]


def test_check_env_usage():
    result = run([needs_project_venv(), CHECK_ENV])
    assert result.returncode == 2
    assert result.stdout.startswith("usage: check_env.py")
