"""Faults, through the real test_tipc/test_serving.sh and the real Paddle Serving service (issue 5).

Each test breaks one thing on purpose (the model, the service, the client, a port, the config, the
harness itself) and checks what a person relies on afterwards: no serving process is left, the
run's results.json and junit.xml parse, and the failing case or step says why in words.

The harness runs in a private network namespace by default (--netns auto); the tests that need the
service's ports on the host network pass --netns off. Every run gets free ports and its own tmp_path.
Tests that start the harness in the background use the `background` fixture (conftest.py), which kills
what is left of the harness's own process group and stops every service group it recorded, whatever the
test's outcome.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import psutil
import pytest

from conftest import IMAGES, PYTHON, SERVING_DIR
from harnesskit import (ONE_CASE, HarnessRun, case_server_pid, config_for, gpu_only, kill_harness_group, run_harness,
                        serving_dir_with, signal_group, step, stop_recorded_services, wait_for, write_config)
from servicekit import running_service
from tipc_serving.service.ports import LOOPBACK, free_ports, port_in_use
from tipc_serving.service.process import group_members, is_alive

pytestmark = pytest.mark.e2e

TWO_CASES = ["cpu_usemkldnn_False_threads_1", "cpu_usemkldnn_False_threads_2"]
# A config of the user's own: the seed-0 AlexNet export under a name tools/export_model.py does not know
# (so the config brings its model) and that has no golden file in test_tipc/results/ (so any image
# folder can be used: the golden results describe images/ only, see the xfail test at the end).
OWN_MODEL = "mynet"
NOT_REACHED = "not reached: a preparation step failed (see the steps above)"


# ---------------------------------------------------------------- helpers

def two_cpu_cases(model_name="alexnet"):
    """The matrix of TWO_CASES: CPU, 1 and 2 threads."""
    return ["--opt op.{}.local_service_conf.devices:null".format(model_name),
            "--opt op.{}.local_service_conf.thread_num:1|2".format(model_name)]


NOTHING_RAN = "no case ran: 1 skipped (skipped: no GPU (--gpu off))"


def own_config(tmp_path, model_dir, images, matrix=None):
    """OWN_MODEL's config over an image folder of the test's own."""
    return config_for(tmp_path, model_dir, model_name=OWN_MODEL, images=images, matrix=matrix)


def image_copies(folder, count):
    """`count` copies of the test images in folder (a client over them runs for a while)."""
    folder.mkdir(parents=True, exist_ok=True)
    originals = sorted(IMAGES.glob("*.jpg"))
    for index in range(count):
        source = originals[index % len(originals)]
        shutil.copy(source, folder / "img_{:03d}_{}".format(index, source.name))
    return folder


def reports(run):
    """results.json and junit.xml of the run's latest run dir, both parsed (a parse error fails the test),
    after checking that the TIPC status lines agree with results.json."""
    results = run.results
    junit = run.junit
    suite = junit.find("testsuite")
    assert suite is not None and int(suite.get("tests")) >= len(results["cases"]), ElementTree.tostring(junit)
    if results["state"] != "running":  # a harness killed with SIGKILL wrote no verdict for its last case
        run.assert_status_log_agrees()
    return results, suite


def junit_case(suite, name):
    return next(case for case in suite.findall("testcase") if case.get("name") == name)


def assert_no_service_left(run):
    assert run.leftovers() == {}, "serving processes left: {}".format(run.leftovers())


def finished(process, output_dir, model_name=OWN_MODEL, timeout=300):
    """A background harness, once it exits, as a HarnessRun (its combined output as stdout)."""
    process.wait(timeout=timeout)
    output = process.log_path.read_text(errors="replace")
    return HarnessRun(subprocess.CompletedProcess(process.args, process.returncode, output, ""),
                      Path(output_dir), model_name)


def latest_case_dir(output_dir, case=ONE_CASE, model_name=OWN_MODEL):
    return Path(output_dir) / model_name / "serving_python" / "latest" / case


def harness_output(process):
    return process.log_path.read_text(errors="replace")[-4000:] if process.log_path.exists() else ""


def wait_until_case_ready(process, output_dir, case=ONE_CASE, timeout=180):
    """Block until the case's service passed the readiness probe (ready.log says "ready after ...")."""
    ready = latest_case_dir(output_dir, case) / "ready.log"

    def ready_or_gone():
        if process.poll() is not None:
            return "gone"
        return ready.exists() and ready.read_text().startswith("ready after")

    assert wait_for(ready_or_gone, timeout) is True, "harness exited before {} was ready:\n{}".format(
        case, harness_output(process))
    return case_server_pid(latest_case_dir(output_dir, case).parent)


