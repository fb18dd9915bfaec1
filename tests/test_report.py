"""The run report: results.json + junit.xml stay valid after every update, and say the truth."""
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tipc_serving.report.entries import REASON_INTERRUPTED, REASON_NOT_REACHED
from tipc_serving.report.junit import xml_text
from tipc_serving.report.merge import find_missing_shards, merge
from tipc_serving.report.store import Report
from tipc_serving.errors import UserError
from tipc_serving.verdict.judge import compare
from tipc_serving.verdict.result_lines import ImageResult

REPO_ROOT = Path(__file__).resolve().parent.parent

CASES = [
    {"name": "cpu_t1", "device": "cpu", "settings": {"threads": 1}, "skip_reason": None},
    {"name": "cpu_t6_mkldnn", "device": "cpu", "settings": {"threads": 6, "mkldnn": True}, "skip_reason": None},
    {"name": "gpu_fp32", "device": "gpu", "settings": {"precision": "fp32"}, "skip_reason": None},
    {"name": "gpu_trt_fp16", "device": "gpu", "settings": {"precision": "fp16"}, "skip_reason": "no TensorRT"},
]


def new_report(run_dir, cases=CASES, model="alexnet", shard=None, run_id="r1"):
    return Report.create(run_dir, model, "configs/alexnet.txt", run_id, shard, cases)


def load_files(run_dir):
    """Both files as a reader would see them: results.json parsed, junit.xml parsed."""
    results = json.loads((Path(run_dir) / "results.json").read_text(encoding="utf-8"))
    junit = ET.parse(str(Path(run_dir) / "junit.xml")).getroot()
    return results, junit


def statuses(results):
    return {case["name"]: case["status"] for case in results["cases"]}


def junit_cases(junit):
    return {tc.get("name"): tc for tc in junit.iter("testcase")}


def suite_counts(junit):
    suite = junit.find("testsuite")
    return {key: int(suite.get(key)) for key in ("tests", "failures", "skipped", "errors")}


# --- per-run API ---------------------------------------------------------------------------------

def test_create_starts_pending_and_skipped_with_reason(tmp_path):
    new_report(tmp_path / "run")
    results, junit = load_files(tmp_path / "run")
    assert results["schema"] == 1 and results["state"] == "running" and results["finished"] is None
    assert results["model_name"] == "alexnet" and results["run_id"] == "r1" and results["shard"] is None
    assert results["started"].endswith("+00:00")
    assert statuses(results) == {"cpu_t1": "pending", "cpu_t6_mkldnn": "pending", "gpu_fp32": "pending",
                                 "gpu_trt_fp16": "skipped"}
    assert results["cases"][3]["reason"] == "no TensorRT"
    assert results["totals"] == {"passed": 0, "partial": 0, "failed": 0, "skipped": 1, "not_run": 0, "pending": 3, "running": 0}
    assert suite_counts(junit) == {"tests": 4, "failures": 0, "skipped": 1, "errors": 3}


def test_update_then_finish_gives_statuses_totals_and_exit(tmp_path):
    report = new_report(tmp_path / "run")
    report.record_step("convert", "passed", 2.5)
    report.update_case("cpu_t1", status="running", timings={"start_s": 1.0}, logs={"server": "s.log"})
    report.update_case("cpu_t1", status="passed", timings={"total_s": 10}, logs={"client": "c.log"},
                       check={"max_abs_diff": 1e-6, "max_rel_diff": 1e-5, "ties": 0, "summary": "ok"})
    report.update_case("cpu_t6_mkldnn", status="failed", reason="top-1 differs on 2 images",
                       check={"max_abs_diff": 0.3, "max_rel_diff": 0.9, "ties": 1, "summary": "2 mismatches"})
    report.finish()
    results, _ = load_files(tmp_path / "run")
    case = results["cases"][0]
    assert case["timings"] == {"start_s": 1.0, "total_s": 10.0}, "timings are merged, not replaced"
    assert case["logs"] == {"server": "s.log", "client": "c.log"}, "logs are merged, not replaced"
    assert statuses(results) == {"cpu_t1": "passed", "cpu_t6_mkldnn": "failed", "gpu_fp32": "not_run",
                                 "gpu_trt_fp16": "skipped"}
    assert results["cases"][2]["reason"] == REASON_NOT_REACHED
    assert results["state"] == "finished" and results["finished"]
    assert results["totals"] == {"passed": 1, "partial": 0, "failed": 1, "skipped": 1, "not_run": 1, "pending": 0, "running": 0}
    assert Report.load(tmp_path / "run").exit_status() == 1


