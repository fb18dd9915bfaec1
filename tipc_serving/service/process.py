"""A service's processes, watched and stopped as the process group its main process leads.

- whole: the main process lives and no process of the group died unreaped (a crashed op process).
- stop: SIGTERM to the process group, then SIGKILL to it after a grace period. Only a group we
  started is signalled.
"""
import os
import signal
import time
from dataclasses import dataclass

import psutil

DEFAULT_STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
# A child that exits is a zombie until its parent reaps it, normally within milliseconds; one that
# stays a zombie this long belongs to a parent that will not reap it (a crashed op process).
ZOMBIE_GRACE_SECONDS = 1.0


# ---------------------------------------------------------------- a process group

def _group_processes(pgid):
    """(process, status) for every process whose process group is pgid, zombies included."""
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(process.pid) == pgid:
                yield process, process.info["status"]
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue


def group_members(pgid):
    """Live (non-zombie) processes whose process group is pgid."""
    return [process for process, status in _group_processes(pgid) if status != psutil.STATUS_ZOMBIE]


def dead_members(pgid):
    """Zombie processes of the group: a service process that died and was not reaped (an op process
    that crashed while the pipeline's main process lives on, for example)."""
    return [process.pid for process, status in _group_processes(pgid) if status == psutil.STATUS_ZOMBIE]


def is_alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def describe_exit_status(returncode):
    """A child's exit status as a shell prints it: "1", or "137 (killed by SIGKILL)"."""
    if returncode is None:
        return "unknown"
    if returncode < 0:
        return "{} (killed by {})".format(128 - returncode, signal.Signals(-returncode).name)
    return str(returncode)


def health_problem(pid, zombies_seen=None):
    """Why the service whose main process (and group leader) is pid is not whole, or None.
    zombies_seen: {pid: first seen} kept by a caller that polls, so that only lasting zombies count;
    without it, every zombie counts."""
    if not is_alive(pid):
        return "service process {} exited".format(pid)  # its status is for its parent to reap and tell
    now = time.monotonic()
    dead = [p for p in dead_members(pid) if p != pid]
    if zombies_seen is not None:
        for gone in set(zombies_seen) - set(dead):
            del zombies_seen[gone]
        for zombie in dead:
            zombies_seen.setdefault(zombie, now)
        dead = [p for p in dead if now - zombies_seen[p] >= ZOMBIE_GRACE_SECONDS]
    if dead:
        return "service process {} of group {} died".format(", ".join(map(str, dead)), pid)
    return None


def whole_problem(pid):
    """health_problem at one moment, where a zombie counts only if it is still one after the grace."""
    zombies_seen = {}
    problem = health_problem(pid, zombies_seen)
    if problem is None and zombies_seen:
        time.sleep(ZOMBIE_GRACE_SECONDS)
        problem = health_problem(pid, zombies_seen)
    return problem


def wait_group_gone(pgid, seconds):
    deadline = time.monotonic() + seconds
    while True:
        if not group_members(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


@dataclass
class StopReport:
    pgid: int
    already_gone: bool = False
    signals: tuple = ()
    stopped: bool = True

    def describe(self):
        if self.already_gone:
            return "service group {} had already exited".format(self.pgid)
        steps = " then ".join(self.signals)
        if self.stopped:
            return "service group {} stopped after {}".format(self.pgid, steps)
        return "service group {} did NOT stop after {}".format(self.pgid, steps)


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def stop_group(pgid, grace=DEFAULT_STOP_GRACE):
    """Stop every process of the group `pgid` (which must be a group this code started)."""
    if pgid <= 1 or pgid == os.getpgrp():
        raise ValueError("refusing to signal process group {}".format(pgid))
    if not group_members(pgid):
        return StopReport(pgid, already_gone=True)
    sent = []
    # SIGTERM to the whole group ends every process at once; SIGINT to the main process alone
    # (Paddle Serving's own stop) takes about twice as long, as it shuts its children down in turn.
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        _signal_group(pgid, sig)
        sent.append(sig.name)
        if wait_group_gone(pgid, wait):
            return StopReport(pgid, signals=tuple(sent))
    return StopReport(pgid, signals=tuple(sent), stopped=False)