def wait_for_client(process, script, timeout=120):
    """The pid of the harness's client `script` once it runs (a descendant of the harness, in a process group
    of its own: chain/commands.py)."""

    def client_pid():
        assert process.poll() is None, "harness exited before {} ran:\n{}".format(script, harness_output(process))
        try:
            members = psutil.Process(process.pid).children(recursive=True)
        except psutil.Error:
            return None
        for member in members:
            try:
                if any(part.endswith(script) for part in member.cmdline()):
                    return member.pid
            except psutil.Error:
                continue
        return None

    return wait_for(client_pid, timeout, interval=0.05)


def refused(port):
    """True when a TCP connection to 127.0.0.1:port is refused (nothing listens there for us)."""
    try:
        socket.create_connection((LOOPBACK, port), timeout=3).close()
    except ConnectionRefusedError:
        return True
    return False


# ---------------------------------------------------------------- teardown under faults: convert

def garbage_model(folder):
    # A realistic broken model: a download that saved the server's error page under the model's
    # names. plan.py sees inference.pdmodel/.pdiparams present, so it neither exports nor refuses;
    # paddle_serving_client.convert then fails to parse the program (exit status 1).
    folder.mkdir(parents=True)
    page = b"<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n"
    (folder / "inference.pdmodel").write_bytes(page)
    (folder / "inference.pdiparams").write_bytes(page)
    return folder


def test_convert_that_fails_stops_the_run_before_any_service(tmp_path):
    config = config_for(tmp_path, garbage_model(tmp_path / "downloaded_model"))
    run = run_harness([config], tmp_path / "out")
    assert run.result.returncode == 1, run.output[-3000:]
    results, suite = reports(run)
    convert = step(results, "convert")
    assert convert["status"] == "failed"
    assert convert["reason"] == ("exit status 1: ValueError: (InvalidArgument) Failed to parse program_desc from "
                                 "binary string. (see {})".format(run.run_dir.resolve() / "convert.log")), convert
    assert "Failed to parse program_desc" in (run.run_dir / "convert.log").read_text()
    assert not any(s["name"] == "reference" for s in results["steps"])  # nothing after the failed step
    case = run.case(ONE_CASE)
    assert (case["status"], case["reason"]) == ("not_run", NOT_REACHED)
    assert results["state"] == "finished"
    failure = junit_case(suite, "step:convert").find("failure")
    assert failure is not None and "exit status 1" in failure.get("message")
    assert junit_case(suite, ONE_CASE).find("error").get("message") == NOT_REACHED
    assert any(line.startswith("Run failed with command") and "paddle_serving_client.convert" in line
               for line in run.status_lines)
    assert run.started_groups() == []
    assert_no_service_left(run)


@pytest.mark.parametrize("leftover", [False, True], ids=["nothing_written", "stale_output_left"])
def test_convert_that_exits_0_without_writing_is_caught(tmp_path, alexnet_model, alexnet_serving_server, leftover):
    # A converter that "succeeds" without writing anything (trans_model runs `python -c pass --dirname
    # ...`): the harness checks the files itself. With an earlier conversion's output in place, those
    # files must not pass for this one.
    config = config_for(tmp_path, alexnet_model)
    config.write_text(config.read_text().replace("trans_model:-m paddle_serving_client.convert", "trans_model:-c pass"))
    if leftover:
        for folder in ("serving_server", "serving_client"):
            shutil.copytree(str(alexnet_serving_server.parent / folder), str(tmp_path / "converted" / folder))
        old = time.time() - 3600
        for path in (tmp_path / "converted").rglob("*"):
            os.utime(str(path), (old, old))
    run = run_harness([config], tmp_path / "out")
    assert run.result.returncode == 1, run.output[-3000:]
    results, suite = reports(run)
    convert = step(results, "convert")
    assert convert["status"] == "failed" and convert["reason"].startswith("conversion incomplete: "), convert
    server_conf = tmp_path / "converted" / "serving_server" / "serving_server_conf.prototxt"
    # the conversion is written into a fresh folder beside the config's (model/converted.py): an earlier
    # conversion's files there cannot pass for this one's
    assert "{} was not written".format(server_conf) in convert["reason"], convert["reason"]
    assert run.case(ONE_CASE)["status"] == "not_run"
    assert junit_case(suite, "step:convert").find("failure") is not None
    assert run.started_groups() == []
    assert_no_service_left(run)


# ---------------------------------------------------------------- teardown under faults: the model

@pytest.fixture
def params_cut_short(tmp_path, alexnet_serving_server):
    """A converted model whose parameters file is cut short: Paddle Inference cannot load it, and
    Paddle Serving answers that by SIGKILLing its own process group."""
    folder = tmp_path / "params_cut_short"
    shutil.copytree(str(alexnet_serving_server), str(folder))
    params = folder / "inference.pdiparams"
    params.write_bytes(params.read_bytes()[:4096])
    return folder