def test_exit_status_zero_only_when_nothing_failed_or_missing(tmp_path):
    report = new_report(tmp_path / "run")
    for name in ("cpu_t1", "cpu_t6_mkldnn", "gpu_fp32"):
        report.update_case(name, status="passed")
    assert report.exit_status() == 0, "passed + skipped is a success"
    report.finish()
    assert Report.load(tmp_path / "run").exit_status() == 0
    report.update_case("gpu_fp32", status="pending")
    assert report.exit_status() == 1, "an unfinished case is not a success"
    report.update_case("gpu_fp32", status="not_run")
    assert report.exit_status() == 1, "a case that did not run is not a success"


def test_failed_step_fails_the_run_and_shows_in_junit(tmp_path):
    report = new_report(tmp_path / "run")
    report.record_step("export", "passed", 4.0)
    report.record_step("convert", "failed", 1.5, reason="convert exited 1", log="logs/convert.log")
    report.finish(reason="not reached: convert failed")
    results, junit = load_files(tmp_path / "run")
    assert {c["status"] for c in results["cases"]} == {"not_run", "skipped"}
    assert results["cases"][0]["reason"] == "not reached: convert failed", "the caller's reason is kept"
    assert report.exit_status() == 1
    cases = junit_cases(junit)
    assert "step:export" not in cases, "only failed steps become testcases"
    failure = cases["step:convert"].find("failure")
    assert failure.get("message") == "convert exited 1" and "logs/convert.log" in failure.text
    assert cases["step:convert"].get("time") == "1.500"
    assert suite_counts(junit) == {"tests": 5, "failures": 1, "skipped": 1, "errors": 3}
    assert "step:convert" in report.summary() and "failed steps: convert" in report.summary()


def test_failed_step_alone_gives_nonzero_exit(tmp_path):
    report = new_report(tmp_path / "run", cases=[CASES[0]])
    report.update_case("cpu_t1", status="passed")
    report.record_step("reference", "failed", 0.1, reason="infer.py crashed")
    assert report.exit_status() == 1
    report.record_step("reference", "passed", 0.2, log="ref.log")
    assert report.exit_status() == 0, "recording a step again replaces it"
    report.record_step("reference", "failed", 0, reason="no output files")
    steps = Report.load(tmp_path / "run").data["steps"]
    assert [(s["name"], s["status"], s["log"]) for s in steps] == [("reference", "failed", "ref.log")], \
        "one entry per step, the earlier log kept"


