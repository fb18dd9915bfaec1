"""Where pass/fail is decided: a case's status from its facts, a step's from its check, a run's exit status.

The case runner (chain/case.py) gathers facts and records them; it decides nothing. A case is

    passed   its service became ready, every client exited 0, the service was still whole after them,
             every setting it names is in effect (Paddle's own output says so, verdict/evidence.py),
             every client's answers matched the reference (verdict/judge.py), every output tensor each op
             computed for its captured requests matched Paddle Inference on the original model
             (verdict/tensors.py: a capture that did not happen fails), and the service stopped;
    partial  all of that, except that something could not be checked here: the reason says what and why
             (never a plain PASS for something unchecked). A config in one of PaddlePaddle's layouts whose
             answers cannot be compared (detection, OCR, ...) is at best partial: its chain is checked (ready,
             clients exit 0, every reply's err_no 0, clean stop) and passes when its tensors were compared; it is
             partial only when even they could not be (the reason says why);
    failed   anything else, with every reason found (a served answer unlike the repository's own inference
             script's, verdict/tasks/, is one; where that task level is not built the reason says
             "task answers not compared: <why>" and the status stays what the rest makes it).
"""
from dataclasses import dataclass, field
from typing import List, Optional

from .evidence import NOT_CHECKED, NOT_IN_EFFECT

CASE_STATUSES = ("pending", "running", "passed", "partial", "failed", "skipped", "not_run")
RAN = ("passed", "partial", "failed")
UNFINISHED = ("pending", "running")
STEP_STATUSES = ("passed", "failed", "skipped")


@dataclass
class ClientFacts:
    """One client run against the service, and its answers judged."""

    label: str                    # "HTTP" or "gRPC"
    exit_status: Optional[int]  # None: it did not end and was stopped
    error_line: str = ""          # the first line of its log that names an error
    check: Optional[object] = None  # verdict.judge.CheckResult of its answers
    log: str = ""
    compared: bool = True         # its answers are judged against the reference; else only its replies
    replies: Optional[object] = None  # verdict.replies.Replies, for a client whose answers are not compared
    served: Optional[object] = None  # verdict.inputs.ServedResults its check read (the twin check reuses them)


@dataclass
class CaseFacts:
    """What happened to one case, as the case runner saw it."""

    server_log: str = ""
    refused: Optional[str] = None                         # the plan's reason this case fails unrun (--gpu on)
    busy_ports: List[str] = field(default_factory=list)   # holders of the ports, before anything started
    not_ready: Optional[str] = None                       # why the service never became ready
    clients: List[ClientFacts] = field(default_factory=list)
    broken: Optional[str] = None                          # the service was no longer whole after the clients
    settings: List[object] = field(default_factory=list)  # verdict.evidence.Setting, requested vs effective
    stop_problem: Optional[str] = None                    # the group would not die, or left a port held
    same_as_twin: Optional[str] = None                    # answers bit-identical to the setting's baseline twin
    benchmark_exit: Optional[int] = None                  # tools/benchmark.py's exit status, when it ran
    benchmark_error: str = ""
    answers_not_compared: Optional[str] = None            # why the answers cannot be judged here (a dialect's)
    tensors: Optional[object] = None                      # verdict.tensors.TensorCheck: the engine level
    answers: Optional[object] = None                      # verdict.tasks.TaskCheck: the task level (issue 21)


def _failures(facts):
    reasons = []
    if facts.broken:
        reasons.append("{} while the clients ran (see {})".format(facts.broken, facts.server_log))
    # a client stopped at the case's deadline (exit status None) has its reason in error_line
    reasons += [c.error_line if c.exit_status is None else "{} client exit status {}: {}".format(
        c.label, c.exit_status, c.error_line) for c in facts.clients if c.exit_status != 0]
    reasons += ["{} replies: {}".format(c.label, c.replies.problem()) for c in facts.clients
                if c.exit_status == 0 and c.replies is not None and c.replies.problem()]
    reasons += [s.describe() for s in facts.settings if s.status == NOT_IN_EFFECT]
    reasons += ["{} answers: {}".format(c.label, c.check.summary_line())
                for c in facts.clients if c.check is not None and c.check.failed]
    if facts.tensors is not None and facts.tensors.failed:  # a capture that did not happen is never a pass
        reasons.append(facts.tensors.summary_line())
    if facts.answers is not None and facts.answers.failed:  # served answers unlike the repository's inference
        reasons.append(facts.answers.summary_line())
    if facts.same_as_twin:
        reasons.append(facts.same_as_twin)
    if facts.stop_problem:
        reasons.append(facts.stop_problem)
    if facts.benchmark_exit:
        reasons.append("benchmark: {}".format(facts.benchmark_error or "exit status {}".format(facts.benchmark_exit)))
    return reasons