def test_model_that_fails_to_load_fails_each_case_and_the_harness_survives(tmp_path, alexnet_model,
                                                                          params_cut_short):
    config = config_for(tmp_path, alexnet_model, matrix=two_cpu_cases(), extra=[
        "--opt op.alexnet.local_service_conf.model_config:{}".format(params_cut_short)])
    run = run_harness([config], tmp_path / "out", extra=["--ready-timeout", "120"])
    assert run.result.returncode == 1, run.output[-3000:]
    results, suite = reports(run)
    assert results["state"] == "finished"  # both cases ran to their verdict: the harness survived
    groups = run.started_groups()
    assert len(groups) == 2
    for name, group in zip(TWO_CASES, groups):
        case = run.case(name)
        assert case["status"] == "failed"
        server_log = run.run_dir.resolve() / name / "server.log"
        # "service process G exited" or, when an op process's death is seen first, "service process P
        # of group G died"
        assert case["reason"].startswith("service not ready: service process "), case["reason"]
        assert str(group) in case["reason"]
        assert "before it was ready (see {})".format(server_log) in case["reason"]
        assert "did not answer" not in case["reason"]  # the death was seen, not waited out
        assert junit_case(suite, name).find("failure") is not None
        assert not (run.run_dir / name / "client.log").exists()  # no client ran against a dead service
    assert "alexnet: 0 passed, 2 failed" in run.result.stdout  # the summary table was printed
    assert_no_service_left(run)


# ---------------------------------------------------------------- the service dies while the client runs

@pytest.mark.slow
def test_service_killed_while_the_client_runs_fails_that_case_and_the_run_goes_on(tmp_path, alexnet_model,
                                                                                  background):
    images = image_copies(tmp_path / "many", 100)  # the HTTP client needs some seconds for them
    config = own_config(tmp_path, alexnet_model, images, matrix=two_cpu_cases(OWN_MODEL))
    output = tmp_path / "out"
    process = background([config], output)
    first, second = TWO_CASES
    group = wait_until_case_ready(process, output, first)
    # The client prints its result lines when it has sent every image, so its log cannot tell that
    # it is under way; its process can.
    wait_for_client(process, "pipeline_http_client.py")
    time.sleep(1.0)  # some answers in
    signal_group(group, signal.SIGKILL)  # the whole service: main, op and gateway processes

    run = finished(process, output)
    assert run.result.returncode == 1, run.output[-3000:]
    results, suite = reports(run)
    assert results["state"] == "finished"
    reason = run.case(first)["reason"]
    assert run.case(first)["status"] == "failed"
    assert "service process {} ".format(group) in reason and "while the clients ran" in reason, reason
    assert "HTTP client exit status 1" in reason and "no answer from" in reason, reason
    assert run.case(second)["status"] == "passed", run.case(second)["reason"]  # the run went on
    assert run.case(second)["check"]["images_ok"] == 100
    assert junit_case(suite, first).find("failure") is not None
    assert len(run.started_groups()) == 2
    assert_no_service_left(run)


# ---------------------------------------------------------------- the client fails

def test_image_corrupted_after_the_reference_fails_the_case_with_the_clients_reason(tmp_path, alexnet_model,
                                                                                     background):
    # The client fails on one image while the others are answered: a test image that is corrupted on
    # disk after the reference read it (a file being rewritten, a flaky network share). The service
    # refuses it with err_no 4004, the client exits 1, and the case must say so.
    images = image_copies(tmp_path / "images", 4)
    victim = images / "zz_last.jpg"
    shutil.copy(IMAGES / "coffee.jpg", victim)
    config = own_config(tmp_path, alexnet_model, images)
    output = tmp_path / "out"
    process = background([config], output)
    run_dir = output / OWN_MODEL / "serving_python" / "latest"

    def reference_done():
        try:
            return any(s["name"] == "reference" for s in HarnessRun(None, output, OWN_MODEL).results["steps"])
        except (OSError, ValueError):
            return process.poll() is not None

    wait_for(reference_done, 120, interval=0.05)
    assert (run_dir / ONE_CASE / "client.log").exists() is False, "too late: the client already started"
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes((IMAGES / "coffee.jpg").read_bytes()[:5000])
    os.replace(str(truncated), str(victim))

    run = finished(process, output)
    assert run.result.returncode == 1, run.output[-3000:]
    results, suite = reports(run)
    assert step(results, "reference")["status"] == "passed"
    case = run.case(ONE_CASE)
    assert case["status"] == "failed"
    assert case["reason"].startswith("HTTP client exit status 1: pipeline_http_client.py: error: zz_last.jpg: "
                                     "err_no 4004: image of key 'image': cannot decode"), case["reason"]
    assert "gRPC client exit status 1" in case["reason"] and "HTTP answers: FAIL 4/5" in case["reason"]
    assert junit_case(suite, ONE_CASE).find("failure") is not None
    assert_no_service_left(run)