def test_junit_elements_carry_messages_and_details(tmp_path):
    report = new_report(tmp_path / "run")
    report.update_case("cpu_t1", status="passed", timings={"total_s": 3.25}, logs={"server": "srv.log"})
    # The checks in the checker's own schema (verdict.judge.CheckResult.as_dict), HTTP and gRPC.
    judged = compare({"img1.jpg": ImageResult("img1.jpg", [5, 1], [0.6, 0.2])},
                     [ImageResult("img1.jpg", [7, 1], [0.6, 0.2])])
    judged.problems.append("2 images missing")
    check = dict(judged.as_dict(), max_abs_diff=0.3, summary="3 of 8 differ")
    report.update_case("cpu_t6_mkldnn", status="failed", reason="max abs diff 0.3 > 1e-4", check=check,
                       rpc_check=dict(judged.as_dict(), summary="gRPC: 1 of 8 differ"))
    report.update_case("gpu_fp32", status="running")
    _, junit = load_files(tmp_path / "run")
    assert junit.tag == "testsuites"
    suite = junit.find("testsuite")
    assert suite.get("name") == "serving_python.alexnet"
    assert suite_counts(junit) == {"tests": 4, "failures": 1, "skipped": 1, "errors": 1}
    assert junit.get("tests") == "4" and junit.get("failures") == "1"
    cases = junit_cases(junit)
    assert {tc.get("classname") for tc in cases.values()} == {"serving_python.alexnet"}
    passed = cases["cpu_t1"]
    assert passed.get("time") == "3.250" and list(passed) == [passed.find("system-out")]
    assert "srv.log" in passed.find("system-out").text
    failure = cases["cpu_t6_mkldnn"].find("failure")
    assert failure.get("message") == "max abs diff 0.3 > 1e-4"
    for text in ("check: 3 of 8 differ", "max_abs_diff=0.3", "problem: 2 images missing",
                 "gRPC check: gRPC: 1 of 8 differ"):
        assert text in failure.text
    # the differences table, as the checker prints it: image, verdict, field, reference, served
    assert re.search(r"img1\.jpg +class_mismatch +class_id +5 +7", failure.text), failure.text
    assert cases["gpu_trt_fp16"].find("skipped").get("message") == "no TensorRT"
    assert cases["gpu_fp32"].find("error").get("type") == "running"


@pytest.mark.parametrize("nasty", [
    'a < b && c > "d" \'e\'',
    "精度不一致: 誤差 ±0.5 — ok?",
    "line one\nline two\ttab\r\nend",
    "ansi \x1b[31mred\x1b[0m and nul \x00 and \ud800 surrogate",
    "]]> <![CDATA[ &amp; &#0;",
])
def test_nasty_reasons_are_escaped_in_both_files(tmp_path, nasty):
    report = new_report(tmp_path / "run")
    report.update_case("cpu_t1", status="failed", reason=nasty, check={"summary": nasty})
    report.update_case("cpu_t6_mkldnn", status="skipped", reason=nasty)
    report.update_case("gpu_fp32", status="not_run", reason=nasty)
    report.record_step("convert", "failed", 1, reason=nasty, log=nasty)
    results, junit = load_files(tmp_path / "run")
    assert results["cases"][0]["reason"] == nasty, "results.json keeps the text exactly"
    cases = junit_cases(junit)
    clean = xml_text(" ".join(nasty.split()))
    assert cases["cpu_t1"].find("failure").get("message") == clean
    assert cases["cpu_t6_mkldnn"].find("skipped").get("message") == clean
    assert cases["gpu_fp32"].find("error").get("message") == clean
    assert cases["step:convert"].find("failure").get("message") == clean
    report.summary()  # must not raise


def test_non_ascii_round_trips_exactly(tmp_path):
    reason = "精度不一致 <é> & \"q\""
    new_report(tmp_path / "run").update_case("cpu_t1", status="failed", reason=reason)
    results, junit = load_files(tmp_path / "run")
    assert results["cases"][0]["reason"] == reason
    assert junit_cases(junit)["cpu_t1"].find("failure").get("message") == reason


def test_nan_in_check_keeps_json_strict(tmp_path):
    report = new_report(tmp_path / "run")
    report.update_case("cpu_t1", status="failed",
                       check={"max_abs_diff": float("nan"), "max_rel_diff": float("inf")})
    text = (tmp_path / "run" / "results.json").read_text()
    json.loads(text, parse_constant=lambda name: pytest.fail("bare {} in results.json".format(name)))
    assert "nan" in report.summary()


