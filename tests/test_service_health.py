"""tipc_serving/service/process.py's health check: a child that died and stays unreaped is a crash; one its
parent reaps at once (a normal exit during start-up) is not."""
import subprocess
import sys
import time

import pytest

from tipc_serving.service.process import ZOMBIE_GRACE_SECONDS, health_problem, stop_group

PARENT = """
import os, sys, time
child = os.fork()
if child == 0:
    os._exit(0)                      # the child exits at once: a zombie until reaped
time.sleep(float(sys.argv[1]))       # the parent reaps it only after this long
os.waitpid(child, 0)
time.sleep(30)
"""


@pytest.fixture
def parent_with_a_dead_child():
    started = []

    def start(reap_after):
        process = subprocess.Popen([sys.executable, "-c", PARENT, str(reap_after)], start_new_session=True)
        started.append(process)
        time.sleep(0.3)  # the child has exited by now
        return process

    yield start
    for process in started:
        stop_group(process.pid, grace=1)
        process.wait(timeout=10)


def test_a_lasting_zombie_is_a_crash(parent_with_a_dead_child):
    parent = parent_with_a_dead_child(reap_after=30)
    seen = {}
    assert health_problem(parent.pid, seen) is None  # first sighting: maybe transient
    assert seen, "the dead child should have been seen"
    time.sleep(ZOMBIE_GRACE_SECONDS + 0.2)
    problem = health_problem(parent.pid, seen)
    assert problem == "service process {} of group {} died".format(next(iter(seen)), parent.pid)


def test_a_zombie_reaped_soon_is_not_a_crash(parent_with_a_dead_child):
    parent = parent_with_a_dead_child(reap_after=0.6)
    seen = {}
    health_problem(parent.pid, seen)
    time.sleep(ZOMBIE_GRACE_SECONDS + 0.2)
    assert health_problem(parent.pid, seen) is None and seen == {}


def test_a_dead_main_process_is_named_first(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"], start_new_session=True)
    process.wait(timeout=10)
    assert health_problem(process.pid) == "service process {} exited".format(process.pid)