def test_corrupt_image_among_good_ones_stops_the_run_at_the_reference_naming_it(tmp_path, alexnet_model):
    # A test image the reference cannot read is a fault of the test data: the run stops before any
    # service starts, and the reason names the image (the reference still records the others).
    images = image_copies(tmp_path / "images", 4)
    (images / "zz_broken.jpg").write_bytes((IMAGES / "coffee.jpg").read_bytes()[:5000])
    run = run_harness([own_config(tmp_path, alexnet_model, images)], tmp_path / "out", model_name=OWN_MODEL)
    assert run.result.returncode == 1
    results, _ = reports(run)
    reference = step(results, "reference")
    assert reference["status"] == "failed"
    assert "zz_broken.jpg" in reference["reason"] and "image file is truncated" in reference["reason"], reference
    assert run.case(ONE_CASE)["status"] == "not_run"
    assert run.started_groups() == []


# ---------------------------------------------------------------- signals to the harness

@pytest.mark.parametrize("sig, whole_group, status", [
    (signal.SIGINT, False, 130),
    (signal.SIGTERM, False, 143),
    pytest.param(signal.SIGINT, True, 130, marks=pytest.mark.slow),
], ids=["SIGINT", "SIGTERM", "SIGINT_to_the_group_like_ctrl_c"])
def test_signal_to_the_harness_while_a_service_is_up(tmp_path, alexnet_model, background, sig, whole_group,
                                                      status):
    images = image_copies(tmp_path / "many", 60)
    output = tmp_path / "out"
    process = background([own_config(tmp_path, alexnet_model, images)], output)
    group = wait_until_case_ready(process, output)
    assert group_members(group), "the service should be up"
    if whole_group:
        signal_group(process.pid, sig)  # as Ctrl-C in a terminal: the harness and every child of its group
    else:
        os.kill(process.pid, sig)

    run = finished(process, output, timeout=120)
    assert run.result.returncode == status, run.output[-3000:]
    name = sig.name
    assert "received {}: stopping every service this run started".format(name) in run.output
    results, suite = reports(run)
    assert results["state"] == "interrupted"
    case = run.case(ONE_CASE)
    assert case["status"] == "not_run"
    assert case["reason"] == "run interrupted by {} before this case finished".format(name)
    error = junit_case(suite, ONE_CASE).find("error")
    assert error is not None and name in error.get("message")
    assert run.started_groups() == [group]
    assert_no_service_left(run)


# ---------------------------------------------------------------- the readiness deadline

HUNG_SERVICE = '''\
"""A service that hangs at start: it never answers, ignores SIGINT and SIGTERM, and has a child that does the same."""
import signal
import subprocess
import sys
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("hung web_service.py: started, will never answer", flush=True)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                          "signal.signal(signal.SIGINT, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                          "time.sleep(3600)"])
print("hung web_service.py: child pid", child.pid, flush=True)
time.sleep(3600)
'''


@pytest.fixture
def hung_serving_dir(tmp_path):
    """A serving_dir whose web_service.py hangs; the real config.yml and clients, so the plan accepts it."""
    return serving_dir_with(tmp_path / "hung_serving", {"web_service.py": HUNG_SERVICE})


def test_service_that_never_answers_fails_at_the_deadline_and_is_stopped(tmp_path, alexnet_model,
                                                                         hung_serving_dir):
    config = config_for(tmp_path, alexnet_model)
    config.write_text(config.read_text().replace("serving_dir:{}".format(SERVING_DIR),
                                                 "serving_dir:{}".format(hung_serving_dir)))
    http_port, rpc_port = free_ports(2)
    started = time.monotonic()
    run = run_harness([config], tmp_path / "out", ports=(http_port, rpc_port),
                      extra=["--ready-timeout", "3", "--stop-grace", "1"])
    assert run.result.returncode == 1, run.output[-3000:]
    results, suite = reports(run)
    case = run.case(ONE_CASE)
    server_log = run.run_dir.resolve() / ONE_CASE / "server.log"
    assert case["status"] == "failed"
    assert case["reason"] == ("service not ready: service did not answer on http://127.0.0.1:{}/alexnet/prediction "
                              "within 3 s (see {})".format(http_port, server_log)), case["reason"]
    child = int(re.search(r"child pid (\d+)", server_log.read_text()).group(1))  # the hung service really ran
    [group] = run.started_groups()
    assert not is_alive(child)
    stop_log = (run.run_dir / ONE_CASE / "stop.log").read_text()
    assert "service group {} stopped after SIGTERM then SIGKILL".format(group) in stop_log  # SIGTERM was ignored
    assert junit_case(suite, ONE_CASE).find("failure") is not None
    assert_no_service_left(run)
    assert time.monotonic() - started < 60


