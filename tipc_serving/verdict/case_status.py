"""Where pass/fail is decided: a case's status from its facts, a step's from its check, a run's exit status.

The case runner (chain/case.py) gathers facts and records them; it decides nothing. A case passes only
when its service became ready, every client exited 0, the service was still whole after the clients,
and every client's answers matched the reference (verdict/judge.py).
"""
from dataclasses import dataclass, field
from typing import List, Optional

CASE_STATUSES = ("pending", "running", "passed", "failed", "skipped", "not_run")
UNFINISHED = ("pending", "running")
STEP_STATUSES = ("passed", "failed", "skipped")


@dataclass
class ClientFacts:
    """One client run against the service, and its answers judged."""

    label: str                    # "HTTP" or "gRPC"
    exit_status: int
    error_line: str = ""          # the first line of its log that names an error
    check: Optional[object] = None  # verdict.judge.CheckResult of its answers


@dataclass
class CaseFacts:
    """What happened to one case, as the case runner saw it."""

    server_log: str = ""
    busy_ports: List[str] = field(default_factory=list)   # holders of the ports, before anything started
    not_ready: Optional[str] = None                       # why the service never became ready
    clients: List[ClientFacts] = field(default_factory=list)
    broken: Optional[str] = None                          # the service was no longer whole after the clients
    benchmark_exit: Optional[int] = None                  # tools/benchmark.py's exit status, when it ran
    benchmark_error: str = ""


def case_status(facts):
    """(status, reason) of a case from its facts."""
    if facts.busy_ports:
        return "failed", "{} (not touched; free it or pass --http-port/--rpc-port)".format("; ".join(facts.busy_ports))
    if facts.not_ready is not None:
        return "failed", "service not ready: {}".format(facts.not_ready)
    reasons = []
    if facts.broken:
        reasons.append("{} while the clients ran (see {})".format(facts.broken, facts.server_log))
    reasons += ["{} client exit status {}: {}".format(c.label, c.exit_status, c.error_line)
                for c in facts.clients if c.exit_status != 0]
    reasons += ["{} answers: {}".format(c.label, c.check.summary_line())
                for c in facts.clients if c.check is not None and c.check.failed]
    if facts.benchmark_exit:
        reasons.append("benchmark: {}".format(facts.benchmark_error or "exit status {}".format(facts.benchmark_exit)))
    if reasons:
        return "failed", "; ".join(reasons)
    first = next((c.check for c in facts.clients if c.check is not None), None)
    return "passed", first.summary_line() if first is not None else ""


def golden_step_status(check):
    """A golden comparison as a step: skipped when not comparable, else passed or failed."""
    return {"skip": "skipped", "pass": "passed", "fail": "failed"}[check.status]


def run_exit_status(run):
    """0 only when no case failed or is unfinished/not run and no step failed; skipped is fine."""
    bad = any(case["status"] in ("failed", "not_run") + UNFINISHED for case in run["cases"])
    failed_steps = any(step.get("status") == "failed" for step in run.get("steps", []))
    return 1 if bad or failed_steps else 0
