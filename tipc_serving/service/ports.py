"""Ports: a port is free when nothing listens on it on any interface; if not, name the holder."""
import errno
import os
import socket

import psutil

LOOPBACK = "127.0.0.1"


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


def listener_in_group(port, pgid):
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


def busy_ports(ports):
    """One line per busy port naming its holder (empty when every port is free)."""
    return [holder for holder in map(port_holder, ports) if holder]


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