# ---------------------------------------------------------------- ports held by someone else

@pytest.fixture
def foreign_http_server():
    """start(port) -> a `python -m http.server` on 127.0.0.1:port, started here (stopped afterwards)."""
    servers = []

    def start(port):
        server = subprocess.Popen([PYTHON, "-m", "http.server", str(port), "--bind", LOOPBACK],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        servers.append(server)
        wait_for(lambda: port_in_use(port), 30)
        return server

    yield start
    for server in servers:
        server.terminate()
        server.wait(timeout=30)


def assert_port_refused_naming(run, port, pid):
    assert run.result.returncode == 1, run.output[-3000:]
    results, suite = reports(run)
    case = run.case(ONE_CASE)
    assert case["status"] == "failed"
    assert "port {} is in use by pid {} (".format(port, pid) in case["reason"], case["reason"]
    assert case["reason"].endswith("(not touched; free it or pass --http-port/--rpc-port)"), case["reason"]
    assert junit_case(suite, ONE_CASE).find("failure") is not None
    assert not (run.run_dir / ONE_CASE / "server.log").exists()  # no service was started at all
    assert run.started_groups() == []
    return case["reason"]


def test_foreign_listener_on_the_http_port_fails_the_case_and_is_not_touched(tmp_path, alexnet_model,
                                                                             foreign_http_server):
    http_port, rpc_port = free_ports(2)
    server = foreign_http_server(http_port)
    run = run_harness([config_for(tmp_path, alexnet_model)], tmp_path / "out", ports=(http_port, rpc_port),
                      extra=["--netns", "off"])
    reason = assert_port_refused_naming(run, http_port, server.pid)
    assert "http.server" in reason  # the owner's command line, so a person knows what to stop
    assert server.poll() is None
    with socket.create_connection((LOOPBACK, http_port), timeout=5) as conn:  # still serving
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert conn.recv(64).startswith(b"HTTP/1.0 200")


def test_foreign_listener_on_the_rpc_port_fails_the_case_and_is_not_touched(tmp_path, alexnet_model):
    http_port, rpc_port = free_ports(2)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, rpc_port))
        listener.listen(8)
        run = run_harness([config_for(tmp_path, alexnet_model)], tmp_path / "out", ports=(http_port, rpc_port),
                          extra=["--netns", "off"])
        reason = assert_port_refused_naming(run, rpc_port, os.getpid())
        assert "port {}".format(http_port) not in reason  # only the busy port is named
        with socket.create_connection((LOOPBACK, rpc_port), timeout=5):  # still listening
            accepted, _ = listener.accept()
            accepted.close()


@pytest.mark.slow
def test_service_left_from_an_earlier_run_is_detected_and_never_used(tmp_path, alexnet_model,
                                                                     alexnet_serving_server):
    with running_service(alexnet_serving_server, tmp_path / "earlier_run") as leftover:
        group = leftover.process.pid
        run = run_harness([config_for(tmp_path, alexnet_model)], tmp_path / "out",
                          ports=(leftover.http_port, leftover.rpc_port), extra=["--netns", "off"])
        assert run.result.returncode == 1, run.output[-3000:]
        reason = run.case(ONE_CASE)["reason"]
        named = {int(port): int(pid) for port, pid in re.findall(r"port (\d+) is in use by pid (\d+)", reason)}
        assert set(named) == {leftover.http_port, leftover.rpc_port}, reason
        for pid in named.values():
            assert os.getpgid(pid) == group, "{} names a process outside the leftover service".format(reason)
        assert_port_refused_naming(run, leftover.http_port, named[leftover.http_port])
        assert not (run.run_dir / ONE_CASE / "client.log").exists()  # its answers were never taken as ours
        assert group_members(group) and leftover.classify(
            [("image", (IMAGES / "coffee.jpg").read_bytes())])["err_no"] == 0  # untouched, still answering


# ---------------------------------------------------------------- malformed configs (nothing starts)

def _replace_line(text, prefix, new_line):
    lines = text.split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    if new_line is None:
        del lines[index]
    else:
        lines[index] = new_line
    return "\n".join(lines), index + 1


def _append(text, line):
    lines = text.rstrip("\n").split("\n")
    return "\n".join(lines + [line]) + "\n", len(lines) + 1


# name -> mutate(config_path, tmp_path) -> (path given to the harness, line or None, key or None, words)
def _missing_file(path, tmp):
    return tmp / "no_such_config.txt", None, None, ["config file not found"]


def _directory(path, tmp):
    return tmp, None, None, ["is a directory, not a config file"]