def test_killed_run_leaves_valid_files_after_every_update(tmp_path):
    """Simulate a kill: no finish() call; whatever happened so far must be readable."""
    run = tmp_path / "run"
    report = new_report(run)
    for update in ({"status": "running"}, {"status": "passed", "timings": {"total_s": 2}}):
        report.update_case("cpu_t1", **update)
        results, junit = load_files(run)
        assert results["cases"][0]["status"] == update["status"]
        assert junit_cases(junit)["cpu_t1"].get("name") == "cpu_t1"
    report.update_case("cpu_t6_mkldnn", status="running")
    del report  # the process dies here

    results, junit = load_files(run)
    assert results["state"] == "running" and results["finished"] is None
    assert statuses(results) == {"cpu_t1": "passed", "cpu_t6_mkldnn": "running", "gpu_fp32": "pending",
                                 "gpu_trt_fp16": "skipped"}
    assert suite_counts(junit)["errors"] == 2, "running and pending cases are errors until they finish"
    assert [p for p in os.listdir(str(run)) if p not in ("results.json", "junit.xml")] == [], "no temp files left"

    Report.load(run).finish(interrupted=True)
    results, junit = load_files(run)
    assert results["state"] == "interrupted" and results["finished"]
    assert statuses(results) == {"cpu_t1": "passed", "cpu_t6_mkldnn": "not_run", "gpu_fp32": "not_run",
                                 "gpu_trt_fp16": "skipped"}
    assert results["cases"][1]["reason"] == REASON_INTERRUPTED
    assert junit_cases(junit)["gpu_fp32"].find("error").get("message") == REASON_INTERRUPTED
    assert Report.load(run).exit_status() == 1


def test_report_files_are_world_readable(tmp_path):
    new_report(tmp_path / "run")
    old = os.umask(0o022)
    try:
        Report.load(tmp_path / "run").update_case("cpu_t1", status="passed")
    finally:
        os.umask(old)
    for name in ("results.json", "junit.xml"):
        assert os.stat(str(tmp_path / "run" / name)).st_mode & 0o777 == 0o644


@pytest.mark.parametrize("call, message", [
    (lambda r: r.update_case("no_such_case", status="passed"), "unknown case 'no_such_case'"),
    (lambda r: r.update_case("cpu_t1", status="done"), "case status must be one of"),
    (lambda r: r.update_case("cpu_t1", timings={"total_s": "abc"}), "expected seconds"),
    (lambda r: r.update_case("cpu_t1", timings={"total_s": -1}), ">= 0"),
    (lambda r: r.update_case("cpu_t1", timings={"total": 1}), "timing key must be a lower-case name ending in _s"),
    (lambda r: r.update_case("cpu_t1", check=[1, 2]), "JSON object"),
    (lambda r: r.update_case("cpu_t1", status="passed", timings={"total_s": "x"}), "expected seconds"),
    (lambda r: r.update_case("cpu_t1", status="failed", reason="r", logs={" ": "x.log"}), "log kind"),
    (lambda r: r.record_step("convert", "ok", 1), "step status must be one of"),
    (lambda r: r.record_step("convert", "passed", float("nan")), "finite"),
])
def test_bad_updates_are_user_errors_and_change_nothing(tmp_path, call, message):
    report = new_report(tmp_path / "run")
    before = (tmp_path / "run" / "results.json").read_bytes()
    with pytest.raises(UserError, match=message):
        call(report)
    assert (tmp_path / "run" / "results.json").read_bytes() == before
    report.save()
    assert (tmp_path / "run" / "results.json").read_bytes() == before, "nothing changed in memory either"


@pytest.mark.parametrize("cases, message", [
    ([{"name": "a", "device": "tpu"}], "device must be one of"),
    ([{"name": "a", "device": "cpu"}, {"name": "a", "device": "gpu"}], "listed twice"),
    ([{"device": "cpu"}], "missing or empty 'name'"),
    ([{"name": "a", "device": "cpu", "settings": [1]}], "'settings' must be an object"),
])
def test_bad_case_lists_are_refused(tmp_path, cases, message):
    with pytest.raises(UserError, match=message):
        new_report(tmp_path / "run", cases=cases)
    assert not (tmp_path / "run" / "results.json").exists()


