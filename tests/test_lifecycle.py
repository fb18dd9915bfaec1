"""service/: a service is ours by pid and start time; its stop is whole or says why; what a killed run left is
found by the next one; a listener counts only when it is positively the service's."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import clean_env
from tipc_serving.service import lifecycle, process, readiness, record
from tipc_serving.service.ports import free_ports

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
# a process that ignores SIGTERM, and a child of it that does too
STUBBORN = [sys.executable, "-c", "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, "
            "signal.SIG_IGN); time.sleep(60)']); time.sleep(60)"]


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(record.REGISTRY_ENV, str(tmp_path / "state"))
    return tmp_path / "state"


def test_a_service_stops_with_sigterm_to_its_group_and_leaves_the_registry(tmp_path, state_dir):
    with lifecycle.Service(SLEEPER, tmp_path / "log", env=clean_env()) as service:
        assert process.is_alive(service.pid, service.started)
        assert len(list((state_dir / "services").glob("*.json"))) == 1
    assert service.stop_report.describe() == "service group {} stopped after SIGTERM".format(service.pid)
    assert list((state_dir / "services").glob("*.json")) == []
    assert service.exit_status() == -signal.SIGTERM


def test_a_service_that_ignores_sigterm_is_killed_after_the_grace(tmp_path, state_dir):
    service = lifecycle.Service(STUBBORN, tmp_path / "log", env=clean_env(), stop_grace=0.5)
    time.sleep(0.5)
    assert len(process.group_members(service.pid)) == 2
    assert service.stop().describe() == "service group {} stopped after SIGTERM then SIGKILL".format(service.pid)
    assert service.stop_problem() is None


def test_a_stop_that_cannot_end_the_group_says_so(tmp_path, state_dir, monkeypatch):
    service = lifecycle.Service(SLEEPER, tmp_path / "log", env=clean_env())
    real = process.wait_group_gone
    monkeypatch.setattr(process, "wait_group_gone", lambda *args, **kwargs: False)  # as a process stuck in the kernel
    try:
        assert service.stop_problem() == ("stop failed: service group {} did NOT stop after SIGTERM then "
                                          "SIGKILL".format(service.pid))
        assert len(list((state_dir / "services").glob("*.json"))) == 1, "kept for the next run to retry"
    finally:
        monkeypatch.setattr(process, "wait_group_gone", real)
        process.stop_group(service.pid, 1, service.started)


def test_a_stop_that_leaves_a_port_held_says_who_holds_it(tmp_path, state_dir):
    port = free_ports(1)[0]
    holder = subprocess.Popen([sys.executable, "-c", "import socket, time; s = socket.socket(); "
                               "s.bind(('127.0.0.1', {})); s.listen(1); time.sleep(60)".format(port)],
                              start_new_session=True)
    try:
        time.sleep(0.5)
        with lifecycle.Service(SLEEPER, tmp_path / "log", env=clean_env()) as service:
            pass
        problem = service.stop_problem([port])
        assert problem.startswith("stop incomplete: after service group {} stopped after SIGTERM, port {} is in use "
                                  "by pid {}".format(service.pid, port, holder.pid)), problem
    finally:
        holder.kill()
        holder.wait()


def test_signals_go_only_to_the_process_that_started_then(tmp_path):
    sleeper = subprocess.Popen(SLEEPER, start_new_session=True)
    try:
        started = process.start_time(sleeper.pid)
        assert process.is_alive(sleeper.pid, started)
        other = started - 100  # as if the pid had been given to another process since
        assert not process.is_alive(sleeper.pid, other)
        assert process.stop_group(sleeper.pid, 1, other).already_gone
        assert sleeper.poll() is None, "a process that is not the one recorded was not signalled"
        assert process.stop_group(sleeper.pid, 1, started).stopped
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_next_run_stops_a_service_whose_starter_is_gone(tmp_path, state_dir):
    starter = subprocess.Popen([sys.executable, "-c", """
import sys, time
sys.path.insert(0, {root!r})
from tipc_serving.service.lifecycle import Service
service = Service({argv!r}, {log!r})
print(service.pid, service.started, flush=True)
time.sleep(60)
""".format(root=str(os.getcwd()), argv=SLEEPER, log=str(tmp_path / "log"))], stdout=subprocess.PIPE, text=True,
        env=clean_env(**{record.REGISTRY_ENV: str(state_dir)}))
    pgid, started = starter.stdout.readline().split()
    pgid, started = int(pgid), float(started)
    try:
        assert record.recover(grace=1) == [], "its starter still runs: left alone"
        starter.kill()  # SIGKILL: no trap, no stop
        starter.wait()
        assert process.is_alive(pgid, started)
        stopped = record.recover(grace=1)
        assert len(stopped) == 1 and stopped[0].startswith("service group {} stopped after SIGTERM (left by a run "
                                                           "whose harness, pid {}, is gone".format(pgid, starter.pid))
        assert not process.is_alive(pgid, started) and list((state_dir / "services").glob("*.json")) == []
    finally:
        if process.is_alive(pgid, started):
            os.killpg(pgid, signal.SIGKILL)


def test_a_registry_entry_that_cannot_be_read_is_dropped(state_dir):
    (state_dir / "services").mkdir(parents=True)
    (state_dir / "services" / "1-2.json").write_text("{half")
    (state_dir / "services" / "3-4.json").write_text(json.dumps({"pgid": 999999, "started": 1.0,
                                                                  "starter": {"pid": 1, "started": 1.0}}))
    assert record.recover(grace=1) == [] and list((state_dir / "services").iterdir()) == []


def test_the_run_record_keeps_pid_and_start_time(tmp_path):
    path = tmp_path / ".started_groups"
    record.record_started(path, 12, 1796055714.23)
    record.record_started(path, 12, 1796055714.23)
    record.record_started(path, 13, 1796055715.5)
    assert record.recorded_groups(path) == [(12, 1796055714.23), (13, 1796055715.5)]


def test_an_answer_from_a_listener_that_cannot_be_seen_is_not_taken_for_the_service(tmp_path, monkeypatch):
    monkeypatch.setattr(readiness, "probe", lambda url: {"err_no": 0})
    monkeypatch.setattr(readiness, "listener_in_group", lambda port, pgid: None)
    sleeper = subprocess.Popen(SLEEPER, start_new_session=True)
    try:
        with pytest.raises(readiness.NotReady, match="who listens on it cannot be seen, so it is not taken for "
                                                     "service group {}".format(sleeper.pid)):
            readiness.wait_ready(sleeper.pid, "http://127.0.0.1:1/x/prediction", 1, timeout=0.3)
    finally:
        sleeper.kill()
        sleeper.wait()
