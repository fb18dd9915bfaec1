"""A service's processes, watched and stopped as the process group its main process leads.

- identity: a process is ours by its pid AND its start time (`started`, recorded when it started), so
  that a pid the system gave to another process since is never signalled.
- whole: the main process lives and no process of the group died unreaped (a crashed op process).
- stop: SIGTERM to the process group, then SIGKILL to it after a grace period. Only a group we
  started is signalled: as a group while its leader is ours, else process by process.
"""
import os
import signal
import subprocess
import time
from dataclasses import dataclass

import psutil

DEFAULT_STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
# A child that exits is a zombie until its parent reaps it, normally within milliseconds; one that
# stays a zombie this long belongs to a parent that will not reap it (a crashed op process).
ZOMBIE_GRACE_SECONDS = 1.0


# ---------------------------------------------------------------- a process group

# psutil's start times come from clock ticks (10 ms); a child starts no earlier than its parent.
START_TIME_SLACK = 0.05


def start_time(pid):
    """When the process pid started (seconds since the epoch), or None when there is no such process."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None


def _same(started, other):
    return other is not None and abs(other - started) <= START_TIME_SLACK


def _group_processes(pgid, started=None):
    """(process, status) for every process of group pgid, zombies included. With `started` (the leader's
    start time), only processes that can be ours: started with or after the leader, and before any
    stranger that now holds the leader's pid."""
    stranger = None
    if started is not None:
        leader = start_time(pgid)
        stranger = leader if leader is not None and not _same(started, leader) else None
    for process in psutil.process_iter(["pid", "status", "create_time"]):
        try:
            if os.getpgid(process.pid) != pgid:
                continue
        except (ProcessLookupError, PermissionError):
            continue
        created = process.info["create_time"]
        if started is not None and (created < started - START_TIME_SLACK
                                    or (stranger is not None and created >= stranger - START_TIME_SLACK)):
            continue
        yield process, process.info["status"]


def group_members(pgid, started=None):
    """Live (non-zombie) processes of group pgid (that can be ours, with `started`)."""
    return [process for process, status in _group_processes(pgid, started) if status != psutil.STATUS_ZOMBIE]


def dead_members(pgid, started=None):
    """Zombie processes of the group: a service process that died and was not reaped (an op process
    that crashed while the pipeline's main process lives on, for example)."""
    return [process.pid for process, status in _group_processes(pgid, started) if status == psutil.STATUS_ZOMBIE]


def is_alive(pid, started=None):
    """Whether pid runs (not a zombie) and, with `started`, is still the process that started then."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and (started is None or _same(started, process.create_time()))
    except psutil.NoSuchProcess:
        return False


def describe_exit_status(returncode):
    """A child's exit status as a shell prints it: "1", or "137 (killed by SIGKILL)"."""
    if returncode is None:
        return "unknown"
    if returncode < 0:
        return "{} (killed by {})".format(128 - returncode, signal.Signals(-returncode).name)
    return str(returncode)


def health_problem(pid, zombies_seen=None, started=None):
    """Why the service whose main process (and group leader) is pid is not whole, or None.
    zombies_seen: {pid: first seen} kept by a caller that polls, so that only lasting zombies count;
    without it, every zombie counts."""
    if not is_alive(pid, started):
        return "service process {} exited".format(pid)  # its status is for its parent to reap and tell
    now = time.monotonic()
    dead = [p for p in dead_members(pid, started) if p != pid]
    if zombies_seen is not None:
        for gone in set(zombies_seen) - set(dead):
            del zombies_seen[gone]
        for zombie in dead:
            zombies_seen.setdefault(zombie, now)
        dead = [p for p in dead if now - zombies_seen[p] >= ZOMBIE_GRACE_SECONDS]
    if dead:
        return "service process {} of group {} died".format(", ".join(map(str, dead)), pid)
    return None


def whole_problem(pid, started=None):
    """health_problem at one moment, where a zombie counts only if it is still one after the grace."""
    zombies_seen = {}
    problem = health_problem(pid, zombies_seen, started)
    if problem is None and zombies_seen:
        time.sleep(ZOMBIE_GRACE_SECONDS)
        problem = health_problem(pid, zombies_seen, started)
    return problem


def wait_group_gone(pgid, seconds, started=None):
    deadline = time.monotonic() + seconds
    while True:
        if not group_members(pgid, started):
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


def _signal_group(pgid, sig, started):
    """The signal to every process of the group that is ours: to the group at once while its leader is the
    process we started (a fork meanwhile is caught too), else to each process that can be ours."""
    try:
        if started is None or is_alive(pgid, started):
            os.killpg(pgid, sig)
            return
    except ProcessLookupError:
        return
    for process in group_members(pgid, started):
        try:
            process.send_signal(sig)
        except psutil.NoSuchProcess:
            continue


def stop_group(pgid, grace=DEFAULT_STOP_GRACE, started=None):
    """Stop every process of the group `pgid` (a group this code started; `started`: its leader's start time)."""
    if pgid <= 1 or pgid == os.getpgrp():
        raise ValueError("refusing to signal process group {}".format(pgid))
    if not group_members(pgid, started):
        return StopReport(pgid, already_gone=True)
    sent = []
    # SIGTERM to the whole group ends every process at once; SIGINT to the main process alone
    # (Paddle Serving's own stop) takes about twice as long, as it shuts its children down in turn.
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        _signal_group(pgid, sig, started)
        sent.append(sig.name)
        if wait_group_gone(pgid, wait, started):
            return StopReport(pgid, signals=tuple(sent))
    return StopReport(pgid, signals=tuple(sent), stopped=False)


def gpu_memory_mb(pgid):
    """GPU memory (MB) held by the group's processes, by nvidia-smi; None where nvidia-smi cannot be run."""
    try:
        output = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    total = 0.0
    for line in output.splitlines():
        try:
            pid, used = (int(float(x)) for x in line.split(","))
            if os.getpgid(pid) == pgid:
                total += used
        except (ValueError, ProcessLookupError):
            continue
    return total