def test_create_refuses_existing_report_and_bad_shard(tmp_path):
    new_report(tmp_path / "run")
    with pytest.raises(UserError, match="already exists"):
        new_report(tmp_path / "run")
    with pytest.raises(UserError, match="I/N"):
        new_report(tmp_path / "other", shard="first")
    with pytest.raises(UserError, match="I <= N"):
        new_report(tmp_path / "other", shard="4/3")


def test_load_errors_name_the_problem(tmp_path):
    with pytest.raises(UserError, match="no such run directory"):
        Report.load(tmp_path / "missing")
    with pytest.raises(UserError, match="no results.json .not the run directory of a test_serving.sh run"):
        Report.load(tmp_path)
    (tmp_path / "results.json").write_text("{truncated")
    with pytest.raises(UserError, match="not valid JSON"):
        Report.load(tmp_path)


def test_summary_table_of_usual_names_fits_100_columns(tmp_path):
    report = new_report(tmp_path / "run", cases=CASES)
    report.update_case("cpu_t6_mkldnn", status="failed", reason="x" * 300, timings={"total_s": 1})
    report.finish()
    assert all(len(line) <= 100 for line in report.summary().rstrip("\n").split("\n"))


def test_summary_table_is_aligned_and_cuts_long_names_at_52(tmp_path):
    cases = CASES + [{"name": "cpu_threads=6_mkldnn=True_batch=8_precision=fp32_ir_optim=True",
                      "device": "cpu", "settings": {}, "skip_reason": None}]
    report = new_report(tmp_path / "run", cases=cases)
    report.update_case("cpu_t1", status="passed", timings={"total_s": 12.34}, check={"max_abs_diff": 1.2e-6})
    report.update_case("cpu_t6_mkldnn", status="failed", reason="x" * 300, timings={"total_s": 1})
    report.finish()
    lines = report.summary().rstrip("\n").split("\n")
    assert all(len(line) <= 52 + 33 + 35 for line in lines), [len(line) for line in lines]
    header, rows = lines[0], lines[2:-1]
    assert len(rows) == 5
    status_col = header.index("STATUS")
    assert [row[status_col:status_col + 7].strip() for row in rows] == [
        "PASSED", "FAILED", "NOT RUN", "SKIPPED", "NOT RUN"]
    assert "12.3s" in rows[0] and "1.20e-06" in rows[0]
    assert rows[1].endswith("...")
    assert "..." in rows[4] and "ir_optim=True  NOT RUN" in rows[4], "long names keep their tail"
    assert rows[2].endswith(REASON_NOT_REACHED), "the default reason fits whole"
    assert lines[-1] == "alexnet: 1 passed, 1 failed, 1 skipped, 2 not run"


# --- merge ---------------------------------------------------------------------------------------

def make_shards(root, outcomes):
    """One report per shard; outcomes: list (per shard) of {case name: status or skip reason}."""
    paths = []
    for index, shard in enumerate(outcomes, start=1):
        run_dir = root / "output" / "alexnet" / "serving_python" / "run{}".format(index)
        cases = [{"name": name, "device": "cpu", "settings": {},
                  "skip_reason": status[5:] if status.startswith("skip:") else None}
                 for name, status in shard.items()]
        report = new_report(run_dir, cases=cases, shard="{}/{}".format(index, len(outcomes)),
                            run_id="run{}".format(index))
        for name, status in shard.items():
            if not status.startswith("skip:"):
                report.update_case(name, status=status, reason="" if status == "passed" else "bad")
        report.finish()
        paths.append(run_dir)
    return paths


def run_merge(inputs, out_dir):
    out = io.StringIO()
    status = merge(inputs, out_dir, out)
    results, junit = load_files(out_dir)
    return status, results, junit, out.getvalue()


