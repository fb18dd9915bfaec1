"""Runs that always end, and end true (issue 22): every case has a deadline, a signal to the harness's pid
alone ends every process of the run, an output folder that cannot be written is one line, runs of one
checkout never share what they write, and a failed step or service quotes the line of its log that says why.

The harness runs are real (test_tipc/test_serving.sh, the real service); the ones that take more than a
minute are marked slow. Output folders that fill or refuse writes are small tmpfs mounts (root only),
always unmounted afterwards.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from conftest import PYTHON, REPO_ROOT, SERVING_DIR, clean_env
from harnesskit import HARNESS, HarnessRun, config_for, harness_args, run_harness, serving_dir_with, wait_for
from test_dialects import config_of, repo_with_model, seeded_exports  # noqa: F401  (a fixture)
from tipc_serving.chain.commands import TimedOut, decisive_line, failure_reason, run_logged
from tipc_serving.errors import OutputError
from tipc_serving.jsonfile import write_json
from tipc_serving.model import converted
from tipc_serving.service import record
from tipc_serving.service.ports import LOOPBACK
from tipc_serving.service.process import group_members

TWO_CASES = ["cpu_usemkldnn_False_threads_1", "cpu_usemkldnn_False_threads_2"]


def two_cpu_cases():
    return ["--opt op.alexnet.local_service_conf.devices:null",
            "--opt op.alexnet.local_service_conf.thread_num:1|2"]


def no_traceback(text):
    assert "Traceback" not in text, text[-3000:]


# ---------------------------------------------------------------- the decisive line of a log

CONVERT_DAMAGED = """\
Traceback (most recent call last):
  File "convert.py", line 1, in <module>
