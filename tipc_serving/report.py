"""The run report: RUN_DIR/results.json and RUN_DIR/junit.xml, valid and current after every update.

The orchestrator (test_tipc/test_serving.sh) records each step and case as it goes. Every update
rewrites both files through a temporary file and os.replace, so a run killed at any moment leaves
files that parse and say which cases finished, which were running and which never started;
`report finish --interrupted` then turns the unfinished ones into "not_run".

results.json is the source of truth; junit.xml is derived from it for CI tools, and the text
summary table is derived from it for people. `merge` combines the reports of a sharded run.
Standard library only, so that the report still works when the Paddle environment is broken.
"""
import argparse
import datetime
import json
import math
import os
import re
import socket
import sys
import tempfile
import xml.etree.ElementTree as ET

from .errors import UserError, cli

SCHEMA = 1
PROG = "report"
RESULTS = "results.json"
JUNIT = "junit.xml"
SUITE_PREFIX = "serving_python."

STEP_STATUSES = ("passed", "failed", "skipped")
CASE_STATUSES = ("pending", "running", "passed", "failed", "skipped", "not_run")
UNFINISHED = ("pending", "running")
DEVICES = ("cpu", "gpu")
TIMING_KEYS = ("start_s", "ready_s", "client_s", "stop_s", "check_s", "total_s")  # the usual ones
# Any lower-case name ending in _s is accepted (the orchestrator adds rpc_client_s); the suffix says
# the unit and catches `--timing total=5`.
TIMING_KEY = re.compile(r"[a-z][a-z0-9_]*_s")
REASON_INTERRUPTED = "run interrupted before this case finished"
REASON_NOT_REACHED = "not reached: an earlier step failed"

TABLE_WIDTH = 100
STATUS_LABELS = {"pending": "PENDING", "running": "RUNNING", "passed": "PASSED", "failed": "FAILED",
                 "skipped": "SKIPPED", "not_run": "NOT RUN"}
DETAILS_LIMIT = 20000
MESSAGE_LIMIT = 500
# Characters XML 1.0 forbids (control characters, lone surrogates, U+FFFE/FFFF): ElementTree writes
# them as they are and the file no longer parses, so they are replaced. Logs with ANSI colours
# (ESC) are the usual source.
XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class ReportError(UserError):
    """A bad report command or file: exit 2, like a usage error, so the orchestrator can tell it
    from a run that merely failed (exit 1)."""

    exit_code = 2


# --- small helpers -------------------------------------------------------------------------------