def _empty(path, tmp):
    path.write_text("")
    return path, None, None, ["config file is empty"]


def _no_header(path, tmp):
    path.write_text(path.read_text().split("\n", 1)[1])
    return path, 1, None, ["expected a header such as '=====serving_params====='", "found 'model_name:alexnet'"]


def _required_key_missing(path, tmp):
    text, _ = _replace_line(path.read_text(), "serving_dir:", None)
    path.write_text(text)
    return path, None, "serving_dir", ["required key is missing"]


def _required_key_empty(path, tmp):
    text, line = _replace_line(path.read_text(), "model_name:", "model_name:")
    path.write_text(text)
    return path, line, "model_name", ["required key has no value (empty)"]


def _unknown_key(path, tmp):
    text, line = _append(path.read_text(), "thread_num:2")
    path.write_text(text)
    return path, line, "thread_num", ["unknown key", "known keys: model_name, python, trans_model, --dirname"]


def _duplicate_key(path, tmp):
    text, line = _append(path.read_text(), "model_name:resnet18")
    path.write_text(text)
    return path, line, "model_name", ["duplicate key: already set on line 2"]


def _no_colon(path, tmp):
    text, line = _append(path.read_text(), "this line has no separator")
    path.write_text(text)
    return path, line, None, ["expected key:value, found no ':' in 'this line has no separator'"]


def _not_utf8(path, tmp):
    text, line = _replace_line(path.read_text(), "model_name:", "model_name:alexnet")
    path.write_bytes(text.replace("model_name:alexnet", "model_name:alex\xe9net").encode("latin-1"))
    return path, line, None, ["not UTF-8 text (byte 0xe9)"]


def _bad_matrix_value(path, tmp):
    key = "--opt op.alexnet.local_service_conf.use_mkldnn"
    text, line = _append(path.read_text(), key + ":False|maybe")
    path.write_text(text)
    return path, line, key, ["expected True or False, got 'maybe'"]


def _repeated_matrix_value(path, tmp):
    key = "--opt op.alexnet.local_service_conf.thread_num"
    text, line = _replace_line(path.read_text(), key, key + ":2|2")
    path.write_text(text)
    return path, line, key, ["repeated setting (2)"]


def _value_list_on_a_single_key(path, tmp):
    text, line = _replace_line(path.read_text(), "python:", "python:python3.9|python3.8")
    path.write_text(text)
    return path, line, "python", ["takes one value"]


def _bad_ready_timeout(path, tmp):
    text, line = _append(path.read_text(), "ready_timeout:-5")
    path.write_text(text)
    return path, line, "ready_timeout", ["expected a number > 0, got '-5'"]


def _missing_image_path(path, tmp):
    text, line = _replace_line(path.read_text(), "--image_dir:", "--image_dir:{}".format(tmp / "no_images_here"))
    path.write_text(text)
    return path, line, "--image_dir", ["image path not found: {}".format(tmp / "no_images_here")]


def _missing_serving_dir(path, tmp):
    text, line = _replace_line(path.read_text(), "serving_dir:", "serving_dir:{}".format(tmp / "no_serving"))
    path.write_text(text)
    return path, line, "serving_dir", ["serving_dir not found: {}".format(tmp / "no_serving")]


def _missing_client_script(path, tmp):
    text, line = _replace_line(path.read_text(), "pipline:", "pipline:no_such_client.py")
    path.write_text(text)
    return path, line, "pipline", ["client script not found"]


def _missing_model_not_exportable(path, tmp):
    # No model in --dirname and a model_name tools/export_model.py cannot build: refused at config
    # time (exit 2), before any export, conversion or service.
    empty = tmp / "empty_model_dir"
    empty.mkdir()
    write_config(path, empty, tmp / "converted", model_name="no_such_net")
    line = path.read_text().split("\n").index("--dirname:{}".format(empty)) + 1
    return path, line, "--dirname", ["no inference model in {}".format(empty),
                                     "'no_such_net' is not a model tools/export_model.py can build (known: alexnet"]


MALFORMED = {fn.__name__.lstrip("_"): fn for fn in (
    _missing_file, _directory, _empty, _no_header, _required_key_missing, _required_key_empty, _unknown_key,
    _duplicate_key, _no_colon, _not_utf8, _bad_matrix_value, _repeated_matrix_value, _value_list_on_a_single_key,
    _bad_ready_timeout, _missing_image_path, _missing_serving_dir, _missing_client_script,
    _missing_model_not_exportable)}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_config_is_one_line_exit_2_and_starts_nothing(tmp_path, alexnet_model, kind):
    config = config_for(tmp_path, alexnet_model)
    given, line, key, words = MALFORMED[kind](config, tmp_path)
    work = tmp_path / "tmpdir"
    work.mkdir()
    run = run_harness([given], tmp_path / "out", env={"TMPDIR": work}, timeout=120)
    assert run.result.returncode == 2, run.output[-3000:]
    errors = [text for text in run.result.stderr.splitlines() if text.strip()]
    assert len(errors) == 1, run.result.stderr
    where = "plan: error: {}{}:".format(given, "" if line is None else ":{}".format(line))
    where += "" if key is None else " key '{}':".format(key)
    assert errors[0].startswith(where + " "), (where, errors[0])
    for word in words:
        assert word in errors[0], errors[0]
    assert "Traceback" not in run.output
    assert not (tmp_path / "out").exists()  # no run dir, so no report and no .started_groups
    assert list(work.iterdir()) == []  # the harness's own work dir was removed