RuntimeError: In user code:

    File "paddle/static/io.py", line 1277, in load_vars
      load_block.append_op(
    UnavailableError: An error occurred while loading model parameters. Please check whether the model file is complete or damaged.
      [Hint: Expected static_cast<bool>(*buffer) == true.] (at ../paddle/fluid/operators/load_combine_op.h:93)
      [operator < load_combine > error]
"""


@pytest.mark.parametrize("text, line", [
    (CONVERT_DAMAGED, "UnavailableError: An error occurred while loading model parameters. Please check whether the "
                      "model file is complete or damaged."),
    ("RuntimeError: In user code:\n\n  (InvalidArgument) The shape of x is wrong.\n  [Hint: ...]\n",
     "(InvalidArgument) The shape of x is wrong."),
    ("import ocr\nTraceback (most recent call last):\n  File \"web_service.py\", line 3\n"
     "ModuleNotFoundError: No module named 'sentencepiece'\n", "ModuleNotFoundError: No module named 'sentencepiece'"),
    ("image_name: a.jpg, err_no: -1, err_msg: x\nTraceback (most recent call last):\n  File \"c.py\"\n"
     "FileNotFoundError: [Errno 2] No such file or directory: 'imgs'\n",
     "FileNotFoundError: [Errno 2] No such file or directory: 'imgs'"),
    ("start\nFailed to prepare_server: prot 18090 is already used\nbye\n",
     "Failed to prepare_server: prot 18090 is already used"),
    ("one\ntwo\n\nthree\nfour\n\n", "two | three | four"),
])
def test_the_decisive_line_is_the_one_that_says_why(tmp_path, text, line):
    log = tmp_path / "some.log"
    log.write_text(text)
    assert decisive_line(log) == line
    assert failure_reason(1, log) == "exit status 1: {} (see {})".format(line, log)


def test_the_decisive_line_of_several_logs_takes_the_last_exception(tmp_path):
    server, wf = tmp_path / "server.log", tmp_path / "pipeline.log.wf"
    server.write_text("init success\n")
    wf.write_text("Traceback (most recent call last):\nValueError: fetch name linear_9.tmp_1 not in the model\n")
    assert decisive_line(server, wf) == "ValueError: fetch name linear_9.tmp_1 not in the model"
    assert decisive_line(server, tmp_path / "absent.log") == "init success"
    assert decisive_line(tmp_path / "absent.log") == ""


# ---------------------------------------------------------------- commands within a deadline

def test_a_command_past_its_time_is_stopped_with_its_whole_group(tmp_path):
    # a command that ignores SIGTERM, with a child that does too: both are gone when run_logged returns
    pids = tmp_path / "pids"
    script = textwrap.dedent("""
        import os, signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
        open({pids!r}, "w").write("{{}} {{}}".format(os.getpid(), child.pid))
        time.sleep(600)
    """).format(pids=str(pids))
    with pytest.raises(TimedOut) as raised:
        run_logged([sys.executable, "-c", script], tmp_path / "hung.log", tmp_path, timeout=10)
    assert str(raised.value) == "gave no answer within 10 s"
    for pid in map(int, pids.read_text().split()):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.fixture
def silent_listener():
    """A TCP listener on loopback that accepts connections and never answers: (port, stop)."""
    server = socket.socket()
    server.bind((LOOPBACK, 0))
    server.listen(16)
    accepted, stop = [], threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


@pytest.mark.parametrize("client, target", [
    ("pipeline_http_client.py", "--url=http://127.0.0.1:{}/alexnet/prediction"),
    ("pipeline_rpc_client.py", "--endpoint=127.0.0.1:{}"),
])
def test_the_clients_bound_their_whole_run_with_one_error_line(silent_listener, client, target):
    """A service that answers nothing: the project's clients end within --timeout with one error line and exit
    status 1, whatever each request's own timeout (60 s by default): no hang, no traceback."""
    started = time.monotonic()
    result = subprocess.run([PYTHON, SERVING_DIR / client, target.format(silent_listener), "--timeout", "4"],
                            cwd=str(SERVING_DIR), env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    no_traceback(result.stderr)
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == ["{}: error: no answer within 4 s (--timeout, the whole run): stopped after 0 of 4 images".format(
        client)], result.stderr
    assert time.monotonic() - started < 60  # not the 4 x 60 s of the requests' own timeouts


def test_a_grpc_future_timeout_is_an_answer_error_not_a_traceback(silent_listener):
    result = subprocess.run([PYTHON, SERVING_DIR / "pipeline_rpc_client.py", "--endpoint",
                             "127.0.0.1:{}".format(silent_listener), "--connect-timeout", "0.5", "--read-timeout",
                             "0.5", "--timeout", "60"], cwd=str(SERVING_DIR), env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 1
    no_traceback(result.stderr)
    assert "no answer from 127.0.0.1:{} within 1 s".format(silent_listener) in result.stderr, result.stderr


# ---------------------------------------------------------------- the registry under two runs

def test_two_runs_recovering_at_once_never_trip_over_each_other(tmp_path, monkeypatch):
    """The other run removes the entry between this run's listing and its own removal."""
    monkeypatch.setenv(record.REGISTRY_ENV, str(tmp_path / "state"))
    gone = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    gone.wait()
    record.register(gone.pid, time.time(), ["web_service.py"], tmp_path / "server.log")
    [entry] = list(record.registry_dir().glob("*.json"))

    def group_gone_and_removed_by_the_other_run(pgid, started=None):
        entry.unlink(missing_ok=True)
        return []

    monkeypatch.setattr(record, "group_members", group_gone_and_removed_by_the_other_run)
    assert record.recover(1) == []
    record.register(gone.pid, time.time(), ["web_service.py"], tmp_path / "server.log")
    entry.write_text("{not json")
    real_read = Path.read_text

    def removed_while_read(path, *args, **kwargs):
        text = real_read(path, *args, **kwargs)
        path.unlink()
        return text

    monkeypatch.setattr(Path, "read_text", removed_while_read)
    assert record.recover(1) == []
    record.unregister(gone.pid, 0.0)  # an entry already gone


# ---------------------------------------------------------------- one converted model per run

def test_a_conversion_is_published_atomically_and_old_copies_are_forgotten(tmp_path):
    folder = tmp_path / "alexnet_serving_server"
    folder.mkdir()
    (folder / "old").write_text("a conversion by hand")
    ended = "20260101T000000Z-{}-1".format(2 ** 22 + 7)  # a pid that cannot run (above pid_max's default)
    mine = "20260101T000001Z-{}-2".format(os.getpid())
    for run_id in (ended, mine):
        part = converted.start_part(folder, run_id)
        part.mkdir()
        (part / "model").write_text(run_id)
        converted.publish(folder, run_id)
        assert folder.is_symlink() and (folder / "model").read_text() == run_id
    assert not converted.run_copy(folder, ended).exists()  # its run ended and the folder names another
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name, converted.run_copy(folder, mine).name]
    # the plan resolves symlinks: the folder given as the copy it points at is still the config's folder
    assert converted.run_copy(folder.resolve(), ended) == converted.run_copy(folder, ended)
    assert converted.declared(folder.resolve()) == folder
    converted.forget_ended(folder.resolve(), mine)  # the folder still names it: kept
    assert (folder / "model").read_text() == mine


# ---------------------------------------------------------------- output folders that fail

@pytest.fixture
def tmpfs(tmp_path):
    """mount(name, size, options) -> a tmpfs mounted under tmp_path (root only); unmounted afterwards."""
    mounted = []

    def mount(name, size="1m", options=""):
        where = tmp_path / name
        where.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size={}{}".format(size, options), "tmpfs",
                                 str(where)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            pytest.skip("cannot mount a tmpfs here: " + result.stdout.strip())
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder, leave_kb=0):
    """Fill a tmpfs up to leave_kb KB free."""
    free = os.statvfs(str(folder)).f_bavail * os.statvfs(str(folder)).f_frsize - leave_kb * 1024
    with open(str(folder / "filler"), "wb") as handle:
        try:
            handle.write(b"\0" * max(free, 0))
        except OSError:
            pass


@pytest.mark.parametrize("kind", ["full", "read_only"])
def test_write_json_to_a_failing_folder_is_one_line_naming_the_file(tmpfs, kind):
    folder = tmpfs(kind, options=",ro" if kind == "read_only" else "")
    if kind == "full":
        fill(folder)
    with pytest.raises(OutputError) as raised:
        write_json(folder / "run" / "results.json", {"cases": []} if kind == "read_only" else {"x": "y" * 100000})
    why = "Read-only file system" if kind == "read_only" else "No space left on device"
    assert str(raised.value) == "cannot write {}: {}".format(folder / "run" / "results.json", why)


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["full", "read_only"])
def test_an_output_folder_that_cannot_be_written_is_one_line_and_exit_1(tmp_path, alexnet_model, tmpfs, kind):
    folder = tmpfs(kind, options=",ro" if kind == "read_only" else "")
    if kind == "full":
        fill(folder)
    run = run_harness([config_for(tmp_path, alexnet_model)], folder / "out")
    assert run.result.returncode == 1, run.output[-3000:]
    no_traceback(run.output)
    why = "Read-only file system" if kind == "read_only" else "No space left on device"
    errors = [line for line in run.result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("test_serving.sh: error: cannot write {}/".format(folder)) \
        and errors[0].endswith(": " + why), run.result.stderr
    assert not (tmp_path / "converted").exists()  # it stopped before the first step


@pytest.mark.e2e
@pytest.mark.slow
def test_an_output_folder_that_fills_during_the_run_stops_it_in_one_line(tmp_path, alexnet_model, tmpfs):
    """About 250 KB free: the run starts, then a write fails. One line, exit 1, no traceback, nothing left
    running, and results.json is one that was written whole (what was decided before the failure)."""
    folder = tmpfs("filling", size="2m")
    fill(folder, leave_kb=250)
    run = run_harness([config_for(tmp_path, alexnet_model, matrix=two_cpu_cases())], folder / "out")
    assert run.result.returncode == 1, run.output[-3000:]
    no_traceback(run.output)
    errors = [line for line in run.result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("test_serving.sh: error: cannot write "), run.result.stderr
    assert errors[0].endswith(": No space left on device")
    results = run.results  # parses: written whole
    assert results["state"] in ("running", "interrupted")
    assert all(case["status"] != "running" or results["state"] == "running" for case in results["cases"])
    groups = record.recorded_groups(run.run_dir / ".started_groups") if (run.run_dir / ".started_groups").exists() \
        else []
    assert not [g for g, started in groups if group_members(g, started)]


# ---------------------------------------------------------------- the case's deadline

HUNG_CLIENT = '''\
"""A client that sends nothing and never ends: it ignores SIGTERM, and so does a child of it."""
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                          "time.sleep(3600)"])
print("hung client: pids", os.getpid(), child.pid, flush=True)
time.sleep(3600)
'''


@pytest.fixture
def hung_client_dir(tmp_path):
    """A serving_dir with the real service and a pipeline_http_client.py that hangs."""
    return serving_dir_with(tmp_path / "hung_client", {"pipeline_http_client.py": HUNG_CLIENT})


@pytest.mark.e2e
def test_a_hung_client_fails_its_case_at_the_deadline_and_the_run_goes_on(tmp_path, alexnet_model, hung_client_dir):
    config = config_for(tmp_path, alexnet_model, matrix=two_cpu_cases())
    config.write_text(config.read_text().replace("serving_dir:{}".format(SERVING_DIR),
                                                 "serving_dir:{}".format(hung_client_dir)))
    run = run_harness([config], tmp_path / "out", extra=["--case-timeout", "25", "--stop-grace", "2"])
    assert run.result.returncode == 1, run.output[-3000:]
    assert "each case must end within 25 s, start to stop (--case-timeout)" in run.output
    results = run.results
    assert results["state"] == "finished" and results["case_timeout_s"] == 25
    for name in TWO_CASES:  # both ran: the first one's hang did not stop the run
        case = run.case(name)
        log = run.run_dir.resolve() / name / "client.log"
        assert case["status"] == "failed"
        assert case["reason"].startswith("HTTP client gave no answer within "), case["reason"]
        assert "s (stopped at the case's deadline, --case-timeout 25; see {})".format(log) in case["reason"]
        assert "not in effect" not in case["reason"]  # no inference ran: no setting is judged
        assert not (run.run_dir / name / "rpc_client.log").exists()  # nothing after the hung client
        for pid in map(int, log.read_text().split("pids", 1)[1].split()):
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert case["timings"]["total_s"] < 25 + 5
    run.assert_status_log_agrees()
    assert run.leftovers() == {}


def test_case_timeout_must_be_a_number_of_seconds(tmp_path):
    result = subprocess.run(["bash", str(REPO_ROOT / "test_tipc" / "test_serving.sh"), "--case-timeout", "0"],
                            cwd=str(tmp_path), env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == "test_serving.sh: error: --case-timeout takes a number of seconds above 0\n"


# ---------------------------------------------------------------- signals to the harness's pid alone

def run_processes(output_dir):
    """Every process alive whose command line or working folder names the run's output folder or its config
    folder: the steps, the case runner, the clients (the services are found by their recorded groups)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.pid != os.getpid() and any(str(output_dir) in part for part in process.info["cmdline"] or []):
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def reset_signals():
    """As a terminal starts the harness: a real Ctrl-C reaches it, and SIGHUP is not ignored (under `nohup`, the
    test run's children inherit SIGHUP ignored, and bash cannot trap a signal ignored when it starts)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [
    signal.SIGTERM,
    pytest.param(signal.SIGINT, marks=pytest.mark.slow),
    pytest.param(signal.SIGHUP, marks=pytest.mark.slow),
    pytest.param(signal.SIGKILL, marks=pytest.mark.slow),
], ids=lambda sig: sig.name)
def test_a_signal_to_the_harness_pid_alone_ends_every_process_of_the_run(tmp_path, alexnet_model, sig):
    output = tmp_path / "out"
    log = open(str(tmp_path / "harness.out"), "w")
    process = subprocess.Popen(harness_args([config_for(tmp_path, alexnet_model, matrix=two_cpu_cases())], output),
                               cwd=str(REPO_ROOT), env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True, preexec_fn=reset_signals)
    try:
        ready = output / "alexnet" / "serving_python" / "latest" / TWO_CASES[0] / "ready.log"
        wait_for(lambda: process.poll() is not None or ready.exists(), 300)
        assert process.poll() is None, (tmp_path / "harness.out").read_text()[-3000:]
        os.kill(process.pid, sig)
        process.wait(timeout=120)
        run = HarnessRun(subprocess.CompletedProcess(process.args, process.returncode, "", ""), output, "alexnet")
        if sig == signal.SIGKILL:  # no trap ran: the steps notice their harness is gone, and stop
            wait_for(lambda: not run_processes(output) and run.results["state"] != "running", 60)
        else:
            assert process.returncode == 128 + sig
            assert run_processes(output) == []  # nothing of the run outlives its harness
        written = (run.run_dir / "results.json").read_bytes()
        time.sleep(15)  # a case runner left behind would start the second case within this
        assert run_processes(output) == [] and run.leftovers() == {}
        assert (run.run_dir / "results.json").read_bytes() == written
        results = json.loads(written)
        assert results["state"] == "interrupted"
        assert {case["name"]: case["status"] for case in results["cases"]} == dict.fromkeys(TWO_CASES, "not_run")
        assert not (run.run_dir / TWO_CASES[1]).exists()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in run_processes(output):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ---------------------------------------------------------------- runs at once

@pytest.mark.e2e
@pytest.mark.slow
def test_runs_of_one_checkout_at_once_all_pass(tmp_path, alexnet_model):
    """Three runs of one config (one converted folder) at once, each with its own output folder."""
    config = config_for(tmp_path, alexnet_model)
    outputs = [tmp_path / "out{}".format(i) for i in range(3)]
    processes = [subprocess.Popen(harness_args([config], output), cwd=str(REPO_ROOT), env=clean_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
                 for output in outputs]
    outputs_text = [process.communicate(timeout=900)[0] for process in processes]
    for process, output, text in zip(processes, outputs, outputs_text):
        assert process.returncode == 0, text[-3000:]
        run = HarnessRun(subprocess.CompletedProcess(process.args, 0, text, ""), output, "alexnet")
        assert run.leftovers() == {}
    folder = tmp_path / "converted" / "serving_server"
    assert folder.is_symlink() and (folder / "serving_server_conf.prototxt").is_file()


@pytest.mark.slow
def test_two_runs_of_one_repository_checkout_take_turns(tmp_path, seeded_exports):
    """A PaddlePaddle config converts into its checkout's own folders, which its service reads: a second run
    of the same checkout waits for the first (a lock outside the checkout) instead of rewriting the model
    under its service; both pass. Each run is in a network namespace of its own (the repository's ports)."""
    repo = repo_with_model("PaddleSeg", tmp_path, seeded_exports)
    config = str(config_of("PaddleSeg", tmp_path).relative_to(repo))
    runs = [subprocess.Popen(["bash", str(HARNESS), config, "--gpu", "off", "--output-dir", "out{}".format(n)],
                             cwd=str(repo), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env(),
                             text=True) for n in (1, 2)]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    waited = ["waiting for another run of this repository's checkout" in output for output in outputs]
    assert waited.count(True) == 1, outputs
    for n in (1, 2):
        results = HarnessRun(subprocess.CompletedProcess([], 0, "", ""), repo / "out{}".format(n),
                             "pp_liteseg_stdc1").results
        assert [c["status"] for c in results["cases"] if c["name"] == "cpu"] == ["passed"]
