"""verdict/case_status.py: a case's status and reason from its facts, a step's from its check, a run's exit."""
import pytest

from tipc_serving.verdict.case_status import (CaseFacts, ClientFacts, case_status, golden_step_status,
                                              run_exit_status)
from tipc_serving.verdict.judge import CheckResult, compare
from tipc_serving.verdict.result_lines import ImageResult

REFERENCE = {"a.jpg": ImageResult("a.jpg", [1, 2], [0.6, 0.3])}


def check(class_ids=(1, 2), probs=(0.6, 0.3)):
    return compare(REFERENCE, [ImageResult("a.jpg", list(class_ids), list(probs))])


def facts(**changes):
    """A case where everything went well, with `changes`."""
    values = dict(server_log="/run/case/server.log",
                  clients=[ClientFacts("HTTP", 0, check=check()), ClientFacts("gRPC", 0, check=check())])
    values.update(changes)
    return CaseFacts(**values)


def test_a_case_where_everything_went_well_passes_with_the_http_summary():
    status, reason = case_status(facts())
    assert status == "passed" and reason == check().summary_line() and reason.startswith("PASS 1/1 images")


def test_busy_ports_fail_before_anything_else_and_name_the_holders():
    status, reason = case_status(facts(busy_ports=["port 18080 is in use by pid 7 (x)", "port 18090 is in use"],
                                       not_ready="never"))
    assert status == "failed"
    assert reason == ("port 18080 is in use by pid 7 (x); port 18090 is in use "
                      "(not touched; free it or pass --http-port/--rpc-port)")


def test_a_service_that_never_became_ready_fails_with_why():
    assert case_status(facts(not_ready="service did not answer within 3 s", clients=[])) == (
        "failed", "service not ready: service did not answer within 3 s")


def test_every_problem_after_the_start_is_listed_in_order():
    bad = check(class_ids=(2, 1), probs=(0.6, 0.3))
    status, reason = case_status(facts(
        broken="service process 9 exited",
        clients=[ClientFacts("HTTP", 1, "client: error: a.jpg: err_no 4004", bad),
                 ClientFacts("gRPC", 1, "rpc: error: no answer", bad)],
        benchmark_exit=1, benchmark_error="benchmark.py: error: 3 requests failed"))
    assert status == "failed"
    assert reason.split("; ")[:4] == ["service process 9 exited while the clients ran (see /run/case/server.log)",
                                     "HTTP client exit status 1: client: error: a.jpg: err_no 4004",
                                     "gRPC client exit status 1: rpc: error: no answer",
                                     "HTTP answers: " + bad.summary_line().split("; ")[0]]
    assert "gRPC answers: FAIL 0/1 images" in reason
    assert reason.endswith("benchmark: benchmark.py: error: 3 requests failed")


def test_a_failed_benchmark_without_an_error_line_names_its_exit_status():
    assert case_status(facts(benchmark_exit=2)) == ("failed", "benchmark: exit status 2")


def test_wrong_answers_alone_fail_the_case():
    status, reason = case_status(facts(clients=[ClientFacts("HTTP", 0, check=check(class_ids=(2, 1)))]))
    assert status == "failed" and reason.startswith("HTTP answers: FAIL 0/1 images (1 class_mismatch)")


@pytest.mark.parametrize("result, expected", [
    (CheckResult.skip(1e-3, 1e-3, "no golden file"), "skipped"),
    (check(), "passed"),
    (check(class_ids=(2, 1)), "failed"),
])
def test_golden_step_status(result, expected):
    assert golden_step_status(result) == expected


@pytest.mark.parametrize("cases, steps, expected", [
    (["passed", "skipped"], [], 0),
    (["passed", "failed"], [], 1),
    (["passed", "not_run"], [], 1),
    (["passed", "running"], [], 1),
    (["passed"], ["failed"], 1),
    (["passed"], ["skipped", "passed"], 0),
])
def test_run_exit_status(cases, steps, expected):
    run = {"cases": [{"status": s} for s in cases], "steps": [{"status": s} for s in steps]}
    assert run_exit_status(run) == expected
