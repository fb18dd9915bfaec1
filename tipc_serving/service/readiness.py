"""Readiness: a started service is ready when its main process lives, its HTTP gateway answers with a
pipeline reply, the listener belongs to the service's own process group (a leftover service on the
same port is never mistaken for ours), and a deadline holds. A service that dies fails at once."""
import json
import time
import urllib.error
import urllib.request

from .ports import listener_in_group
from .process import health_problem

DEFAULT_READY_TIMEOUT = 60.0
POLL_INTERVAL = 0.05


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


def wait_ready(pid, url, http_port, timeout=DEFAULT_READY_TIMEOUT, log_path=None, interval=POLL_INTERVAL,
               started=None):
    """Return seconds until ready, or raise NotReady naming the cause and the log to read. The answer counts
    only when the port's listener is positively in the service's group: one whose owner cannot be seen
    is not taken for ours."""
    start = time.monotonic()
    see_log = " (see {})".format(log_path) if log_path else ""
    answered_by = None  # "outside": a process outside the group answered; "unseen": its owner cannot be seen
    zombies_seen = {}
    while True:
        problem = health_problem(pid, zombies_seen, started)
        if problem:
            raise NotReady("{} before it was ready{}".format(problem, see_log))
        if probe(url) is not None:
            owner = listener_in_group(http_port, pid)
            if owner:
                return time.monotonic() - start
            answered_by = "outside" if owner is False else "unseen"
        if time.monotonic() - start >= timeout:
            if answered_by == "outside":
                raise NotReady("port {} answers, but from a process outside service group {} (a leftover "
                               "service?){}".format(http_port, pid, see_log))
            if answered_by == "unseen":
                raise NotReady("port {} answers, but who listens on it cannot be seen, so it is not taken for "
                               "service group {}{}".format(http_port, pid, see_log))
            raise NotReady("service did not answer on {} within {:.0f} s{}".format(url, timeout, see_log))
        time.sleep(interval)
