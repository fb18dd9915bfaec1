"""Running the chain's commands (converter, reference, clients, benchmark) with their logs, interruptibly.

A command runs in the harness's process group (Ctrl-C in a terminal reaches it too) with stdout and
stderr in its log. When the chain is interrupted (SIGINT, or SIGTERM from test_serving.sh's trap, which
errors.handle_termination turns into an exception), the command is terminated before the interruption
goes on, so nothing the chain started outlives it.
"""
import os
import re
import subprocess
import time

from ..errors import deferred_signals


def loopback_env(**extra):
    """This environment without proxies (loopback must never go through one), plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_logged(argv, log_path, cwd, env=None):
    """Run argv in cwd with its output in log_path; (exit status, seconds). Interruptible."""
    start = time.monotonic()
    with open(str(log_path), "wb") as log:
        process = subprocess.Popen([str(a) for a in argv], cwd=str(cwd), env=env or loopback_env(), stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            returncode = process.wait()
        except BaseException:
            with deferred_signals():
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
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
_EXCEPTION = re.compile(r"^[A-Za-z_.]*(Error|Exception)[A-Za-z]*: ")


def failure_reason(returncode, log_path, limit=300):
    """'exit status N: <line> (see LOG)': the step's own one-line error when it printed one, else the
    exception a Python traceback ended with, else its last non-empty line."""
    try:
        lines = [line.rstrip("\n") for line in open(str(log_path), encoding="utf-8", errors="replace")]
    except OSError:
        lines = []
    line = next((l for l in lines if _OWN_ERROR.match(l)), None)
    if line is None:
        line = next((l for l in reversed(lines) if _EXCEPTION.match(l)), None)
    if line is None:
        line = next((l for l in reversed(lines) if l.strip()), "")
    return "exit status {}: {} (see {})".format(returncode, line[:limit], log_path)