def test_config_with_crlf_line_endings_runs(tmp_path, alexnet_model):
    config = config_for(tmp_path, alexnet_model)
    config.write_bytes(config.read_text().replace("\n", "\r\n").encode())
    run = run_harness([config], tmp_path / "out")
    assert run.result.returncode == 0, run.output[-3000:]
    assert run.case(ONE_CASE)["status"] == "passed"
    assert "\\r" not in (run.run_dir / "plan.json").read_text()  # no '\r' ended up in a path or value
    assert_no_service_left(run)


# ---------------------------------------------------------------- logs

@pytest.mark.slow
def test_two_runs_in_a_row_keep_both_runs_logs(tmp_path, alexnet_model):
    config = config_for(tmp_path, alexnet_model)
    output = tmp_path / "out"
    first = run_harness([config], output)
    first_dir, first_results = first.run_dir.resolve(), first.results
    second = run_harness([config], output)
    assert (first.result.returncode, second.result.returncode) == (0, 0), second.output[-3000:]
    run_dirs = second.run_dirs
    assert len(run_dirs) == 2 and run_dirs[0] == first_dir
    assert second.run_dir.is_symlink() and second.run_dir.resolve() == run_dirs[1] != first_dir
    for run_dir in run_dirs:
        for log in ("results.json", "junit.xml", "convert.log", "reference.log",
                    ONE_CASE + "/server.log", ONE_CASE + "/client.log", ONE_CASE + "/check.log"):
            assert (run_dir / log).stat().st_size > 0, run_dir / log
        assert (run_dir / ONE_CASE / "PipelineServingLogs").is_dir()
    assert first_results["run_id"] == first_dir.name != second.results["run_id"] == run_dirs[1].name
    assert json.loads((first_dir / "results.json").read_text()) == first_results  # not touched by the second run


@pytest.mark.slow
def test_harness_killed_with_sigkill_leaves_readable_reports(tmp_path, alexnet_model, background):
    images = image_copies(tmp_path / "many", 60)
    output = tmp_path / "out"
    process = background([own_config(tmp_path, alexnet_model, images, matrix=two_cpu_cases(OWN_MODEL))], output)
    first, second = TWO_CASES
    wait_until_case_ready(process, output, second)
    os.kill(process.pid, signal.SIGKILL)  # no trap runs: nothing is stopped, nothing is closed
    # What the harness had started outlives it: the client (in the harness's process group) and the
    # second case's service (in a session of its own). The client goes first, with the group.
    kill_harness_group(process)
    run = HarnessRun(subprocess.CompletedProcess(process.args, process.returncode, "", ""), output, OWN_MODEL)
    assert process.returncode == -signal.SIGKILL

    # What remains is readable and says how far the run got.
    results, suite = reports(run)
    assert results["state"] == "running" and results["finished"] is None
    assert run.case(first)["status"] == "passed"
    assert run.case(second)["status"] == "running"
    assert junit_case(suite, first).find("failure") is None and junit_case(suite, first).find("error") is None
    assert junit_case(suite, second).find("error").get("type") == "running"
    assert suite.get("errors") == "1"
    # The service of the second case may still run: stop it by the group the harness recorded.
    groups = run.started_groups()
    assert len(groups) == 2
    stop_recorded_services(output)
    assert_no_service_left(run)
    reports(run)  # still readable after the clean-up


# ---------------------------------------------------------------- the network namespace

def fake_unshare(tmp_path):
    """A PATH prefix with an `unshare` that always fails, as on a machine without user namespaces."""
    folder = tmp_path / "fakebin"
    folder.mkdir()
    fake = folder / "unshare"
    fake.write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n")
    fake.chmod(0o755)
    return {"PATH": "{}:{}".format(folder, os.environ.get("PATH", ""))}


