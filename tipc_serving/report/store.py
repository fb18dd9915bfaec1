"""The run report: RUN_DIR/results.json and RUN_DIR/junit.xml, valid and current after every update.

The case runner and the steps (tipc_serving/chain) record each step and case as they go. Every
update rewrites both files through a temporary file and os.replace, so a run killed at any moment
leaves files that parse and say which cases finished, which were running and which never started;
finish(interrupted=True) then turns the unfinished ones into "not_run".

results.json is the source of truth; junit.xml (report/junit.py) is derived from it for CI tools,
and the text table (report/table.py) for people. report/merge.py combines the reports of a sharded
run. Standard library only, so that the report still works when the Paddle environment is broken.
"""
import os
import socket

from ..config.shard import parse_shard
from ..jsonfile import dump_json, write_atomic
from ..verdict.case_status import STEP_STATUSES, UNFINISHED, run_exit_status
from .entries import (CASE_STATUSES, REASON_INTERRUPTED, REASON_NOT_REACHED, RESULTS, SCHEMA, ReportError,
                      check_choice, check_seconds, check_timing_key, compute_totals, load_json, normalize_cases,
                      one_line, utc_now, validate_results)
from .junit import JUNIT, junit_bytes
from .table import run_rows, format_table, totals_line


class Report:
    """One run's report. Every mutating method saves both files before returning."""

    def __init__(self, run_dir, data):
        self.run_dir = str(run_dir)
        self.data = data

    @property
    def results_path(self):
        return os.path.join(self.run_dir, RESULTS)

    @property
    def junit_path(self):
        return os.path.join(self.run_dir, JUNIT)

    @classmethod
    def create(cls, run_dir, model_name, config, run_id, shard=None, cases=(), overwrite=False, dialect=None,
               coverage=None):
        """Start a run's report with every case listed up front, so a kill before a case starts
        still shows it (as pending) instead of silently dropping it. dialect: the config's layout;
        coverage: why its answers are not compared (None when they are)."""
        if not str(model_name).strip() or not str(run_id).strip():
            raise ReportError("model name and run id must not be empty")
        if shard is not None:
            parse_shard(shard, lowest=0)
        report = cls(run_dir, {
            "schema": SCHEMA, "model_name": str(model_name), "config": str(config), "run_id": str(run_id),
            "run_dir": os.path.abspath(str(run_dir)), "shard": None if shard is None else str(shard).strip(),
            "host": socket.gethostname(), "started": utc_now(), "finished": None, "state": "running",
            "steps": [], "cases": normalize_cases(cases), "totals": {},
            "dialect": dialect, "coverage": coverage,
        })
        if os.path.exists(report.results_path) and not overwrite:
            raise ReportError("{} already exists (a run id is used once)".format(report.results_path))
        os.makedirs(report.run_dir, exist_ok=True)
        report.save()
        return report

    @classmethod
    def load(cls, run_dir):
        """Read RUN_DIR/results.json; the stored run_dir is not trusted (CI moves artifacts)."""
        if not os.path.isdir(str(run_dir)):
            raise ReportError("{}: no such run directory".format(run_dir))
        path = os.path.join(str(run_dir), RESULTS)
        if not os.path.exists(path):
            raise ReportError("{}: no {} (not the run directory of a test_serving.sh run)".format(run_dir, RESULTS))
        return cls(run_dir, validate_results(load_json(path, RESULTS), path))

    def save(self):
        """Recompute totals and rewrite both files atomically (results.json first: it is the truth)."""
        self.data["totals"] = compute_totals(self.data["cases"])
        write_atomic(self.results_path, dump_json(self.data))
        write_atomic(self.junit_path, junit_bytes([self.data]))

    def case(self, name):
        """The case entry by name; an unknown name is the caller's typo, not a new case."""
        for case in self.data["cases"]:
            if case["name"] == name:
                return case
        known = ", ".join(c["name"] for c in self.data["cases"]) or "none"
        raise ReportError("unknown case {!r} in {} (known: {})".format(
            name, self.results_path, one_line(known, 300)))

    def state_setting(self, key, value):
        """A run-wide setting the report states (case_timeout_s: each case's deadline)."""
        self.data[str(key)] = value
        self.save()

    def record_step(self, name, status, seconds, reason="", log=None):
        """Record a pipeline step (export, convert, ...). Recording it again replaces the entry, so a
        step is listed once with its last outcome (convert passes, then its output check fails); the
        earlier log is kept when the new record names none."""
        if not str(name).strip():
            raise ReportError("step name must not be empty")
        entry = {"name": str(name), "status": check_choice(status, STEP_STATUSES, "step status"),
                 "seconds": check_seconds(seconds, "step {!r}".format(name)), "reason": str(reason or ""),
                 "log": None if log is None else str(log)}
        steps = self.data["steps"]
        for index, step in enumerate(steps):
            if step["name"] == entry["name"]:
                entry["log"] = entry["log"] or step.get("log")
                steps[index] = entry
                break
        else:
            steps.append(entry)
        self.save()

    def update_case(self, name, status=None, reason=None, timings=None, check=None, logs=None, rpc_check=None,
                    effective=None, tensors=None, answers=None):
        """Change what is given and keep the rest; timings and logs are merged key by key because
        the case runner learns them one phase at a time. Everything is checked before anything
        changes, so a refused update leaves the report (in memory and on disk) as it was.
        check / rpc_check: the HTTP / gRPC answers judged (verdict.judge.CheckResult.as_dict()); effective:
        setting -> what Paddle's output shows of it (verdict.evidence.Setting.as_dict()); tensors: the engine
        level, every output compared per fetch (verdict.tensors.TensorCheck.as_dict())."""
        case = self.case(name)
        if status is not None:
            check_choice(status, CASE_STATUSES, "case status")
        timings = {check_timing_key(key): check_seconds(value, "timing {}".format(key))
                   for key, value in (timings or {}).items()}
        for given in (check, rpc_check, effective, tensors, answers):
            if given is not None and not isinstance(given, dict):
                raise ReportError("check result must be a JSON object, got {}".format(type(given).__name__))
        logs = {str(kind): str(path) for kind, path in (logs or {}).items()}
        if any(not kind.strip() for kind in logs):
            raise ReportError("log kind must not be empty")
        if status is not None:
            case["status"] = status
        if reason is not None:
            case["reason"] = str(reason)
        if check is not None:
            case["check"] = check
        if rpc_check is not None:
            case["rpc_check"] = rpc_check
        if effective is not None:
            case["effective"] = effective
        if tensors is not None:
            case["tensors"] = tensors
        if answers is not None:  # the task level: served answers against the repository's inference (issue 21)
            case["answers"] = answers
        case["timings"].update(timings)
        case["logs"].update(logs)
        self.save()

    def finish(self, interrupted=False, reason=None):
        """Close the run: unfinished cases become not_run with a reason saying why, so the report
        never claims a case is still pending once nothing will run it."""
        default = REASON_INTERRUPTED if interrupted else REASON_NOT_REACHED
        for case in self.data["cases"]:
            if case["status"] in UNFINISHED:
                case["status"] = "not_run"
                case["reason"] = reason or default
        self.data["state"] = "interrupted" if interrupted else "finished"
        self.data["finished"] = utc_now()
        self.save()

    def exit_status(self):
        """0 only if no case failed or did not run and no step failed (skipped cases are fine)."""
        return run_exit_status(self.data)

    def summary(self):
        """The text table plus the totals line, as printed when a run finishes and by `report summary`."""
        return format_table(run_rows(self.data)) + "\n" + totals_line(self.data) + "\n"

