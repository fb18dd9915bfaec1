"""verdict/case_status.py: a case's status and reason from its facts, a step's from its check, a run's exit."""
import pytest

from tipc_serving.verdict.case_status import (CaseFacts, ClientFacts, case_status, golden_step_status,
                                              nothing_ran, run_exit_status)
from tipc_serving.verdict.evidence import IN_EFFECT, NOT_CHECKED, NOT_IN_EFFECT, Setting
from tipc_serving.verdict.judge import CheckResult, compare
from tipc_serving.verdict.replies import read_replies
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
    (["partial", "skipped"], [], 0),
    (["skipped", "skipped"], [], 1),
    (["passed", "failed"], [], 1),
    (["passed", "not_run"], [], 1),
    (["passed", "running"], [], 1),
    (["passed"], ["failed"], 1),
    (["passed"], ["skipped", "passed"], 0),
])
def test_run_exit_status(cases, steps, expected):
    run = {"cases": [{"status": s} for s in cases], "steps": [{"status": s} for s in steps]}
    assert run_exit_status(run) == expected


# --- settings, stop, twin, refusal (issue 11) ----------------------------------------------------

def setting(key, status, requested=True, effective=True, evidence="Paddle: 'line'"):
    return Setting(key, requested, effective, status, evidence)


def test_a_setting_not_in_effect_fails_the_case_quoting_the_evidence():
    status, reason = case_status(facts(settings=[
        setting("ir_optim", IN_EFFECT),
        setting("use_mkldnn", NOT_IN_EFFECT, effective=False,
                evidence="Paddle: 'EnableMKLDNN() only works when IR optimization is enabled.'")]))
    assert status == "failed"
    assert reason == ("use_mkldnn True requested, not in effect: Paddle: 'EnableMKLDNN() only works when IR "
                      "optimization is enabled.'")


def test_a_setting_that_cannot_be_checked_makes_the_case_partial_never_passed():
    status, reason = case_status(facts(settings=[setting("precision", NOT_CHECKED, "int8", None,
                                                         "Paddle prints no line that proves a TensorRT int8 engine")]))
    assert status == "partial"
    assert reason.startswith("not checked: precision int8 requested, not checked: Paddle prints no line")
    assert reason.endswith(check().summary_line())


def test_a_stop_problem_fails_even_a_case_whose_service_never_became_ready():
    status, reason = case_status(facts(clients=[], not_ready="service did not answer",
                                       stop_problem="stop incomplete: port 1 is in use by pid 2 (x)"))
    assert (status, reason) == ("failed", "service not ready: service did not answer; stop incomplete: port 1 is in "
                                          "use by pid 2 (x)")
    assert case_status(facts(stop_problem="stop failed: group 3 did NOT stop"))[1] == "stop failed: group 3 did NOT stop"


def test_answers_identical_to_the_twin_fail_the_case():
    status, reason = case_status(facts(same_as_twin="answers bit-identical to cpu_usemkldnn_False_threads_2's"))
    assert status == "failed" and reason == "answers bit-identical to cpu_usemkldnn_False_threads_2's"


def test_a_case_the_plan_refused_fails_with_the_plans_reason():
    assert case_status(facts(refused="no usable GPU here")) == ("failed", "no usable GPU here")


def test_a_passing_case_says_when_its_images_cannot_tell_a_swapped_top1():
    reference = {"a.jpg": ImageResult("a.jpg", [1, 2], [0.5, 0.4995]), "b.jpg": ImageResult("b.jpg", [1, 2], [0.5, 0.4995])}
    weak = compare(reference, list(reference.values()))
    status, reason = case_status(facts(clients=[ClientFacts("HTTP", 0, check=weak)]))
    assert status == "passed" and reason.endswith("; warning: only 0 of 2 images can tell a swapped top-1 from a "
                                                  "right one at this tolerance (their reference's two best classes "
                                                  "are closer than it)")


@pytest.mark.parametrize("statuses, expected", [
    (["skipped", "skipped"], "no case ran: 2 skipped (skipped: no GPU)"),
    (["not_run"], "no case ran: 1 not run (not reached)"),
    ([], "no case ran: there are no cases"),
    (["skipped", "partial"], None),
    (["failed"], None),
])
def test_nothing_ran_says_why(statuses, expected):
    reasons = {"skipped": "skipped: no GPU", "not_run": "not reached"}
    cases = [{"status": s, "reason": reasons.get(s, "")} for s in statuses]
    assert nothing_ran(cases) == expected
    assert run_exit_status({"cases": cases}) == (1 if expected or "failed" in statuses else 0)
    assert run_exit_status({"cases": cases}, some_case_must_run=False) == (1 if "not_run" in statuses
                                                                           or "failed" in statuses else 0)


# ---------------------------------------------------------------- a config whose answers are not compared

def replies_client(text, exit_status=0):
    return ClientFacts("HTTP", exit_status, compared=False, replies=read_replies(text))


OCR_REPLY = "{'err_no': 0, 'err_msg': '', 'key': ['res'], 'value': [\"['text']\"]}"


def test_answers_not_compared_is_partial_never_passed():
    status, reason = case_status(facts(clients=[replies_client(OCR_REPLY + "\n" + OCR_REPLY)],
                                       answers_not_compared="answers not compared: OCR answers are not classes"))
    assert status == "partial"
    assert reason == "answers not compared: OCR answers are not classes; HTTP 2 replies with err_no 0"


def test_a_reply_with_an_error_fails_the_case():
    bad = OCR_REPLY + '\n{"err_no": 10000, "err_msg": "Failed to inference: Service name error."}'
    status, reason = case_status(facts(clients=[replies_client(bad)], answers_not_compared="answers not compared: x"))
    assert status == "failed"
    assert reason == "HTTP replies: 1 of 2 replies failed: err_no 10000: Failed to inference: Service name error."


def test_a_client_that_printed_no_reply_fails_the_case():
    status, reason = case_status(facts(clients=[replies_client("Traceback ... ConnectionRefusedError")],
                                       answers_not_compared="answers not compared: x"))
    assert status == "failed" and "no pipeline reply" in reason and "'Traceback ... ConnectionRefusedError'" in reason


@pytest.mark.parametrize("text, count, failed", [
    ("{'err_no': 0, 'err_msg': '', 'key': ['label', 'prob'], 'value': [\"['daisy']\", '[0.93]']}", 1, 0),
    ('{"err_no": 0, "err_msg": ""}\n{"err_no": 3, "err_msg": "bad"}', 2, 1),
    ("err_no: 0\nerr_msg: \"\"\nkey: \"res\"", 1, 0),  # a printed gRPC Response (protobuf text)
    ("nothing here", 0, 0),
])
def test_replies_in_each_way_clients_print_them(text, count, failed):
    found = read_replies(text)
    assert (found.count, len(found.failed)) == (count, failed)


def test_a_service_that_died_at_start_because_paddle_refused_a_setting_says_that_first():
    from tipc_serving.verdict.case_status import CaseFacts, case_status
    from tipc_serving.verdict.evidence import NOT_IN_EFFECT, Setting
    refused = Setting("device", "gpu", None, NOT_IN_EFFECT, "Paddle: 'GPU count is: 0.'", op="tipc_example")
    facts = CaseFacts(server_log="server.log", not_ready="service process 7 exited before it was ready",
                      settings=[refused])
    status, reason = case_status(facts)
    assert status == "failed"
    assert reason == ("op tipc_example: device gpu requested, not in effect: Paddle: 'GPU count is: 0.'; "
                      "service not ready: service process 7 exited before it was ready")
