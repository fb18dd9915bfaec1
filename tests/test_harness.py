"""test_tipc/test_serving.sh end to end, with the real service, clients and checker (issue 4)."""
import re
import shutil

import pytest

from conftest import convert_model, export_model
from harnesskit import CPU_CASES, GPU_CASES, ONE_CASE, STATUS_LINE, config_for, run_harness, step

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def green_run(tmp_path_factory):
    """The project's own AlexNet config, as the README runs it (GPU forced off for a stable matrix), with the
    golden check required as nightly CI should run it."""
    return run_harness(["configs/alexnet_serving.txt"], tmp_path_factory.mktemp("green") / "output",
                       extra=["--require-golden"])


def test_green_run_passes_every_cpu_case(green_run):
    assert green_run.result.returncode == 0, green_run.output[-4000:]
    results = green_run.results
    assert results["state"] == "finished"
    statuses = {c["name"]: c["status"] for c in results["cases"]}
    assert statuses == {**{n: "passed" for n in CPU_CASES}, **{n: "skipped" for n in GPU_CASES}}
    for name in CPU_CASES:
        check = green_run.case(name)["check"]
        assert check["images"] == 4 and check["images_ok"] == 4, check
        assert check["max_abs_diff"] < 1e-4, check  # the same model and preprocessing: far inside 1e-3
        assert green_run.case(name)["rpc_check"]["images_ok"] == 4
    assert step(results, "golden")["status"] == "passed"


def test_green_run_proves_each_setting_with_paddles_own_output(green_run):
    for name in CPU_CASES:
        case = green_run.case(name)
        mkldnn = case["requested"]["use_mkldnn"]
        # oneDNN needs IR optimisation: a oneDNN case asks for both; the others keep config.yml's (on too)
        assert case["requested"]["ir_optim"] is True
        effective = case["effective"]
        assert {key: setting["status"] for key, setting in effective.items()} == dict.fromkeys(
            ("device", "ir_optim", "use_mkldnn", "thread_num"), "in effect"), effective
        assert effective["use_mkldnn"]["effective"] is mkldnn
        if mkldnn:
            assert "--- Running IR pass [mkldnn_placement_pass]" in effective["use_mkldnn"]["evidence"]
            assert "oneDNN v" in effective["use_mkldnn"]["evidence"]
        assert effective["thread_num"]["effective"] == int(case["settings"]["thread_num"])


def test_green_runs_mkldnn_answers_are_within_tolerance_but_not_those_of_its_twin(green_run):
    for threads in (1, 2):
        mkldnn = (green_run.run_dir / "cpu_usemkldnn_True_threads_{}".format(threads) / "client.log").read_text()
        plain = (green_run.run_dir / "cpu_usemkldnn_False_threads_{}".format(threads) / "client.log").read_text()
        assert mkldnn != plain, "oneDNN computes differently: identical answers would mean it never ran"
        assert green_run.case("cpu_usemkldnn_True_threads_{}".format(threads))["status"] == "passed"


def test_green_run_lists_gpu_cases_as_skipped_with_the_reason(green_run):
    for name in GPU_CASES:
        case = green_run.case(name)
        assert case["status"] == "skipped" and case["reason"] == "skipped: no GPU (--gpu off)"
    assert "SKIPPED" in green_run.result.stdout and "skipped: no GPU" in green_run.result.stdout


def test_green_run_writes_tipc_status_lines(green_run):
    lines = green_run.status_lines
    pattern = re.compile(STATUS_LINE.format(model="alexnet"))
    assert lines and all(pattern.match(line) for line in lines), lines
    assert all(line.startswith("Run successfully") for line in lines)
    # (export, when the model was missing,) convert, reference, golden, and per CPU case: service,
    # HTTP client, gRPC client, two checks, the replay of its captured tensors
    exported = [s for s in green_run.results["steps"] if s["name"] == "export" and s["status"] == "passed"]
    assert len(lines) == len(exported) + 3 + 6 * len(CPU_CASES)
    for line in lines:
        log_path = line.rsplit(" - ", 1)[1].rstrip("!")
        assert green_run.run_dir.joinpath(log_path).exists() or __import__("os").path.exists(log_path), line


def test_green_run_writes_junit_and_per_case_logs(green_run):
    suite = green_run.junit.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("7", "0", "3")
    for name in CPU_CASES:
        case_dir = green_run.run_dir / name
        for log in ("server.log", "client.log", "rpc_client.log", "check.log"):
            assert (case_dir / log).stat().st_size > 0, log
        assert (case_dir / "PipelineServingLogs").is_dir()
    assert green_run.run_dir.is_symlink() and green_run.run_dir.resolve() == green_run.run_dirs[-1]


def test_green_run_prints_a_summary_and_leaves_no_process(green_run):
    assert "alexnet: 4 passed, 0 failed, 3 skipped, 0 not run" in green_run.result.stdout
    assert len(green_run.started_groups()) == len(CPU_CASES)
    assert green_run.leftovers() == {}


