"""Running the chain's commands (converter, reference, clients, benchmark) with their logs, interruptibly and
within a deadline, and the one line of a log that says why something failed.

A command runs in a process group of its own, with stdout and stderr in its log, so that whatever it
started is stopped with it. When the chain is interrupted (SIGTERM from test_serving.sh's trap, which
errors.handle_termination turns into an exception) or the command's time is up, its group is terminated
(then killed) before the chain goes on, so nothing the chain started outlives it.
"""
import os
import re
import signal
import subprocess
import time

from ..errors import deferred_signals
from ..service.process import stop_group
from ..verdict.replies import TAIL_LINES  # how many last lines a reason quotes, for a log as for a client's

TERMINATE_GRACE = 5.0  # seconds between SIGTERM and SIGKILL to a command's group


def loopback_env(**extra):
    """This environment without proxies (loopback must never go through one), plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _stop_group(process):
    """The command's whole group stopped as a service's is (service/process.stop_group: SIGTERM, SIGKILL after
    the grace, until no process of it lives, a child that ignores SIGTERM included); the command is reaped."""
    stop_group(process.pid, TERMINATE_GRACE)
    process.wait()


class TimedOut(Exception):
    """A command did not end within its time: its group was stopped."""

    def __init__(self, seconds):
        super().__init__("gave no answer within {:.0f} s".format(seconds))
        self.seconds = seconds


def run_logged(argv, log_path, cwd, env=None, timeout=None):
    """Run argv in cwd with its output in log_path; (exit status, seconds). Interruptible; with `timeout`
    (seconds), a command still running then is stopped by its group and TimedOut raised."""
    start = time.monotonic()
    with open(str(log_path), "wb") as log:
        with deferred_signals() as unheld:  # started and known before any signal can unwind us
            process = subprocess.Popen([str(a) for a in argv], cwd=str(cwd), env=env or loopback_env(), stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       preexec_fn=lambda: (os.setpgid(0, 0),
                                                           signal.pthread_sigmask(signal.SIG_SETMASK, unheld)))
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with deferred_signals():
                _stop_group(process)
            raise TimedOut(timeout) from None
        except BaseException:
            with deferred_signals():
                _stop_group(process)
            raise
    return returncode, time.monotonic() - start


def first_line_with(log_path, word):
    """The first line of a log that contains word (as `grep -m1 word`), else ''."""
    try:
        with open(str(log_path), encoding="utf-8", errors="replace") as handle:
            return next((line.rstrip("\n") for line in handle if word in line), "")
    except OSError:
        return ""


_OWN_ERROR = re.compile(r"^[A-Za-z0-9_.]+: error: ")
_EXCEPTION = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Interrupt|Exit)[A-Za-z]*(: |$)")
# Paddle's C++ errors: the exception line is a header ("RuntimeError: In user code:"), the message follows
# as "  (InvalidArgument) ... [Hint: ...]" or "InvalidArgumentError: ...".
_PADDLE_MESSAGE = re.compile(r"^\s*\((?:[A-Z][A-Za-z]+)\) \S")
_HEADERS = ("In user code:", "")
_FATAL = re.compile(r"\b(Failed to|FATAL|Fatal|fatal error|is already used|already in use|Segmentation fault|"
                    r"core dumped)\b")


def _lines(log_path):
    try:
        with open(str(log_path), encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in handle]
    except OSError:
        return []


def decisive_line(*log_paths, limit=300):
    """The one line of these logs (read in order) that says why a command failed, else ''. In order: the
    command's own one-line error (`prog: error: ...`); Paddle's own message after an exception header such
    as "RuntimeError: In user code:"; the exception a Python traceback ended with; a line that names a
    fatal failure (Paddle Serving's "Failed to prepare_server: prot 18090 is already used"); else the
    last non-empty lines of the last log that has any, joined with ' | '."""
    every = [_lines(path) for path in log_paths]
    lines = [line for found in every for line in found]
    found = next((l for l in lines if _OWN_ERROR.match(l)), None)
    if found is None:
        paddle = [l for l in lines if _PADDLE_MESSAGE.match(l)]
        exceptions = [l for l in lines if _EXCEPTION.match(l)]
        last = exceptions[-1] if exceptions else None
        if paddle and (last is None or last.split(":", 1)[1].strip() in _HEADERS):
            found = paddle[-1]
        else:
            found = last
    if found is None:
        found = next((l for l in reversed(lines) if _FATAL.search(l)), None)
    if found is None:
        tail = next(([l for l in found if l.strip()][-TAIL_LINES:] for found in reversed(every)
                     if any(l.strip() for l in found)), [])
        found = " | ".join(l.strip() for l in tail)
    found = found.strip()
    return found if len(found) <= limit else found[:limit - 3] + "..."


def failure_reason(returncode, log_path):
    """'exit status N: <decisive line> (see LOG)'."""
    return "exit status {}: {} (see {})".format(returncode, decisive_line(log_path), log_path)