def test_merge_three_shards_counts_everything_and_fails_on_a_failure(tmp_path):
    paths = make_shards(tmp_path, [{"a": "passed", "b": "passed"}, {"c": "failed", "d": "skip:no gpu"},
                                   {"e": "passed"}])
    status, results, junit, text = run_merge([str(p / "results.json") for p in paths], tmp_path / "merged")
    assert status == 1
    assert results["totals"] == {"passed": 3, "partial": 0, "failed": 1, "skipped": 1, "not_run": 0, "pending": 0, "running": 0}
    assert len(results["merged_from"]) == 3 and [r["shard"] for r in results["runs"]] == ["1/3", "2/3", "3/3"]
    assert {c["model_name"] for c in results["cases"]} == {"alexnet"}
    assert [c["name"] for c in results["cases"]] == ["a", "b", "c", "d", "e"]
    assert len(junit.findall("testsuite")) == 3
    assert (junit.get("tests"), junit.get("failures"), junit.get("skipped")) == ("5", "1", "1")
    assert "all (3 runs): 3 passed, 1 failed, 1 skipped, 0 not run" in text
    assert results["duplicates"] == [] and results["missing_shards"] == []


@pytest.mark.parametrize("outcomes", [
    [{"a": "passed"}, {"b": "passed"}, {"c": "passed"}],
    [{"a": "passed"}, {"b": "skip:no gpu"}, {"c": "skip:no trt"}],
])
def test_merge_of_passed_and_skipped_is_a_success(tmp_path, outcomes):
    make_shards(tmp_path, outcomes)
    status, results, _, _ = run_merge([tmp_path / "output"], tmp_path / "merged")
    assert status == 0
    assert len(results["runs"]) == 3, "directories are searched recursively"


def test_merge_fails_on_not_run_and_on_failed_step(tmp_path):
    paths = make_shards(tmp_path, [{"a": "passed"}, {"b": "not_run"}])
    assert run_merge(paths, tmp_path / "m1")[0] == 1
    paths = make_shards(tmp_path / "again", [{"a": "passed"}, {"b": "passed"}])
    Report.load(paths[1]).record_step("convert", "failed", 1, reason="boom")
    status, results, junit, text = run_merge(paths, tmp_path / "m2")
    assert status == 1 and results["runs"][1]["failed_steps"] == ["convert"]
    assert "step:convert" in junit_cases(junit) and "alexnet/" not in text


def test_merge_reports_duplicates_and_fails(tmp_path):
    paths = make_shards(tmp_path, [{"a": "passed", "b": "passed"}, {"b": "passed", "c": "passed"}])
    status, results, _, text = run_merge(paths, tmp_path / "merged")
    assert status == 1, "a case run twice means the sharding is broken"
    assert results["totals"]["passed"] == 4, "both copies are counted"
    assert [(d["model_name"], d["case"], len(d["inputs"])) for d in results["duplicates"]] == [("alexnet", "b", 2)]
    assert "duplicate: alexnet case b in " in text


def test_merge_reports_a_missing_shard(tmp_path):
    paths = make_shards(tmp_path, [{"a": "passed"}, {"b": "passed"}, {"c": "passed"}])
    status, results, _, text = run_merge(paths[:2], tmp_path / "merged")
    assert status == 1 and results["missing_shards"] == ["3/3"]
    assert "missing shard: 3/3" in text


@pytest.mark.parametrize("shards, missing", [
    (["0/3", "1/3"], ["2/3"]),
    (["1/3", "3/3"], ["2/3"]),
    (["1/2", "2/2", "1/1"], []),
    ([None, "2/2"], ["1/2"]),
])
def test_missing_shards_understand_0_and_1_based_indexes(shards, missing):
    found = [("r{}".format(i), {"shard": shard}) for i, shard in enumerate(shards)]
    assert find_missing_shards(found) == missing