def case_status(facts):
    """(status, reason) of a case from its facts; the task level's line (its figures, or why it was not
    compared) is added to the reason and never changes a status by itself unless it failed."""
    status, reason = _case_status(facts)
    if status in ("passed", "partial") and facts.answers is not None:
        reason = "; ".join(part for part in (reason, facts.answers.summary_line()) if part)
    return status, reason


def _case_status(facts):
    if facts.refused:
        return "failed", facts.refused
    if facts.busy_ports:
        return "failed", "{} (not touched; free it or pass --http-port/--rpc-port)".format("; ".join(facts.busy_ports))
    if facts.not_ready is not None:  # a setting Paddle refused at start (an op's GPU) says why, first
        return "failed", "; ".join([s.describe() for s in facts.settings if s.status == NOT_IN_EFFECT]
                                   + ["service not ready: {}".format(facts.not_ready)]
                                   + ([facts.stop_problem] if facts.stop_problem else []))
    reasons = _failures(facts)
    if reasons:
        return "failed", "; ".join(reasons)
    checks = [c.check for c in facts.clients if c.check is not None]
    summary = checks[0].summary_line() if checks else ""
    warnings = [check.discrimination_warning for check in checks[:1] if check.discrimination_warning]
    unchecked = ["not checked: " + s.describe() for s in facts.settings if s.status == NOT_CHECKED]
    tensors = _tensor_level(facts)
    if facts.answers_not_compared and (tensors is None or facts.tensors.unavailable):
        replies = ["{} {}".format(c.label, c.replies.describe()) for c in facts.clients if c.replies is not None]
        return "partial", "; ".join([facts.answers_not_compared] + ([tensors] if tensors else []) + replies + unchecked)
    if facts.answers_not_compared:  # the engine level compared every output: the answers were compared
        replies = ["{} {}".format(c.label, c.replies.describe()) for c in facts.clients if c.replies is not None]
        summary = "; ".join([tensors] + replies)
    elif tensors:
        summary = "; ".join([summary, tensors])
    if unchecked or (facts.tensors is not None and facts.tensors.unavailable):
        return "partial", "; ".join(unchecked + [summary] + warnings)
    return "passed", "; ".join([summary] + warnings)


def _tensor_level(facts):
    """The engine level's line: each op's outputs against Paddle Inference (None when it was not run)."""
    return facts.tensors.summary_line() if facts.tensors is not None else None


def golden_step_status(check):
    """A golden comparison as a step: skipped when not comparable, else passed or failed."""
    return {"skip": "skipped", "pass": "passed", "fail": "failed"}[check.status]


def nothing_ran(cases):
    """Why no case of these ran ("no case ran: 3 skipped (skipped: no GPU)"), or None when one did."""
    if any(case["status"] in RAN for case in cases):
        return None
    if not cases:
        return "no case ran: there are no cases"
    counts = {}
    for case in cases:
        counts[case["status"]] = counts.get(case["status"], 0) + 1
    reasons = sorted({case.get("reason") or case["status"] for case in cases})
    return "no case ran: {} ({})".format(", ".join("{} {}".format(n, status.replace("_", " "))
                                                  for status, n in sorted(counts.items())), "; ".join(reasons))


def failed_steps(run):
    """The names of the run's failed steps: they fail the run even when every case passed."""
    return [step.get("name") for step in run.get("steps", []) if step.get("status") == "failed"]


def run_exit_status(run, some_case_must_run=None):
    """0 only when some case ran, none failed or is unfinished/not run, and no step failed; skipped is fine.
    One shard of a run need not run a case (its cases may all be GPU ones on a CPU machine): the merge of
    the shards must, as a whole. some_case_must_run defaults to: the run is not a shard."""
    bad = any(case["status"] in ("failed", "not_run") + UNFINISHED for case in run["cases"])
    if some_case_must_run is None:
        some_case_must_run = not run.get("shard")
    idle = some_case_must_run and nothing_ran(run["cases"])
    return 1 if bad or failed_steps(run) or idle else 0
