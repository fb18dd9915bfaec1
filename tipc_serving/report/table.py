"""The text table of a run (or a merge): one row per case and per failed step, then the totals lines."""
import sys

from ..verdict.case_status import UNFINISHED, failed_steps, nothing_ran
from .entries import case_seconds, compute_totals, one_line, shown_steps

TABLE_WIDTH = 100
STATUS_LABELS = {"pending": "PENDING", "running": "RUNNING", "passed": "PASSED", "partial": "PARTIAL",
                 "failed": "FAILED", "skipped": "SKIPPED", "not_run": "NOT RUN"}


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
    """Table rows (name, status, seconds, diff, reason) for a run's cases, its failed steps and its skipped
    checks."""
    rows = [(prefix + case["name"], STATUS_LABELS.get(case["status"], case["status"].upper()), case_seconds(case),
             (case.get("check") or case.get("tensors") or {}).get("max_abs_diff"), case.get("reason") or "")
            for case in run["cases"]]
    rows.extend((prefix + "step:" + step["name"], STATUS_LABELS[step["status"]], step.get("seconds"), None,
                 step.get("reason") or "") for step in shown_steps(run))
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


def totals_text(label, totals, steps=(), states=(), cases=()):
    """'alexnet: 4 passed, 0 failed, 3 skipped, 0 not run' plus whatever else needs attention: partial
    cases, failed steps, a run that did not finish, and a run in which no case ran."""
    parts = ["{} passed".format(totals.get("passed", 0))]
    parts += ["{} partial".format(totals["partial"])] if totals.get("partial") else []
    parts += ["{} failed".format(totals.get("failed", 0)), "{} skipped".format(totals.get("skipped", 0)),
              "{} not run".format(totals.get("not_run", 0))]
    parts += ["{} {}".format(totals[key], key) for key in UNFINISHED if totals.get(key)]
    text = "{}: {}".format(label, ", ".join(parts))
    if steps:
        text += "; failed steps: " + ", ".join(steps)
    unfinished = sorted(set(states) - {"finished"})
    if unfinished:
        text += " (run {})".format("/".join("still running" if s == "running" else str(s) for s in unfinished))
    idle = nothing_ran(cases) if "running" not in states else None
    return text + ("; " + idle if idle else "")


def totals_line(run):
    """The totals line of one run, labelled with its model (and shard when sharded)."""
    label = run["model_name"] + (" [shard {}]".format(run["shard"]) if run.get("shard") else "")
    return totals_text(label, compute_totals(run["cases"]), failed_steps(run), [run.get("state")], run["cases"])


def print_text(text, stream=None):
    """Print without dying on a non-UTF-8 terminal: unencodable characters become '?'."""
    stream = stream or sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    print(text.encode(encoding, errors="replace").decode(encoding), end="", file=stream, flush=True)