def test_merge_counts_each_file_once_and_skips_merged_output(tmp_path):
    paths = make_shards(tmp_path, [{"a": "passed"}, {"b": "passed"}])
    out = tmp_path / "output" / "merged"
    run_merge([tmp_path / "output"], out)
    status, results, _, _ = run_merge([tmp_path / "output", paths[0], paths[0] / "results.json"], out)
    assert status == 0, "the same file through several inputs is not a duplicate"
    assert len(results["runs"]) == 2, "the earlier merged report inside the tree is not an input"


def test_merge_of_several_models_prefixes_case_names(tmp_path):
    new_report(tmp_path / "alexnet", cases=[CASES[0]]).update_case("cpu_t1", status="passed")
    new_report(tmp_path / "resnet", cases=[CASES[0]], model="resnet50").update_case("cpu_t1", status="passed")
    status, results, junit, text = run_merge([tmp_path], tmp_path / "merged")
    assert status == 0, "same case name in different models is not a duplicate"
    assert "alexnet/cpu_t1" in text and "resnet50/cpu_t1" in text
    assert sorted(s.get("name") for s in junit.findall("testsuite")) == [
        "serving_python.alexnet", "serving_python.resnet50"]


def test_merge_without_inputs_is_a_user_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no results.json found"):
        merge([tmp_path / "empty"], tmp_path / "merged", io.StringIO())
    with pytest.raises(UserError, match="no such file"):
        merge([tmp_path / "nope"], tmp_path / "merged", io.StringIO())


# --- command line --------------------------------------------------------------------------------

def report_cli(*args, stdin=None):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "tipc_serving", "report"] + [str(a) for a in args],
                          input=stdin, cwd=str(REPO_ROOT), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)


def test_round_trip_then_summary_and_merge_from_the_command_line(tmp_path):
    run = tmp_path / "run"
    check = {"max_abs_diff": 2e-7, "max_rel_diff": 1e-6, "ties": 0, "summary": "ok"}
    report = Report.create(run, "alexnet", "c.txt", "r9", "2/4", CASES[:3])
    report.record_step("convert", "passed", "3.5", log="convert.log")
    report.update_case("cpu_t1", status="passed", timings={"start_s": "1.5", "total_s": "9", "rpc_client_s": 0.25},
                       check=check, logs={"server": "s.log", "client": "c.log"})
    report.update_case("cpu_t6_mkldnn", status="failed", reason="diff too large")
    summary = report_cli("summary", run)
    assert summary.returncode == 1 and "(run still running)" in summary.stdout
    Report.load(run).finish(interrupted=True)
    summary = report_cli("summary", run)
    assert summary.returncode == 1
    assert "alexnet [shard 2/4]: 1 passed, 1 failed, 0 skipped, 1 not run (run interrupted)" in summary.stdout
    assert "2.00e-07" in summary.stdout

    results, junit = load_files(run)
    assert results["shard"] == "2/4" and results["state"] == "interrupted"
    assert results["cases"][0]["timings"] == {"start_s": 1.5, "total_s": 9.0, "rpc_client_s": 0.25}
    assert results["cases"][0]["logs"] == {"server": "s.log", "client": "c.log"}
    assert results["cases"][0]["check"]["summary"] == "ok"
    assert results["steps"] == [{"name": "convert", "status": "passed", "seconds": 3.5, "reason": "",
                                 "log": "convert.log"}]
    assert suite_counts(junit) == {"tests": 3, "failures": 1, "skipped": 0, "errors": 1}

    merged = report_cli("merge", tmp_path / "merged", run)
    assert merged.returncode == 1 and "missing shard: 1/4" in merged.stdout


