"""The entries of results.json: statuses, cases, steps, totals, and the checks every update passes."""
import datetime
import math
import re

from ..errors import UserError
from ..jsonfile import read_json
from ..verdict.case_status import CASE_STATUSES

SCHEMA = 1
RESULTS = "results.json"
DEVICES = ("cpu", "gpu")
TIMING_KEYS = ("start_s", "ready_s", "client_s", "stop_s", "check_s", "total_s")  # the usual ones
# Any lower-case name ending in _s is accepted (the case runner adds rpc_client_s); the suffix says
# the unit and catches `total=5`.
TIMING_KEY = re.compile(r"[a-z][a-z0-9_]*_s")
REASON_INTERRUPTED = "run interrupted before this case finished"
REASON_NOT_REACHED = "not reached: an earlier step failed"


class ReportError(UserError):
    """A bad report file or update: exit 2, like a usage error, so that it is told apart from a run
    that merely failed (exit 1)."""

    exit_code = 2


def utc_now():
    """ISO-8601 UTC with an explicit offset, so runs on hosts in different zones compare."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def load_json(path, what):
    return read_json(path, what, error=ReportError)


def one_line(text, limit):
    """Collapse whitespace to one line and cut at limit characters, marking the cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:max(limit - 3, 0)] + "..."


def case_seconds(case):
    """The case's duration: total_s when the case runner gave it, else None (phases may overlap,
    so summing them would be a guess)."""
    return case.get("timings", {}).get("total_s")


def check_seconds(value, what):
    """A duration as a finite, non-negative float; anything else is a caller bug worth a message."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ReportError("{}: expected seconds, got {!r}".format(what, value))
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds < 0:
        raise ReportError("{}: expected a finite number of seconds >= 0, got {!r}".format(what, value))
    return seconds


def check_choice(value, choices, what):
    """Reject a status/device outside its vocabulary, so typos never reach the report files."""
    if value not in choices:
        raise ReportError("{} must be one of {}, got {!r}".format(what, ", ".join(choices), value))
    return value


def check_timing_key(key):
    """A timing name in seconds (see TIMING_KEY); returns it for use in comprehensions."""
    if not isinstance(key, str) or not TIMING_KEY.fullmatch(key):
        raise ReportError("timing key must be a lower-case name ending in _s (e.g. {}), got {!r}".format(
            ", ".join(TIMING_KEYS), key))
    return key


def compute_totals(cases):
    """Count cases per status; every status key is always present so readers need no defaults."""
    totals = {status: 0 for status in ("passed", "partial", "failed", "skipped", "not_run", "pending", "running")}
    for case in cases:
        totals[case["status"]] = totals.get(case["status"], 0) + 1
    return totals


# Steps that are checks: skipped, a check did not happen, which every report shows (with its reason).
CHECK_STEPS = ("golden",)


def shown_steps(run):
    """The steps every report lists beside the cases: failed ones, and checks that were skipped."""
    return [step for step in run.get("steps", []) if step.get("status") == "failed"
            or (step.get("status") == "skipped" and step.get("name") in CHECK_STEPS)]


def normalize_cases(cases):
    """The initial case entries: validated names/devices, skipped ones carry their reason."""
    result, seen = [], set()
    for index, spec in enumerate(cases):
        if not isinstance(spec, dict):
            raise ReportError("case #{}: expected an object with name, device, settings".format(index))
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ReportError("case #{}: missing or empty 'name'".format(index))
        if name in seen:
            raise ReportError("case {!r} is listed twice".format(name))
        seen.add(name)
        settings = spec.get("settings") or {}
        if not isinstance(settings, dict):
            raise ReportError("case {!r}: 'settings' must be an object".format(name))
        skip_reason = spec.get("skip_reason") or ""
        result.append({
            "name": name,
            "device": check_choice(spec.get("device"), DEVICES, "case {!r}: device".format(name)),
            "settings": settings,
            "requested": spec.get("requested"),  # what the case asks Paddle for; `effective` says what ran
            "effective": {},
            "status": "skipped" if skip_reason else "pending",
            "reason": str(skip_reason),
            "timings": {},
            "check": None,
            "rpc_check": None,
            "logs": {},
        })
    return result


def validate_results(data, path):
    """Refuse a file that is not a per-run report before its fields are trusted."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ReportError("{}: not a schema {} tipc-serving results.json".format(path, SCHEMA))
    if "merged_from" in data:
        raise ReportError("{}: is a merged report, not a run's report".format(path))
    if not isinstance(data.get("model_name"), str) or not isinstance(data.get("cases"), list) \
            or not isinstance(data.get("steps"), list):
        raise ReportError("{}: results.json lacks model_name, cases or steps".format(path))
    for case in data["cases"]:
        if not isinstance(case, dict) or "name" not in case or case.get("status") not in CASE_STATUSES:
            raise ReportError("{}: malformed case entry {!r}".format(path, case))
    return data
