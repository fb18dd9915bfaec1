"""One config's run, as every step of the chain sees it: its plan, its run folder, its report, its logs.

A run folder holds plan.json (the whole plan), results.json and junit.xml (report/), the TIPC status
log and one folder per case. Every command of the chain takes the run folder and nothing else.
"""
import os
import sys
import time
from pathlib import Path

from ..jsonfile import read_json
from ..report.entries import ReportError
from ..report.status_log import StatusLog
from ..report.store import Report

PLAN_FILE = "plan.json"
STATUS_LOG = "results_serving_python.log"
STARTED_GROUPS = ".started_groups"  # one service process group per line, as each starts (service/record.py)
REFERENCE_JSON = "reference.json"  # the Paddle Inference reference (the reference step writes it)
# Seconds a case may take from its service's start to its stop, clients included (--case-timeout): enough
# for the slowest real model here (start <= 60 s, two clients, a 10 s stop grace), short enough that a hang
# costs nightly CI minutes, not hours.
DEFAULT_CASE_TIMEOUT = 300.0


def harness_start():
    """When the harness started (test_serving.sh exports it), so every progress line counts from there."""
    try:
        return float(os.environ.get("TIPC_HARNESS_START", ""))
    except ValueError:
        return time.time()


HARNESS_START = harness_start()


def progress(text):
    """A progress line on stdout, in the harness's format: `[tipc   12.3s] text`."""
    print("[tipc {:>7}s] {}".format("{:.1f}".format(time.time() - HARNESS_START), text), flush=True)


def command_text(argv):
    """The one-line form of a command, as a person would type it (TIPC's status lines show it so)."""
    return " ".join(str(a) for a in argv)


class RunContext:
    """The plan entry of the config whose run folder is run_dir, with its report and status log."""

    def __init__(self, run_dir, plan=None):
        self.run_dir = Path(run_dir).resolve()
        self.plan = plan if plan is not None else read_json(self.run_dir / PLAN_FILE, "plan", error=ReportError,
                                                            want=dict)
        matches = [c for c in self.plan.get("configs", []) if Path(c.get("run_dir", "")) == self.run_dir]
        if not matches:
            raise ReportError("{}: no config of the plan runs in this folder".format(self.run_dir))
        self.config = matches[0]
        self.model_name = self.config["model_name"]
        self.status_log = StatusLog(self.run_dir / STATUS_LOG, self.model_name)
        self._report = None
        self._reference = None

    @property
    def report(self):
        if self._report is None:
            self._report = Report.load(self.run_dir)
        return self._report

    @property
    def started_groups_path(self):
        return self.run_dir / STARTED_GROUPS

    @property
    def stop_grace(self):
        """Seconds between SIGTERM and SIGKILL to a service's group (the plan always says)."""
        return self.plan["stop_grace"]

    @property
    def case_timeout(self):
        """The deadline of each case, in seconds, as the report states it (open records --case-timeout)."""
        return float(self.report.data.get("case_timeout_s") or DEFAULT_CASE_TIMEOUT)

    @property
    def reference_json(self):
        return self.run_dir / REFERENCE_JSON

    def reference(self):
        """The reference's answers, read once for every case and client (verdict.inputs.InputError when
        it cannot be read: not kept, so each client that needs it gets the error)."""
        if self._reference is None:
            from ..verdict.inputs import load_reference

            self._reference = load_reference(self.reference_json)
        return self._reference

    def progress(self, text):
        progress("{}: {}".format(self.model_name, text))

    def status_line(self, ok, argv, log):
        """TIPC's status line for a command that ran (or, for a check done in-process, the command
        that reproduces it), in the status log and on stdout."""
        print(self.status_log.write(ok, command_text(argv), log), flush=True)

    def python(self):
        """The interpreter for the config's own scripts (its `python` when usable, else the project's)."""
        return self.config["python"] or sys.executable