def utc_now():
    """ISO-8601 UTC with an explicit offset, so runs on hosts in different zones compare."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _file_mode():
    """The mode a plain open() would give: mkstemp's 0600 would hide the report from CI uploaders
    running as another user."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path, data):
    """Write bytes to path so that readers (and a kill at any moment) see the old or the new file,
    never half of one: temp file in the same directory, fsync, os.replace."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def json_safe(value):
    """A copy with NaN/Infinity turned into strings: json.dumps would write bare NaN, which strict
    parsers (jq, CI dashboards) reject, and a NaN diff is exactly what a broken model produces."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def dump_json(data):
    """Readable UTF-8 JSON bytes. Lone surrogates (undecodable file names arrive that way) cannot be
    encoded; backslashreplace writes them as \\udXXX, which is itself a valid JSON escape."""
    text = json.dumps(json_safe(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return text.encode("utf-8", errors="backslashreplace")


def read_json(path, what):
    """Parse a JSON file ('-' reads stdin), turning every failure into a one-line ReportError."""
    try:
        if path == "-":
            return json.load(sys.stdin)
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise ReportError("{}: {} not found".format(path, what))
    except (OSError, UnicodeDecodeError) as err:
        raise ReportError("{}: cannot read {}: {}".format(path, what, err))
    except ValueError as err:
        raise ReportError("{}: {} is not valid JSON: {}".format(path, what, err))


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


def parse_shard(text):
    """'I/N' -> (I, N). Both 0- and 1-based indexes are accepted; merge works out which one."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match:
        raise ReportError("shard must look like I/N (e.g. 1/3), got {!r}".format(text))
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or index > count:
        raise ReportError("shard {!r}: need N >= 1 and I <= N".format(text))
    return index, count


def compute_totals(cases):
    """Count cases per status; every status key is always present so readers need no defaults."""
    totals = {status: 0 for status in ("passed", "failed", "skipped", "not_run", "pending", "running")}
    for case in cases:
        totals[case["status"]] = totals.get(case["status"], 0) + 1
    return totals


def failed_steps(run):
    """The names of the run's failed steps: they fail the run even when every case passed."""
    return [step["name"] for step in run.get("steps", []) if step.get("status") == "failed"]


def run_exit_status(run):
    """0 only when no case failed or is unfinished/not run and no step failed; skipped is fine."""
    bad = any(case["status"] in ("failed", "not_run") + UNFINISHED for case in run["cases"])
    return 1 if bad or failed_steps(run) else 0


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
            "status": "skipped" if skip_reason else "pending",
            "reason": str(skip_reason),
            "timings": {},
            "check": None,
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


# --- the per-run report --------------------------------------------------------------------------

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
    def create(cls, run_dir, model_name, config, run_id, shard=None, cases=(), overwrite=False):
        """Start a run's report with every case listed up front, so a kill before a case starts
        still shows it (as pending) instead of silently dropping it."""
        if not str(model_name).strip() or not str(run_id).strip():
            raise ReportError("model name and run id must not be empty")
        if shard is not None:
            parse_shard(shard)
        report = cls(run_dir, {
            "schema": SCHEMA, "model_name": str(model_name), "config": str(config), "run_id": str(run_id),
            "run_dir": os.path.abspath(str(run_dir)), "shard": None if shard is None else str(shard).strip(),
            "host": socket.gethostname(), "started": utc_now(), "finished": None, "state": "running",
            "steps": [], "cases": normalize_cases(cases), "totals": {},
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
            raise ReportError("{}: no {} (run `report init` first)".format(run_dir, RESULTS))
        return cls(run_dir, validate_results(read_json(path, RESULTS), path))

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

    def update_case(self, name, status=None, reason=None, timings=None, check=None, logs=None):
        """Change what is given and keep the rest; timings and logs are merged key by key because
        the orchestrator learns them one phase at a time. Everything is checked before anything
        changes, so a refused update leaves the report (in memory and on disk) as it was."""
        case = self.case(name)
        if status is not None:
            check_choice(status, CASE_STATUSES, "case status")
        timings = {check_timing_key(key): check_seconds(value, "timing {}".format(key))
                   for key, value in (timings or {}).items()}
        if check is not None and not isinstance(check, dict):
            raise ReportError("check result must be a JSON object, got {}".format(type(check).__name__))
        logs = {str(kind): str(path) for kind, path in (logs or {}).items()}
        if any(not kind.strip() for kind in logs):
            raise ReportError("log kind must not be empty")
        if status is not None:
            case["status"] = status
        if reason is not None:
            case["reason"] = str(reason)
        if check is not None:
            case["check"] = check
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

    @property
    def totals(self):
        return compute_totals(self.data["cases"])

    def exit_status(self):
        """0 only if no case failed or did not run and no step failed (skipped cases are fine)."""
        return run_exit_status(self.data)

    def summary(self):
        """The text table plus the totals line, as printed by `report finish` and `report summary`."""
        return format_table(run_rows(self.data)) + "\n" + totals_line(self.data) + "\n"


# --- junit.xml -----------------------------------------------------------------------------------

def xml_text(value):
    """Text safe for XML 1.0: ElementTree escapes <, & and quotes but not forbidden characters."""
    return XML_INVALID.sub("\ufffd", str(value))


def one_line(text, limit):
    """Collapse whitespace to one line and cut at limit characters, marking the cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:max(limit - 3, 0)] + "..."


def case_seconds(case):
    """The case's duration: total_s when the orchestrator gave it, else None (phases may overlap,
    so summing them would be a guess)."""
    return case.get("timings", {}).get("total_s")


def failure_details(case):
    """The body of a <failure>: the reason, the checker's summary and numbers, the diff, the logs,
    so the CI page alone says what went wrong and where to look."""
    lines = [str(case.get("reason") or "")]
    check = case.get("check") or {}
    if check.get("summary"):
        lines.append("check: {}".format(check["summary"]))
    numbers = ["{}={}".format(key, check[key]) for key in ("max_abs_diff", "max_rel_diff", "ties") if key in check]
    if numbers:
        lines.append(", ".join(numbers))
    problems = check.get("problems")
    if isinstance(problems, list):
        lines.extend("problem: {}".format(problem) for problem in problems)
    if check.get("diff"):
        diff = check["diff"]
        lines.append("diff:\n" + (diff if isinstance(diff, str) else json.dumps(json_safe(diff), indent=2)))
    lines.extend("{} log: {}".format(kind, path) for kind, path in sorted(case.get("logs", {}).items()))
    text = "\n".join(line for line in lines if line)
    return text if len(text) <= DETAILS_LIMIT else text[:DETAILS_LIMIT] + "\n... (truncated)"


def outcome_element(case):
    """The child element for a case's status (None for passed): failure, skipped or error."""
    status, reason = case["status"], case.get("reason") or ""
    if status == "passed":
        return None
    if status == "skipped":
        return ET.Element("skipped", message=xml_text(one_line(reason, MESSAGE_LIMIT)))
    if status == "failed":
        element = ET.Element("failure", message=xml_text(one_line(reason or "failed", MESSAGE_LIMIT)),
                             type="failed")
        element.text = xml_text(failure_details(case))
        return element
    default = {"pending": "pending: the run has not reached this case",
               "running": "running: the run has not finished this case"}.get(status, "not run")
    element = ET.Element("error", message=xml_text(one_line(reason or default, MESSAGE_LIMIT)), type=status)
    element.text = xml_text(reason or default)
    return element


def testcase_element(classname, name, seconds, outcome, logs=None):
    """One <testcase> with its outcome child and, when there are logs, a <system-out> naming them."""
    element = ET.Element("testcase", classname=xml_text(classname), name=xml_text(name),
                         time="{:.3f}".format(seconds or 0.0))
    if outcome is not None:
        element.append(outcome)
    if logs:
        out = ET.SubElement(element, "system-out")
        out.text = xml_text("\n".join("{} log: {}".format(k, v) for k, v in sorted(logs.items())))
    return element


def step_element(classname, step):
    """A failed step as a failing testcase 'step:<name>': a convert failure must be red in CI even
    though no case failed (they were all not_run)."""
    failure = ET.Element("failure", message=xml_text(one_line(step.get("reason") or "step failed", MESSAGE_LIMIT)),
                         type="step_failed")
    details = [step.get("reason") or ""]
    if step.get("log"):
        details.append("log: {}".format(step["log"]))
    failure.text = xml_text("\n".join(line for line in details if line))
    return testcase_element(classname, "step:" + step["name"], step.get("seconds"), failure)


def junit_timestamp(started):
    """The JUnit XSD wants a timestamp without offset; results.json keeps the UTC one."""
    try:
        moment = datetime.datetime.fromisoformat(str(started))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def testsuite_element(run):
    """One run as a <testsuite>: its cases, then its failed steps, with counts CI tools trust."""
    classname = SUITE_PREFIX + run["model_name"]
    suite = ET.Element("testsuite", name=xml_text(classname))
    props = ET.SubElement(suite, "properties")
    for key in ("model_name", "config", "run_id", "shard", "host", "state", "started", "finished", "run_dir"):
        if run.get(key) is not None:
            ET.SubElement(props, "property", name=key, value=xml_text(run[key]))
    counts = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    seconds = 0.0
    for case in run["cases"]:
        element = testcase_element(classname, case["name"], case_seconds(case),
                                   outcome_element(case), case.get("logs"))
        suite.append(element)
        seconds += case_seconds(case) or 0.0
        counts["tests"] += 1
        counts["failures"] += case["status"] == "failed"
        counts["skipped"] += case["status"] == "skipped"
        counts["errors"] += case["status"] in ("not_run",) + UNFINISHED
    for step in run.get("steps", []):
        if step.get("status") == "failed":
            suite.append(step_element(classname, step))
            seconds += step.get("seconds") or 0.0
            counts["tests"] += 1
            counts["failures"] += 1
    suite.set("time", "{:.3f}".format(seconds))
    for key, value in counts.items():
        suite.set(key, str(value))
    timestamp = junit_timestamp(run.get("started"))
    if timestamp:
        suite.set("timestamp", timestamp)
    if run.get("host"):
        suite.set("hostname", xml_text(run["host"]))
    return suite


def junit_bytes(runs):
    """<testsuites> with one <testsuite> per run, the totals summed on the root as Jenkins expects."""
    root = ET.Element("testsuites", name="serving_python")
    totals = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    seconds = 0.0
    for run in runs:
        suite = testsuite_element(run)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key))
        seconds += float(suite.get("time"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "{:.3f}".format(seconds))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# --- the text summary ----------------------------------------------------------------------------

def format_diff(value):
    """A max-abs-diff cell: short scientific notation, '-' when the checker gave none."""
    if value is None or isinstance(value, bool):
        return "-"
    if isinstance(value, (int, float)):
        return "0" if value == 0 else "{:.2e}".format(value)
    return one_line(value, 9)


def middle_cut(text, width):
    """Shorten a case name in the middle: names differ in their tails (batch, precision)."""
    if len(text) <= width:
        return text
    head = (width - 3) // 2
    return text[:head] + "..." + text[len(text) - (width - 3 - head):]


def run_rows(run, prefix=""):
    """Table rows (name, status, seconds, diff, reason) for a run's cases and its failed steps."""
    rows = [(prefix + case["name"], STATUS_LABELS.get(case["status"], case["status"].upper()),
             case_seconds(case), (case.get("check") or {}).get("max_abs_diff"), case.get("reason") or "")
            for case in run["cases"]]
    rows.extend((prefix + "step:" + step["name"], "FAILED", step.get("seconds"), None, step.get("reason") or "")
                for step in run.get("steps", []) if step.get("status") == "failed")
    return rows


def format_table(rows):
    """Aligned columns within TABLE_WIDTH where the names allow: the name column grows up to 52 (a merged
    table's model/case names stay whole and distinct), the reason takes the rest, 35 columns at least
    (so "not reached: an earlier step failed" fits whole)."""
    name_width = min(max([len("CASE")] + [len(row[0]) for row in rows]), 52)
    fixed = "{:<%d}  {:<7}  {:>7}  {:>9}  " % name_width
    reason_width = max(35, TABLE_WIDTH - len(fixed.format("", "", "", "")))
    lines = [(fixed + "{}").format("CASE", "STATUS", "TIME", "ABS DIFF", "REASON"),
             "-" * (len(fixed.format("", "", "", "")) + reason_width)]
    for name, status, seconds, diff, reason in rows:
        time_cell = "-" if seconds is None else "{:.1f}s".format(seconds)
        line = fixed.format(middle_cut(name, name_width), status, time_cell, format_diff(diff))
        lines.append((line + one_line(reason, reason_width)).rstrip())
    return "\n".join(lines)


def totals_text(label, totals, steps=(), states=()):
    """'alexnet: 4 passed, 0 failed, 3 skipped, 0 not run' plus whatever else needs attention."""
    parts = ["{} passed".format(totals.get("passed", 0)), "{} failed".format(totals.get("failed", 0)),
             "{} skipped".format(totals.get("skipped", 0)), "{} not run".format(totals.get("not_run", 0))]
    parts += ["{} {}".format(totals[key], key) for key in UNFINISHED if totals.get(key)]
    text = "{}: {}".format(label, ", ".join(parts))
    if steps:
        text += "; failed steps: " + ", ".join(steps)
    unfinished = sorted(set(states) - {"finished"})
    if unfinished:
        text += " (run {})".format("/".join("still running" if s == "running" else str(s) for s in unfinished))
    return text


def totals_line(run):
    """The totals line of one run, labelled with its model (and shard when sharded)."""
    label = run["model_name"] + (" [shard {}]".format(run["shard"]) if run.get("shard") else "")
    return totals_text(label, compute_totals(run["cases"]), failed_steps(run), [run.get("state")])


def print_text(text, stream=None):
    """Print without dying on a non-UTF-8 terminal: unencodable characters become '?'."""
    stream = stream or sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    print(text.encode(encoding, errors="replace").decode(encoding), end="", file=stream, flush=True)


# --- merge ---------------------------------------------------------------------------------------

def find_results(inputs, out_dir):
    """Resolve inputs (results.json files, run dirs, trees) to report files, once each. Inside trees,
    earlier merged reports (ours in out_dir included) and foreign results.json files are skipped.

    A report whose content equals one already found is a copy of the same run, not a second run:
    CI artifact uploaders (GitHub's upload-artifact among them) follow symbolic links, so the
    `latest` link arrives as a second folder holding the same results.json. Distinct runs never have
    equal reports (run id, start time and timings differ)."""
    found, seen, contents = [], set(), {}
    merged_out = os.path.realpath(os.path.join(str(out_dir), RESULTS))

    def add(path, explicit):
        real = os.path.realpath(path)
        if real in seen or (real == merged_out and not explicit):
            return
        data = read_json(path, RESULTS)
        if not explicit and (not isinstance(data, dict) or "merged_from" in data or "schema" not in data):
            print("{}: note: skipping {} (not a run report)".format(PROG, path), file=sys.stderr)
            return
        seen.add(real)
        validate_results(data, path)
        content = json.dumps(data, sort_keys=True)
        if content in contents:
            print("{}: note: skipping {}: a copy of {} (the same run)".format(PROG, path, contents[content]),
                  file=sys.stderr)
            return
        contents[content] = path
        found.append((path, data))

    for item in inputs:
        item = str(item)
        if os.path.isfile(item):
            add(item, explicit=True)
        elif os.path.isdir(item):
            for root, dirs, files in os.walk(item):
                dirs.sort()
                if RESULTS in files:
                    add(os.path.join(root, RESULTS), explicit=False)
        else:
            raise ReportError("{}: no such file or directory".format(item))
    if not found:
        raise ReportError("no {} found in {}".format(RESULTS, ", ".join(map(str, inputs)) or "(no inputs)"))
    return found


def find_duplicates(found):
    """(model, case) pairs present in more than one input: a sharded run must run each case once."""
    where = {}
    for path, run in found:
        for case in run["cases"]:
            where.setdefault((run["model_name"], case["name"]), []).append(path)
    return [{"model_name": model, "case": case, "inputs": paths}
            for (model, case), paths in where.items() if len(paths) > 1]


def find_missing_shards(found):
    """Shard indexes of I/N that no input has: a lost shard drops its cases without a trace.
    Indexes are taken as 0-based when some input uses 0, else 1-based."""
    seen = {}
    for _, run in found:
        if run.get("shard"):
            index, count = parse_shard(run["shard"])
            seen.setdefault(count, set()).add(index)
    missing = []
    for count, indexes in sorted(seen.items()):
        expected = range(count) if 0 in indexes else range(1, count + 1)
        missing += ["{}/{}".format(index, count) for index in expected if index not in indexes]
    return missing


def run_summary(run):
    """What merged results.json keeps of each run besides its cases."""
    return {"model_name": run["model_name"], "run_id": run.get("run_id"), "shard": run.get("shard"),
            "state": run.get("state"), "totals": compute_totals(run["cases"]),
            "failed_steps": failed_steps(run)}


def merge_order(item):
    """Sort key for (path, run): by model, then by shard number (so 10/12 follows 2/12), then path."""
    path, run = item
    shard = parse_shard(run["shard"]) if run.get("shard") else (-1, 0)
    return run["model_name"], shard, path


def merge(inputs, out_dir, stream=None):
    """Merge per-run reports into out_dir/results.json and junit.xml, print the table, and return 1
    if any case failed or did not run, any step failed, a case ran twice or a shard is missing."""
    found = sorted(find_results(inputs, out_dir), key=merge_order)
    runs = [run for _, run in found]
    several_models = len({run["model_name"] for run in runs}) > 1
    cases = [dict(case, model_name=run["model_name"], run_id=run.get("run_id")) for run in runs
             for case in run["cases"]]
    duplicates, missing = find_duplicates(found), find_missing_shards(found)
    merged = {"schema": SCHEMA, "merged_from": [os.path.abspath(path) for path, _ in found],
              "runs": [run_summary(run) for run in runs], "cases": cases, "totals": compute_totals(cases),
              "duplicates": duplicates, "missing_shards": missing}
    os.makedirs(str(out_dir), exist_ok=True)
    write_atomic(os.path.join(str(out_dir), RESULTS), dump_json(merged))
    write_atomic(os.path.join(str(out_dir), JUNIT), junit_bytes(runs))

    rows = [row for run in runs for row in run_rows(run, run["model_name"] + "/" if several_models else "")]
    lines = [format_table(rows)] + [totals_line(run) for run in runs]
    all_steps = [run["model_name"] + ":" + step for run in runs for step in failed_steps(run)]
    lines.append(totals_text("all ({} runs)".format(len(runs)), merged["totals"], all_steps,
                             [run.get("state") for run in runs]))
    lines += ["duplicate: {} case {} in {}".format(d["model_name"], d["case"], ", ".join(d["inputs"]))
              for d in duplicates]
    lines += ["missing shard: {} (no input has it)".format(shard) for shard in missing]
    print_text("\n".join(lines) + "\n", stream)
    bad = any(run_exit_status(run) for run in runs) or duplicates or missing
    return 1 if bad else 0


# --- command line --------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one ReportError line instead of usage + error."""

    def error(self, message):
        raise ReportError(message)


def parse_pairs(items, what):
    """['key=value', ...] -> dict of strings; the values are checked where they are used."""
    pairs = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ReportError("{} must look like key=value, got {!r}".format(what, item))
        pairs[key.strip()] = value
    return pairs


def build_parser():
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    init = commands.add_parser("init", help="create RUN_DIR/results.json and junit.xml with every case pending")
    init.add_argument("run_dir", metavar="RUN_DIR")
    init.add_argument("--model-name", required=True)
    init.add_argument("--config", required=True, help="path of the TIPC config")
    init.add_argument("--run-id", required=True)
    init.add_argument("--shard", default=None, help="I/N when this run is one shard of several")
    init.add_argument("--cases-json", required=True, metavar="FILE",
                      help="JSON list of {name, device, settings, skip_reason}; '-' reads stdin")
    init.add_argument("--force", action="store_true", help="replace an existing report")

    step = commands.add_parser("step", help="record a step (bootstrap, export, convert, reference, ...)")
    step.add_argument("run_dir", metavar="RUN_DIR")
    step.add_argument("name", metavar="NAME")
    step.add_argument("--status", required=True, choices=STEP_STATUSES)
    step.add_argument("--seconds", required=True)
    step.add_argument("--reason", default="")
    step.add_argument("--log", default=None, metavar="PATH")

    case = commands.add_parser("case", help="update a case; timings and logs are merged")
    case.add_argument("run_dir", metavar="RUN_DIR")
    case.add_argument("name", metavar="NAME")
    case.add_argument("--status", choices=CASE_STATUSES)
    case.add_argument("--reason")
    case.add_argument("--timing", action="append", metavar="KEY=SECONDS",
                      help="KEY ends in _s, e.g. " + ", ".join(TIMING_KEYS))
    case.add_argument("--check-json", metavar="FILE", help="the checker's JSON object; '-' reads stdin")
    case.add_argument("--log", action="append", metavar="KIND=PATH")

    finish = commands.add_parser("finish", help="close the run, print the table, exit 0 only if all is well")
    finish.add_argument("run_dir", metavar="RUN_DIR")
    finish.add_argument("--interrupted", action="store_true")
    finish.add_argument("--reason", default=None, help="why unfinished cases did not run")

    summary = commands.add_parser("summary", help="print the table, exit 0 only if all is well")
    summary.add_argument("run_dir", metavar="RUN_DIR")

    merge_cmd = commands.add_parser("merge", help="merge shard reports into OUT_DIR")
    merge_cmd.add_argument("out_dir", metavar="OUT_DIR")
    merge_cmd.add_argument("inputs", nargs="+", metavar="INPUT", help="results.json, run dir or tree")
    return parser


def command_init(args):
    cases = read_json(args.cases_json, "cases file")
    if not isinstance(cases, list):
        raise ReportError("{}: expected a JSON list of cases".format(args.cases_json))
    Report.create(args.run_dir, args.model_name, args.config, args.run_id, args.shard, cases, overwrite=args.force)
    return 0


def command_step(args):
    Report.load(args.run_dir).record_step(args.name, args.status, args.seconds, args.reason, args.log)
    return 0


def command_case(args):
    timings = parse_pairs(args.timing, "--timing")
    logs = parse_pairs(args.log, "--log")
    check = read_json(args.check_json, "check file") if args.check_json else None
    Report.load(args.run_dir).update_case(args.name, args.status, args.reason, timings, check, logs)
    return 0


def command_finish(args):
    report = Report.load(args.run_dir)
    report.finish(args.interrupted, args.reason)
    print_text(report.summary())
    return report.exit_status()


def command_summary(args):
    report = Report.load(args.run_dir)
    print_text(report.summary())
    return report.exit_status()


def command_merge(args):
    return merge(args.inputs, args.out_dir)


COMMANDS = {"init": command_init, "step": command_step, "case": command_case, "finish": command_finish,
            "summary": command_summary, "merge": command_merge}


@cli(PROG)
def main(argv=None):
    """`report COMMAND ...`: exit 0 all well, 1 something failed or did not run, 2 bad usage/files."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
