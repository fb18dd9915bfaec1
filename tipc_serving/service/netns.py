"""The private network namespace the harness runs in: only loopback, unreachable from outside."""
import fcntl
import socket
import struct

import psutil

from ..errors import cli


def bring_loopback_up():
    """Set `lo` up in this (new, empty) network namespace, as `ip link set lo up` does."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))


def interfaces():
    """Names of the network interfaces that are up here."""
    return sorted(name for name, stats in psutil.net_if_stats().items() if stats.isup)


def loopback_only_problem():
    """Bring loopback up; why this is not a private namespace with only loopback, or None."""
    try:
        bring_loopback_up()
    except OSError as err:
        return "cannot bring loopback up: {}".format(err)
    others = [name for name in interfaces() if name != "lo"]
    if others:
        return "not a private network namespace: interfaces {} are up".format(", ".join(others))
    return None


@cli("loopback-up")
def main(argv=None):
    """`loopback-up`: exit 0 in a private namespace with loopback up; else say why, exit 1."""
    problem = loopback_only_problem()
    if problem:
        print(problem)
        return 1
    return 0
