"""junit.xml, derived from results.json: one <testsuite> per run, a <testcase> per case and per failed step."""
import datetime
import re
import xml.etree.ElementTree as ET

from ..verdict.case_status import UNFINISHED
from ..verdict.judge import CheckResult
from .entries import case_seconds, one_line, shown_steps

JUNIT = "junit.xml"
SUITE_PREFIX = "serving_python."
DETAILS_LIMIT = 20000
MESSAGE_LIMIT = 500
# Characters XML 1.0 forbids (control characters, lone surrogates, U+FFFE/FFFF): ElementTree writes
# them as they are and the file no longer parses, so they are replaced. Logs with ANSI colours
# (ESC) are the usual source.
XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value):
    """Text safe for XML 1.0: ElementTree escapes <, & and quotes but not forbidden characters."""
    return XML_INVALID.sub("\ufffd", str(value))


def check_details(label, check):
    """The lines a check adds to a <failure>: its summary and numbers, then its problems, differences
    and notes as the checker renders them (verdict.judge.CheckResult, the schema of every check)."""
    lines = []
    if check.get("summary"):
        lines.append("{}check: {}".format(label, check["summary"]))
    numbers = ["{}={}".format(key, check[key]) for key in ("max_abs_diff", "max_rel_diff", "ties") if key in check]
    if numbers:
        lines.append(", ".join(numbers))
    if "entries" in check:
        lines.append(CheckResult.from_dict(check).diff_text())
    else:
        lines.extend("problem: {}".format(problem) for problem in check.get("problems") or [])
    return lines


def failure_details(case):
    """The body of a <failure>: the reason, each check's summary, numbers and differences, the logs,
    so the CI page alone says what went wrong and where to look."""
    lines = [str(case.get("reason") or "")]
    lines += check_details("", case.get("check") or {})
    lines += check_details("gRPC ", case.get("rpc_check") or {})
    tensors = case.get("tensors") or {}
    lines += ["tensors: {}".format(tensors["summary"])] if tensors.get("summary") else []
    lines.extend("{} log: {}".format(kind, path) for kind, path in sorted(case.get("logs", {}).items()))
    text = "\n".join(line for line in lines if line)
    return text if len(text) <= DETAILS_LIMIT else text[:DETAILS_LIMIT] + "\n... (truncated)"


def outcome_element(case):
    """The child element for a case's status (None for passed): failure, skipped or error. A partial case
    (it ran, but something in it could not be checked) is reported as skipped, so CI never shows it green."""
    status, reason = case["status"], case.get("reason") or ""
    if status == "passed":
        return None
    if status == "skipped":
        return ET.Element("skipped", message=xml_text(one_line(reason, MESSAGE_LIMIT)))
    if status == "partial":
        element = ET.Element("skipped", message=xml_text(one_line("PARTIAL: " + reason, MESSAGE_LIMIT)), type="partial")
        element.text = xml_text(reason)
        return element
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
    """A failed step as a failing testcase 'step:<name>' (a convert failure must be red in CI even though no
    case failed: they were all not_run); a skipped check as a skipped one, so that it shows."""
    reason = step.get("reason") or ("step failed" if step["status"] == "failed" else "skipped")
    if step["status"] == "failed":
        outcome = ET.Element("failure", message=xml_text(one_line(reason, MESSAGE_LIMIT)), type="step_failed")
    else:
        outcome = ET.Element("skipped", message=xml_text(one_line(reason, MESSAGE_LIMIT)))
    details = [step.get("reason") or ""]
    if step.get("log"):
        details.append("log: {}".format(step["log"]))
    outcome.text = xml_text("\n".join(line for line in details if line))
    return testcase_element(classname, "step:" + step["name"], step.get("seconds"), outcome)


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
        counts["skipped"] += case["status"] in ("skipped", "partial")
        counts["errors"] += case["status"] in ("not_run",) + UNFINISHED
    for step in shown_steps(run):
        suite.append(step_element(classname, step))
        seconds += step.get("seconds") or 0.0
        counts["tests"] += 1
        counts["failures" if step["status"] == "failed" else "skipped"] += 1
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
