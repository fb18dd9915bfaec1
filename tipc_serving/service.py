"""Start, probe and stop a pipeline service: ports, readiness and process-group teardown.

Used by the harness (through `python -m tipc_serving ports|wait-ready|stop`) and by the tests' fixtures,
so both manage services the same way:
- ports: a port is free when nothing listens on it on any interface; if not, name the holder.
- readiness: the service's main process is alive, the HTTP gateway answers with a pipeline reply, the
  listener belongs to the service's own process group (a leftover service on the same port is never
  mistaken for ours), and a deadline holds. A service that dies fails at once.
- stop: SIGINT to the main process (Paddle Serving's clean shutdown), then SIGTERM to the process
  group, then SIGKILL to it, each after a grace period. Only the group we started is signalled.
"""
import errno
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import psutil

LOOPBACK = "127.0.0.1"


# ---------------------------------------------------------------- ports

def port_in_use(port):
    """True when something listens on `port` on some interface (IPv4 or IPv6)."""
    for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            probe = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 here
        try:
            # SO_REUSEADDR: connections in TIME_WAIT from a stopped service do not count as "in use",
            # only a listener does (the pipeline's servers set it too).
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind((address, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return True
            if err.errno != errno.EADDRNOTAVAIL:
                raise
        finally:
            probe.close()
    return False


def listeners(port):
    """psutil processes listening on TCP `port` (empty when not visible, e.g. without privileges)."""
    found = []
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError):
        return found
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                found.append(psutil.Process(conn.pid))
            except psutil.NoSuchProcess:
                pass
    return found


def describe_process(process):
    try:
        cmdline = " ".join(process.cmdline()) or process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        cmdline = "?"
    return "pid {} ({})".format(process.pid, cmdline[:120])


def port_holder(port):
    """A human description of who holds `port`, or None when the port is free."""
    if not port_in_use(port):
        return None
    holders = listeners(port)
    if not holders:
        return "port {} is in use (the owner is not visible to this user)".format(port)
    return "port {} is in use by {}".format(port, ", ".join(describe_process(p) for p in holders))


def free_port():
    """A port that is free right now (for tests and benchmarks that pick their own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def free_ports(count):
    ports = set()
    while len(ports) < count:
        port = free_port()
        if not port_in_use(port):
            ports.add(port)
    return sorted(ports)


# ---------------------------------------------------------------- process group

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


# A child that exits is a zombie until its parent reaps it, normally within milliseconds; one that
# stays a zombie this long belongs to a parent that will not reap it (a crashed op process).
ZOMBIE_GRACE_SECONDS = 1.0


def health_problem(pid, zombies_seen=None):
    """Why the service whose main process (and group leader) is pid is not healthy, or None.
    zombies_seen: {pid: first seen} kept by a caller that polls, so that only lasting zombies count;
    without it, every zombie counts."""
    if not is_alive(pid):
        return "service process {} {}".format(pid, exit_description(pid))
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


def is_alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def wait_group_gone(pgid, seconds):
    deadline = time.monotonic() + seconds
    while True:
        if not group_members(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


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


def stop_group(pgid, grace=10.0):
    """Stop every process of the group `pgid` (which must be a group this code started)."""
    if pgid <= 1 or pgid == os.getpgrp():
        raise ValueError("refusing to signal process group {}".format(pgid))
    if not group_members(pgid):
        return StopReport(pgid, already_gone=True)
    sent = []
    for sig, target_group, wait in ((signal.SIGINT, False, grace), (signal.SIGTERM, True, grace / 2),
                                    (signal.SIGKILL, True, 5.0)):
        if target_group:
            _signal_group(pgid, sig)
        else:
            try:
                os.kill(pgid, sig)  # the group leader is the service's main process
            except ProcessLookupError:
                _signal_group(pgid, sig)
        sent.append(sig.name)
        if wait_group_gone(pgid, wait):
            return StopReport(pgid, signals=tuple(sent))
    return StopReport(pgid, signals=tuple(sent), stopped=False)


# ---------------------------------------------------------------- readiness

class NotReady(Exception):
    """The service did not become ready; the message says why and where to look."""


def probe(url, timeout=2.0):
    """POST an empty request; a pipeline reply (JSON with err_no) proves the whole path answers.
    Returns the parsed reply, or None when nothing (or something else) answered."""
    body = json.dumps({"key": [], "value": [], "logid": 0}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            reply = json.loads(response.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return reply if isinstance(reply, dict) and "err_no" in reply else None


def listener_belongs_to(port, pgid):
    """True/False when the listener of `port` is/is not in process group pgid; None if not visible."""
    holders = listeners(port)
    if not holders:
        return None
    for process in holders:
        try:
            if os.getpgid(process.pid) == pgid:
                return True
        except ProcessLookupError:
            continue
    return False


def exit_description(pid):
    """How a (just) dead process ended, if we can still tell."""
    try:
        _, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return "exited"
    if os.WIFSIGNALED(status):
        return "was killed by {}".format(signal.Signals(os.WTERMSIG(status)).name)
    if os.WIFEXITED(status):
        return "exited with status {}".format(os.WEXITSTATUS(status))
    return "exited"


def wait_ready(pid, url, http_port, timeout=60.0, log_path=None, interval=0.25):
    """Return seconds until ready, or raise NotReady naming the cause and the log to read."""
    start = time.monotonic()
    see_log = " (see {})".format(log_path) if log_path else ""
    foreign_answer = False
    zombies_seen = {}
    while True:
        problem = health_problem(pid, zombies_seen)
        if problem:
            raise NotReady("{} before it was ready{}".format(problem, see_log))
        if probe(url) is not None:
            owner = listener_belongs_to(http_port, pid)
            if owner is not False:
                return time.monotonic() - start
            foreign_answer = True
        elapsed = time.monotonic() - start
        if elapsed >= timeout:
            if foreign_answer:
                raise NotReady("port {} answers, but from a process outside service group {} (a leftover "
                               "service?){}".format(http_port, pid, see_log))
            raise NotReady("service did not answer on {} within {:.0f} s{}".format(url, timeout, see_log))
        time.sleep(interval)


# ---------------------------------------------------------------- start (for Python callers)

def start(argv, log_path, cwd=None, env=None):
    """Start argv in a new session (its own process group), stdout and stderr to log_path."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


# ---------------------------------------------------------------- command line (for the shell harness)

def _parser(prog):
    import argparse

    return argparse.ArgumentParser(prog="python -m tipc_serving " + prog)


def ports_main(argv=None):
    """Exit 0 when every port is free; else one line per busy port naming its holder, exit 1."""
    parser = _parser("ports")
    parser.add_argument("ports", nargs="+", type=int)
    args = parser.parse_args(argv)
    busy = [holder for holder in map(port_holder, args.ports) if holder]
    for line in busy:
        print(line)
    return 1 if busy else 0


def wait_ready_main(argv=None):
    """Exit 0 once ready (printing the seconds it took); 1 with the reason when not."""
    parser = _parser("wait-ready")
    parser.add_argument("--pid", type=int, required=True, help="the service's main process (its group leader)")
    parser.add_argument("--url", required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--log", help="the service's log, named in the failure message")
    args = parser.parse_args(argv)
    try:
        seconds = wait_ready(args.pid, args.url, args.http_port, args.timeout, args.log)
    except NotReady as err:
        print(err)
        return 1
    print("ready after {:.1f} s".format(seconds))
    return 0


def health_main(argv=None):
    """Exit 0 while the service's processes all live; else say which died, exit 1."""
    parser = _parser("health")
    parser.add_argument("--pid", type=int, required=True)
    pid = parser.parse_args(argv).pid
    zombies_seen = {}
    problem = health_problem(pid, zombies_seen)
    if problem is None and zombies_seen:  # a zombie this instant: is it one that lasts?
        time.sleep(ZOMBIE_GRACE_SECONDS)
        problem = health_problem(pid, zombies_seen)
    if problem:
        print(problem)
        return 1
    return 0


def stop_main(argv=None):
    """Stop a process group this harness started; exit 1 if it would not stop."""
    parser = _parser("stop")
    parser.add_argument("--pgid", type=int, required=True)
    parser.add_argument("--grace", type=float, default=10.0, help="seconds after SIGINT, half that after SIGTERM")
    args = parser.parse_args(argv)
    report = stop_group(args.pgid, args.grace)
    print(report.describe())
    return 0 if report.stopped else 1


# ---------------------------------------------------------------- network namespace

def bring_loopback_up():
    """Set `lo` up in this (new, empty) network namespace, as `ip link set lo up` does."""
    import fcntl
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))


def interfaces():
    """Names of the network interfaces that are up here."""
    return sorted(name for name, stats in psutil.net_if_stats().items() if stats.isup)


def loopback_up_main(argv=None):
    """Bring loopback up and check it is the only interface: exit 1 saying why when not."""
    _parser("loopback-up").parse_args(argv)
    try:
        bring_loopback_up()
    except OSError as err:
        print("cannot bring loopback up: {}".format(err))
        return 1
    others = [name for name in interfaces() if name != "lo"]
    if others:
        print("not a private network namespace: interfaces {} are up".format(", ".join(others)))
        return 1
    return 0