def test_service_in_the_private_namespace_is_unreachable_from_the_host(tmp_path, alexnet_model, background):
    images = image_copies(tmp_path / "many", 60)
    http_port, rpc_port = free_ports(2)
    output = tmp_path / "out"
    process = background([own_config(tmp_path, alexnet_model, images)], output, ports=(http_port, rpc_port))
    group = wait_until_case_ready(process, output)
    assert group_members(group)
    assert refused(http_port) and refused(rpc_port)
    assert not port_in_use(http_port) and not port_in_use(rpc_port)
    assert group_members(group), "the service must still have been up while we knocked"

    run = finished(process, output)
    assert run.result.returncode == 0, run.output[-3000:]
    network = step(run.results, "network")
    assert network["status"] == "passed" and "private network namespace" in network["reason"], network
    assert_no_service_left(run)


def test_netns_off_runs_on_the_host_network_and_says_so(tmp_path, alexnet_model, background):
    images = image_copies(tmp_path / "many", 60)
    http_port, rpc_port = free_ports(2)
    output = tmp_path / "out"
    process = background([own_config(tmp_path, alexnet_model, images)], output, ports=(http_port, rpc_port),
                         extra=["--netns", "off"])
    wait_until_case_ready(process, output)
    assert not refused(http_port)  # on the host network the gateway is reachable from here

    run = finished(process, output)
    assert run.result.returncode == 0, run.output[-3000:]
    network = step(run.results, "network")
    assert network["status"] == "skipped", network
    assert "listens on every interface" in network["reason"] and "--netns off" in network["reason"], network
    assert_no_service_left(run)


def test_netns_on_without_unshare_is_exit_2_in_one_line(tmp_path, alexnet_model):
    config = config_for(tmp_path, alexnet_model)
    run = run_harness([config], tmp_path / "out", extra=["--netns", "on"], env=fake_unshare(tmp_path), timeout=120)
    assert run.result.returncode == 2, run.output[-3000:]
    errors = [line for line in run.result.stderr.splitlines() if line.strip()]
    assert errors == ["test_serving.sh: error: --netns on, but no network namespace can be made here "
                      "(unshare --net and unshare --map-root-user --net both failed)"], run.result.stderr
    assert not (tmp_path / "out").exists()


def test_netns_auto_without_unshare_falls_back_to_the_host_network_and_says_so(tmp_path, alexnet_model):
    config = config_for(tmp_path, alexnet_model, matrix=gpu_only())
    run = run_harness([config], tmp_path / "out", env=fake_unshare(tmp_path))
    assert run.result.returncode == 1 and NOTHING_RAN in run.result.stdout, run.output[-3000:]  # a GPU-only config
    network = step(run.results, "network")
    assert network["status"] == "skipped"
    assert network["reason"].startswith("host network: no network namespace can be made here (unshare failed)")
    assert "network: host network: no network namespace" in run.result.stdout


def test_every_config_of_a_run_reports_the_private_network(tmp_path, alexnet_model):
    # Regression: run_config once reset NETWORK_STATUS and NETWORK_NOTE after the first config, so the
    # second config's report said "skipped" with no reason.
    first = config_for(tmp_path, alexnet_model, name="first.txt", matrix=gpu_only())
    second = write_config(tmp_path / "second.txt", alexnet_model, tmp_path / "converted_copy",
                          model_name="alexnet_copy", matrix=gpu_only("alexnet_copy"))
    output = tmp_path / "out"
    run = run_harness([first, second], output)
    # Each config's table says so, and again the table across both that the run ends with.
    assert run.result.returncode == 1 and run.result.stdout.count(NOTHING_RAN) == 4, run.output[-3000:]
    assert "all (2 runs): 0 passed, 0 failed, 2 skipped, 0 not run; no case ran" in run.result.stdout
    for model_name in ("alexnet", "alexnet_copy"):
        network = step(HarnessRun(run.result, output, model_name).results, "network")
        assert network["status"] == "passed" and "private network namespace" in network["reason"], \
            (model_name, network)


def test_config_with_more_images_than_the_golden_file_is_not_failed_by_it(tmp_path, alexnet_model):
    images = tmp_path / "images"
    shutil.copytree(str(IMAGES), str(images))
    shutil.copy(str(IMAGES / "coffee.jpg"), str(images / "coffee_again.jpg"))
    (images / "rocket.jpg").write_bytes((IMAGES / "chelsea.jpg").read_bytes())  # same name, other bytes
    run = run_harness([config_for(tmp_path, alexnet_model, images=images)], tmp_path / "out")
    golden = step(run.results, "golden")
    assert golden["status"] == "passed", golden
    golden_log = (run.run_dir / "golden.log").read_text()
    assert "PASS 3/3 images" in golden_log and "coffee_again.jpg" in golden_log, golden_log
    assert "other bytes than the golden file's, not compared: rocket.jpg" in golden_log, golden_log
    assert run.result.returncode == 0 and run.case(ONE_CASE)["status"] == "passed", run.output[-3000:]
