"""Merging the reports of a sharded (or any multi-machine) run into one results.json, junit.xml and table."""
import json
import os
import sys

from ..config.shard import parse_shard
from ..jsonfile import dump_json, write_atomic
from ..verdict.case_status import failed_steps, nothing_ran, run_exit_status
from .entries import RESULTS, SCHEMA, ReportError, compute_totals, load_json, validate_results
from .junit import JUNIT, junit_bytes
from .table import format_table, print_text, run_rows, totals_line, totals_text

PROG = "report"


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
        data = load_json(path, RESULTS)
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
            index, count = parse_shard(run["shard"], lowest=0)
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
    shard = parse_shard(run["shard"], lowest=0) if run.get("shard") else (-1, 0)
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
                             [run.get("state") for run in runs], cases))
    lines += ["duplicate: {} case {} in {}".format(d["model_name"], d["case"], ", ".join(d["inputs"]))
              for d in duplicates]
    lines += ["missing shard: {} (no input has it)".format(shard) for shard in missing]
    print_text("\n".join(lines) + "\n", stream)
    bad = any(run_exit_status(run, some_case_must_run=False) for run in runs) or duplicates or missing \
        or nothing_ran(cases)
    return 1 if bad else 0
