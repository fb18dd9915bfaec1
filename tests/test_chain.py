"""chain/: the pieces of a run's steps that need no service: commands, reasons, step names, interruption."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import psutil
import pytest

from conftest import REPO_ROOT, clean_env
from tipc_serving.chain import cli, prepare
from tipc_serving.chain.case import CaseRun, check_twins
from tipc_serving.chain.commands import failure_reason, first_line_with, run_logged
from tipc_serving.verdict.inputs import load_served


@pytest.mark.parametrize("log, line", [
    ("loading\nconvert.py: error: no such model\nTraceback\nValueError: later\n", "convert.py: error: no such model"),
    ("Traceback (most recent call last):\n  File x\nValueError: (InvalidArgument) bad program\n\n",
     "ValueError: (InvalidArgument) bad program"),
    ("step one\nstep two: it went wrong\n\n  \n", "step one | step two: it went wrong"),  # the last lines
    ("", ""),
])
def test_failure_reason_prefers_the_steps_own_error_then_the_exception_then_the_last_line(tmp_path, log, line):
    path = tmp_path / "step.log"
    path.write_text(log)
    assert failure_reason(3, path) == "exit status 3: {} (see {})".format(line, path)


def test_first_line_with_is_grep_m1(tmp_path):
    path = tmp_path / "client.log"
    path.write_text("image_name: a.jpg, err_no: 4004\nclient.py: error: a.jpg: bad\nmore error\n")
    assert first_line_with(path, "error") == "client.py: error: a.jpg: bad"
    assert first_line_with(path, "nothing") == "" and first_line_with(tmp_path / "absent.log", "error") == ""


def test_run_logged_returns_the_status_and_keeps_the_output(tmp_path):
    log = tmp_path / "out.log"
    status, seconds = run_logged([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); "
                                  "sys.exit(3)"], log, tmp_path)
    assert status == 3 and seconds >= 0 and log.read_text().split() == ["out", "err"]


def test_the_step_names_of_the_command_line_are_the_steps():
    assert tuple(prepare.STEPS) == cli.STEP_NAMES


def test_sigterm_while_a_command_runs_ends_the_command_too(tmp_path):
    """A step interrupted by the harness's trap (SIGTERM) terminates its command before it exits."""
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, {root!r})
        from tipc_serving.errors import cli, handle_termination
        from tipc_serving.chain.commands import run_logged

        @cli("step")
        def main():
            handle_termination()
            run_logged([sys.executable, "-c", "import time; time.sleep(60)"], {log!r}, {cwd!r})
            return 0

        sys.exit(main())
    """).format(root=str(REPO_ROOT), log=str(tmp_path / "sleep.log"), cwd=str(tmp_path))
    step = subprocess.Popen([sys.executable, "-c", script], env=clean_env(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    children = []
    while not children and time.monotonic() < deadline:
        children = psutil.Process(step.pid).children()
        time.sleep(0.05)
    assert children, "the command never started"
    os.kill(step.pid, signal.SIGTERM)
    assert step.wait(timeout=30) == 128 + signal.SIGTERM
    assert "step: interrupted by SIGTERM" in step.stderr.read()
    assert not psutil.pid_exists(children[0].pid) or children[0].status() == psutil.STATUS_ZOMBIE


class FakeRun:
    """What check_twins reads of a CaseRun: its name, twin, status, answers (as its check read them from its
    client log); what it writes: a verdict."""

    def __init__(self, name, twin, status, log):
        self.name, self.case, self.status, self.log = name, {"twin": twin}, status, log
        self.facts = SimpleNamespace(same_as_twin=None)
        self.recorded = 0

    def answers(self):
        return load_served(self.log)

    def record(self):
        self.recorded += 1


def client_log(path, prob):
    path.write_text("image_name: a.jpg, class_id: 1, prob: {0}, topk: 1:{0} 2:0.1\n".format(prob))
    return path


@pytest.mark.parametrize("mkldnn_prob, flagged", [("0.5", True), ("0.500001", False)])
def test_a_case_whose_answers_are_bit_identical_to_its_twins_is_flagged(tmp_path, mkldnn_prob, flagged):
    twin = FakeRun("cpu_usemkldnn_False_threads_2", None, "passed", client_log(tmp_path / "twin.log", "0.5"))
    mkldnn = FakeRun("cpu_usemkldnn_True_threads_2", twin.name, "passed",
                     client_log(tmp_path / "mkldnn.log", mkldnn_prob))
    check_twins([twin, mkldnn], ctx=None)
    assert (mkldnn.facts.same_as_twin is not None, mkldnn.recorded) == (flagged, int(flagged))
    if flagged:
        assert mkldnn.facts.same_as_twin.startswith("answers bit-identical to cpu_usemkldnn_False_threads_2's")
    assert twin.recorded == 0 and twin.facts.same_as_twin is None


def test_a_case_recorded_again_keeps_its_own_duration(tmp_path):
    # The twin check records a case again after the later cases ran: its total_s must stay its own.
    updates = []
    ctx = SimpleNamespace(run_dir=tmp_path, config={"coverage": None}, progress=lambda text: None,
                          status_line=lambda ok, argv, log: None, python=lambda: sys.executable,
                          report=SimpleNamespace(update_case=lambda name, **fields: updates.append(fields)))
    run = CaseRun(ctx, {"name": "cpu_usemkldnn_True_threads_2", "service": {"log": "server.log", "argv": []}})
    run.dir.mkdir()
    run.facts.refused = "refused by the plan"
    run.record()
    time.sleep(0.05)
    run.facts.same_as_twin = "answers bit-identical to its twin's"
    run.record()
    assert [u["status"] for u in updates] == ["failed", "failed"]
    assert updates[1]["timings"]["total_s"] == updates[0]["timings"]["total_s"]
