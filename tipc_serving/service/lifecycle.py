"""One service's life: started in a session of its own, ready, still whole, stopped by its process group.

- start: argv runs with start_new_session, so its main process leads a new process group that holds
  everything it starts (op processes, the HTTP gateway), and nothing of ours.
- ready: its gateway answers with a pipeline reply from a listener of its own group (readiness.py).
- stop: by group (process.py), once, with SIGINT and SIGTERM held so that no signal cuts it short.

`with Service(...) as service: service.wait_ready(...)` is the one start/ready/stop sequence, used by
the case runner and the tests' fixtures alike; it stops the group on any exception or signal.
"""
import subprocess

from ..errors import deferred_signals
from .process import DEFAULT_STOP_GRACE, health_problem, stop_group, whole_problem
from .readiness import POLL_INTERVAL, wait_ready


class Service:
    """argv started in a new session (its own process group), stdout and stderr to log_path.

    Used as a context manager, the group is stopped when the block ends, however it ends; the stop's
    outcome is kept in `stop_report`, and the main process is reaped (`returncode`)."""

    def __init__(self, argv, log_path, cwd=None, env=None, stop_grace=DEFAULT_STOP_GRACE):
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.stop_grace = stop_grace
        self.stop_report = None
        with open(str(log_path), "ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=None if cwd is None else str(cwd), env=env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)

    @property
    def pid(self):
        """The main process, which is also the process group id."""
        return self.process.pid

    def wait_ready(self, url, http_port, timeout, interval=None):
        """Seconds until the service answered (service/readiness.py), or NotReady saying why."""
        return wait_ready(self.pid, url, http_port, timeout, self.log_path, interval or POLL_INTERVAL)

    def problem(self, zombies_seen=None):
        """Why the service is not whole right now, or None (see health_problem)."""
        return health_problem(self.pid, zombies_seen)

    def whole_problem(self):
        return whole_problem(self.pid)

    def exit_status(self):
        """The main process's exit status once it ended (reaping it), else None."""
        return self.process.poll()

    def stop(self):
        """Stop the group once; later calls return the first outcome."""
        if self.stop_report is None:
            with deferred_signals():
                self.stop_report = stop_group(self.pid, self.stop_grace)
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        return self.stop_report

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