# ---------------------------------------------------------------- a verdict that can fail

@pytest.fixture(scope="module")
def other_weights(tmp_path_factory):
    """AlexNet from seed 1, converted: a model that answers differently from the seed-0 reference."""
    root = tmp_path_factory.mktemp("seed1")
    return convert_model(export_model(root / "alexnet_infer", seed=1), root)


def test_model_converted_from_other_weights_fails(tmp_path, alexnet_model, other_weights):
    config = config_for(tmp_path, alexnet_model, extra=[
        "--opt op.alexnet.local_service_conf.model_config:{}".format(other_weights)])
    run = run_harness([config], tmp_path / "out")
    assert run.result.returncode == 1, run.output[-3000:]
    case = run.case(ONE_CASE)
    assert case["status"] == "failed"
    assert "HTTP answers: FAIL" in case["reason"] and "gRPC answers: FAIL" in case["reason"]
    check_log = (run.run_dir / ONE_CASE / "check.log").read_text()
    assert "class_mismatch" in check_log  # the readable diff names what differs
    assert any(line.startswith("Run failed with command") and "compare_results.py" in line for line in run.status_lines)
    assert run.leftovers() == {}


def test_service_with_altered_preprocessing_fails(tmp_path, alexnet_model):
    run = run_harness([config_for(tmp_path, alexnet_model)], tmp_path / "out",
                      env={"TIPC_SERVING_TEST_INPUT_SHIFT": "0.5"})
    assert run.result.returncode == 1
    case = run.case(ONE_CASE)
    assert case["status"] == "failed" and "answers: FAIL" in case["reason"], case
    assert case["check"]["max_abs_diff"] > 1e-3


def test_client_error_replies_fail_the_case(tmp_path, alexnet_model):
    # A fetch name the model does not have: every request is answered with err_no 5000.
    config = config_for(tmp_path, alexnet_model, extra=[
        "--opt op.alexnet.local_service_conf.fetch_list:[no_such_tensor]"])
    run = run_harness([config], tmp_path / "out")
    assert run.result.returncode == 1
    reason = run.case(ONE_CASE)["reason"]
    assert "HTTP client exit status 1" in reason and "err_no 5000" in reason, reason
    assert "gRPC client exit status 1" in reason
    assert run.leftovers() == {}


@pytest.fixture
def broken_model(tmp_path, alexnet_serving_server):
    """A converted model folder whose parameters are cut short: the predictor cannot load them."""
    folder = tmp_path / "broken_model"
    folder.mkdir()
    for path in alexnet_serving_server.iterdir():
        if path.suffix != ".pdiparams":
            shutil.copy(path, folder / path.name)
    params = (alexnet_serving_server / "inference.pdiparams").read_bytes()
    (folder / "inference.pdiparams").write_bytes(params[:1000])
    return folder


def test_service_that_crashes_at_start_fails_before_the_deadline(tmp_path, alexnet_model, broken_model):
    config = config_for(tmp_path, alexnet_model, extra=[
        "--opt op.alexnet.local_service_conf.model_config:{}".format(broken_model)])
    run = run_harness([config], tmp_path / "out", extra=["--ready-timeout", "300"])
    assert run.result.returncode == 1
    reason = run.case(ONE_CASE)["reason"]
    assert reason.startswith("service not ready:"), reason
    assert "did not answer" not in reason  # it saw the death, it did not wait out the deadline
    assert str(run.run_dir.resolve() / ONE_CASE / "server.log") in reason
    assert run.leftovers() == {}


def test_corrupt_model_program_is_refused_by_the_service(tmp_path, alexnet_model, broken_model):
    (broken_model / "inference.pdmodel").write_bytes(b"not a program")
    config = config_for(tmp_path, alexnet_model, extra=[
        "--opt op.alexnet.local_service_conf.model_config:{}".format(broken_model)])
    run = run_harness([config], tmp_path / "out")
    reason = run.case(ONE_CASE)["reason"]
    assert "exited" in reason and "exit status: 1" in reason, reason
    assert "not a Paddle inference program" in (run.run_dir / ONE_CASE / "server.log").read_text()


# ---------------------------------------------------------------- config errors start nothing

def test_config_error_is_one_line_exit_2_and_starts_nothing(tmp_path, alexnet_model):
    config = config_for(tmp_path, alexnet_model)
    text = config.read_text().replace("--opt op.alexnet.local_service_conf.thread_num:2",
                                      "--opt op.alexnet.local_service_conf.thread_num:two")
    config.write_text(text)
    run = run_harness([config], tmp_path / "out")
    assert run.result.returncode == 2
    errors = [line for line in run.result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "Traceback" not in run.output, run.result.stderr
    assert re.match(r"^plan: error: {}:\d+: key '(--opt )?op\.alexnet\.local_service_conf\.thread_num'".format(
        re.escape(str(config))), errors[0]), errors[0]
    assert not (tmp_path / "out").exists()