def test_cli_summary_survives_an_ascii_terminal(tmp_path):
    new_report(tmp_path / "run").update_case("cpu_t1", status="failed", reason="精度 mismatch")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONIOENCODING="ascii")
    result = subprocess.run([sys.executable, "-m", "tipc_serving", "report", "summary", str(tmp_path / "run")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr == "" and "?? mismatch" in result.stdout


def test_cli_success_exit_zero(tmp_path):
    report = Report.create(tmp_path / "run", "m", "c", "1", None, [CASES[0], CASES[3]])
    report.update_case("cpu_t1", status="passed")
    report.finish()
    summary = report_cli("summary", tmp_path / "run")
    assert summary.returncode == 0 and "m: 1 passed, 0 failed, 1 skipped, 0 not run" in summary.stdout
    assert report_cli("merge", tmp_path / "merged", tmp_path).returncode == 0


@pytest.mark.parametrize("args, message", [
    (("summary", "{tmp}/missing"), "no such run directory"),
    (("summary", "{tmp}"), "no results.json"),
    (("summary", "{tmp}/broken"), "not valid JSON"),
    (("merge", "{tmp}/out", "{tmp}/missing"), "no such file or directory"),
    (("merge", "{tmp}/out", "{tmp}/cases.json"), "not a schema 1 tipc-serving results.json"),
    (("summary",), "required: RUN_DIR"),
    (("bogus",), "invalid choice: 'bogus'"),
    ((), "required: COMMAND"),
])
def test_cli_errors_are_one_line_exit_2(tmp_path, args, message):
    run = tmp_path / "run"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("[{")
    (tmp_path / "cases.json").write_text(json.dumps(CASES))
    new_report(run)
    before = (run / "results.json").read_bytes()
    result = report_cli(*[a.format(tmp=tmp_path, run=run) for a in args])
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("report: error: ") and message in result.stderr, result.stderr
    assert (run / "results.json").read_bytes() == before, "a refused command leaves the report alone"


# --- partial cases and runs where nothing ran (issue 11) ------------------------------------------

def test_a_partial_case_is_never_shown_as_passed(tmp_path):
    report = new_report(tmp_path / "run")
    report.update_case("cpu_t1", status="partial", reason="not checked: precision int8 requested, not checked: ...")
    report.update_case("cpu_t6_mkldnn", status="passed")
    report.update_case("gpu_fp32", status="passed")
    report.finish()
    results, junit = load_files(tmp_path / "run")
    assert results["totals"]["partial"] == 1
    summary = report.summary()
    assert "PARTIAL" in summary and "alexnet: 2 passed, 1 partial, 0 failed, 1 skipped, 0 not run" in summary
    skipped = junit_cases(junit)["cpu_t1"].find("skipped")
    assert skipped.get("type") == "partial" and skipped.get("message").startswith("PARTIAL: not checked: precision")
    assert suite_counts(junit)["skipped"] == 2
    assert report.exit_status() == 0


def test_a_run_where_nothing_ran_is_no_success_and_says_why(tmp_path):
    report = new_report(tmp_path / "run", cases=[CASES[3]])
    report.finish()
    assert report.exit_status() == 1
    assert report.summary().rstrip().endswith("alexnet: 0 passed, 0 failed, 1 skipped, 0 not run; "
                                              "no case ran: 1 skipped (no TensorRT)")


def test_a_merge_fails_only_when_nothing_ran_in_any_shard(tmp_path):
    paths = make_shards(tmp_path, [{"a": "passed"}, {"b": "skip:no gpu"}])
    status, results, _, text = run_merge(paths, tmp_path / "merged")
    assert status == 0 and "alexnet [shard 2/2]: 0 passed, 0 failed, 1 skipped, 0 not run; no case ran" in text
    idle = make_shards(tmp_path / "idle", [{"a": "skip:no gpu"}, {"b": "skip:no gpu"}])
    status, _, _, text = run_merge(idle, tmp_path / "merged2")
    assert status == 1 and "all (2 runs): 0 passed, 0 failed, 2 skipped, 0 not run; no case ran: 2 skipped" in text


def test_one_shard_where_nothing_ran_says_so_but_leaves_the_verdict_to_the_merge(tmp_path):
    report = new_report(tmp_path / "run", cases=[CASES[3]], shard="2/2")
    report.finish()
    assert report.exit_status() == 0
    assert "no case ran: 1 skipped (no TensorRT)" in report.summary()
