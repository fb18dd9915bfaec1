"""One service's life: started in a session of its own, ready, still whole, stopped by its process group.

- start: argv runs with start_new_session, so its main process leads a new process group that holds
  everything it starts (op processes, the HTTP gateway), and nothing of ours. Its pid and start time
  go into the machine's registry (record.py) until it is stopped.
- ready: its gateway and gRPC server listen from its own group and its ops initialised (readiness.py).
- stop: by group (process.py), once, with SIGINT and SIGTERM held so that no signal cuts it short.

`with Service(...) as service: service.wait_ready(...)` is the one start/ready/stop sequence, used by
the case runner and the tests' fixtures alike; it stops the group on any exception or signal.
"""
import os
import signal
import subprocess
import time

from ..errors import deferred_signals
from . import record
from .ports import busy_ports, port_in_use
from .process import DEFAULT_STOP_GRACE, start_time, stop_group, whole_problem
from .readiness import POLL_INTERVAL, wait_ready

PORT_RELEASE_SECONDS = 2.0  # a port of a process just ended may take a moment to be free again


class Service:
    """argv started in a new session (its own process group), stdout and stderr to log_path.

    Used as a context manager, the group is stopped when the block ends, however it ends; the stop's
    outcome is kept in `stop_report`, and the main process is reaped (`returncode`)."""

    def __init__(self, argv, log_path, cwd=None, env=None, stop_grace=DEFAULT_STOP_GRACE):
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.stop_grace = stop_grace
        self.stop_report = None
        # Unbuffered: what each op process prints (its "init success", readiness.py) reaches the log at once.
        env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
        # No signal between the start and the registration: a started service is never unregistered. The
        # service itself must not inherit the held signals, or it would ignore our SIGTERM.
        with deferred_signals() as unheld, open(str(log_path), "ab") as log:
            self.log_offset = log.tell()  # where this start's part of the log begins
            self.process = subprocess.Popen(self.argv, cwd=None if cwd is None else str(cwd), env=env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True,
                                            preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, unheld))
            self.started = start_time(self.pid)
            record.register(self.pid, self.started, self.argv, log_path)

    @property
    def pid(self):
        """The main process, which is also the process group id."""
        return self.process.pid

    def wait_ready(self, url, http_port, timeout, rpc_port=None, pipeline_log_dir=None, process_ops=()):
        """Seconds until the service is ready (service/readiness.py), or NotReady saying why."""
        return wait_ready(self.pid, url, http_port, timeout, self.log_path, POLL_INTERVAL, self.started, rpc_port,
                          pipeline_log_dir, process_ops, self.log_offset)

    def whole_problem(self):
        return whole_problem(self.pid, self.started)

    def exit_status(self):
        """The main process's exit status once it ended (reaping it), else None."""
        return self.process.poll()

    def stop(self):
        """Stop the group once; later calls return the first outcome."""
        if self.stop_report is None:
            with deferred_signals():
                self.stop_report = stop_group(self.pid, self.stop_grace, self.started)
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                if self.stop_report.stopped:
                    record.unregister(self.pid, self.started)
        return self.stop_report

    def stop_problem(self, ports=()):
        """Why the stop is not done, or None: the group would not die, or one of the service's ports is
        still held (by a process that left the group, say)."""
        if not self.stop().stopped:
            return "stop failed: {}".format(self.stop_report.describe())
        deadline = time.monotonic() + PORT_RELEASE_SECONDS
        while any(map(port_in_use, ports)) and time.monotonic() < deadline:  # a bind probe: cheap to repeat
            time.sleep(0.05)
        held = busy_ports(ports)  # who holds them (a scan of every process's sockets), once
        if held:
            return "stop incomplete: after {}, {}".format(self.stop_report.describe(), "; ".join(held))
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # A signal can arrive before stop() holds the next ones (Ctrl-C reaches the harness's trap too,
        # which then sends SIGTERM): the stop is made all the same, and the signal goes on after it.
        interrupted = None
        while self.stop_report is None:
            try:
                self.stop()
            except BaseException as err:
                interrupted = err
        if interrupted is not None:
            raise interrupted
        return False
