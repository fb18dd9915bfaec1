"""tipc_serving/config/plan.py: what the harness decides from a config before anything starts."""
import sys
from types import SimpleNamespace

import pytest

from conftest import IMAGES, SERVING_DIR
from harnesskit import write_config
from tipc_serving.chain.case import CaseRun
from tipc_serving.chain.context import RunContext
from tipc_serving.config import plan, tipc as tipc_config
from tipc_serving.verdict import tolerance
from tipc_serving.errors import ConfigError

PROJECT_PYTHON = sys.executable


def options(**overrides):
    values = dict(http_port=None, rpc_port=None, ready_timeout=None, gpu="off", require_golden=False, golden_dir=None, shard=None, output_dir="/tmp/out",
                  run_id="r1", stop_grace=10.0, benchmark=False, benchmark_cases="", dialect=None, repo_root=None,
                  seeded_export=False, caller_dir=".")
    values.update(overrides)
    return SimpleNamespace(**values)


def build(config_path, **overrides):
    return plan.build([config_path], options(**overrides), PROJECT_PYTHON)["configs"][0]


@pytest.fixture
def config_path(tmp_path, alexnet_model):
    return write_config(tmp_path / "config.txt", alexnet_model, tmp_path / "converted")


# ---------------------------------------------------------------- the config's python

def fake_interpreter(path, body):
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def test_config_python_not_on_path_falls_back_to_ours():
    python, note = plan.resolve_python("no-such-python3.9", PROJECT_PYTHON)
    assert python == PROJECT_PYTHON and "'no-such-python3.9' is not on PATH" in note


def test_config_python_that_does_not_run_falls_back_to_ours(tmp_path):
    broken = fake_interpreter(tmp_path / "python3.9", 'echo "pyenv: python3.9: command not found" >&2; exit 127')
    python, note = plan.resolve_python(broken, PROJECT_PYTHON)
    assert python == PROJECT_PYTHON and "does not run (pyenv: python3.9: command not found)" in note


def test_config_python_without_the_packages_falls_back_to_ours(tmp_path):
    lacking = fake_interpreter(tmp_path / "python3.9", 'case "$1" in -c) exit 0 ;; esac; echo "paddle: not installed"; exit 1')
    python, note = plan.resolve_python(lacking, PROJECT_PYTHON)
    assert python == PROJECT_PYTHON and "lacks the serving packages (paddle: not installed)" in note


def test_config_python_with_the_packages_is_used():
    python, note = plan.resolve_python(PROJECT_PYTHON, "/somewhere/else/python")
    assert python == PROJECT_PYTHON and note == "using the config's python: {}".format(PROJECT_PYTHON)


# ---------------------------------------------------------------- paths, ports, tolerances

def test_paths_resolve_as_in_tipc(tmp_path, alexnet_model):
    # conversion paths from the repo root, the client's image path from serving_dir
    config = write_config(tmp_path / "config.txt", alexnet_model, tmp_path / "converted", images="../../images/")
    text = config.read_text().replace("serving_dir:{}".format(SERVING_DIR), "serving_dir:./deploy/serving_python")
    config.write_text(text)
    planned = build(config)
    assert planned["serving_dir"] == str(SERVING_DIR)
    assert planned["image_path"] == str(IMAGES)
    clients = planned["cases"][0]["clients"]
    assert clients[0]["argv"][:3] == ["pipeline_http_client.py", "--image_dir", "../../images/"]  # as spelled
    assert clients[0]["cwd"] == str(SERVING_DIR) and clients[0]["compare"]
    assert planned["convert"]["serving_server"] == str(tmp_path / "converted" / "serving_server")


def test_ports_command_line_before_config_override_before_config_yml(tmp_path, alexnet_model):
    plain = write_config(tmp_path / "plain.txt", alexnet_model, tmp_path / "c1")
    assert (build(plain)["http_port"], build(plain)["rpc_port"]) == (18080, 18090)  # config.yml
    pinned = write_config(tmp_path / "pinned.txt", alexnet_model, tmp_path / "c2",
                          extra=['--opt http_port:"18555"', "--opt rpc_port:18556"])
    planned = build(pinned)
    assert (planned["http_port"], planned["rpc_port"]) == (18555, 18556)
    assert not any(o.startswith(("http_port=", "rpc_port=")) for c in planned["cases"] for o in c["opts"])
    assert build(pinned, http_port=19001)["http_port"] == 19001
    assert planned["url"] == "http://127.0.0.1:18555/alexnet/prediction"


def test_equal_ports_are_a_config_error(tmp_path, alexnet_model):
    config = write_config(tmp_path / "config.txt", alexnet_model, tmp_path / "c",
                          extra=["--opt http_port:18600", "--opt rpc_port:18600"])
    with pytest.raises(ConfigError, match="http_port and rpc_port are both 18600"):
        build(config)


@pytest.mark.parametrize("precision, config_atol, expected", [
    ("fp32", None, 1e-3), ("fp16", None, 1e-2), ("int8", None, 5e-2),
    ("fp32", 1e-4, 1e-4), ("fp16", 1e-4, 1e-2), ("fp16", 0.05, 0.05)])
def test_tolerances_per_precision(precision, config_atol, expected):
    tol = tolerance.for_case(precision, config_atol, None)
    assert tol.atol == pytest.approx(expected)
    assert tol.rtol == pytest.approx(tolerance.TOLERANCE_BY_PRECISION[precision][1])


def test_missing_model_that_can_be_exported_is_planned_for_export(tmp_path):
    config = write_config(tmp_path / "config.txt", tmp_path / "not_yet", tmp_path / "c")
    planned = build(config)
    assert planned["model"]["present"] is False
    assert planned["model"]["export_args"][-4:] == ["--model", "alexnet", "--save_dir", str(tmp_path / "not_yet")]


def test_a_missing_image_path_names_its_line(tmp_path, alexnet_model):
    config = write_config(tmp_path / "config.txt", alexnet_model, tmp_path / "c", images=tmp_path / "nowhere")
    with pytest.raises(ConfigError) as info:
        build(config)
    line = tipc_config.parse(config).lines["--image_dir"]
    assert str(info.value).startswith("{}:{}: key '--image_dir': image path not found".format(config, line))


# ---------------------------------------------------------------- from the plan to the service's command

def test_tricky_values_reach_the_service_command_unchanged(tmp_path, config_path):
    """Plan values travel as JSON and argv lists, never through a shell: quotes, $, ` and ; stay as written."""
    planned = plan.build([config_path], options(output_dir=str(tmp_path / "out")), PROJECT_PYTHON)
    tricky = "it's a \"quoted\" $HOME `value` with spaces; & more"
    planned["configs"][0]["python"] = tricky
    planned["configs"][0]["cases"][0]["service"]["argv"].append("op.alexnet.topk={}".format(tricky))
    run_dir = planned["configs"][0]["run_dir"]
    case = CaseRun(RunContext(run_dir, planned), planned["configs"][0]["cases"][0])
    argv = case.service_argv()
    assert argv[0] == tricky and argv[-1] == "op.alexnet.topk={}".format(tricky)
    assert argv[1:] == planned["configs"][0]["cases"][0]["service"]["argv"]
    assert argv[1:5] == ["web_service.py", "--config=config.yml", "--name", "alexnet"]
    assert run_dir == str(tmp_path / "out" / "alexnet" / "serving_python" / "r1")


@pytest.mark.parametrize("line, problem", [
    ("--opt op.alexnet.local_service_conf.use_mkdnn:True",
     "unknown key 'op.alexnet.local_service_conf.use_mkdnn': neither config.yml nor Paddle Serving's pipeline has "
     "it (did you mean 'use_mkldnn'?)"),
    ("--opt op.alexnet.local_servce_conf.mem_optim:True",
     "unknown key 'op.alexnet.local_servce_conf': neither config.yml nor Paddle Serving's pipeline has it (did you "
     "mean 'local_service_conf'?)"),
    ("--opt op.alexnet.concurrency:two", "expected an integer, got 'two'"),
    ("--opt dag.is_thread_op:maybe", "expected True or False, got 'maybe'"),
])
def test_every_fixed_opt_key_and_value_is_checked_against_config_yml_before_anything_runs(tmp_path, alexnet_model,
                                                                                         line, problem):
    config = write_config(tmp_path / "config.txt", alexnet_model, tmp_path / "c", extra=[line])
    with pytest.raises(ConfigError) as caught:
        build(config)
    number = config.read_text().split("\n").index(line) + 1
    key = line.rsplit(":", 1)[0]
    assert str(caught.value).startswith("{}:{}: key '{}': --opt {}".format(config, number, key, key[len("--opt "):]))
    assert str(caught.value).endswith(problem), str(caught.value)


def test_quoted_values_are_read_as_the_scripts_eval_reads_them(tmp_path, alexnet_model):
    config = write_config(tmp_path / "config.txt", alexnet_model, tmp_path / "c",
                          extra=['--opt op.alexnet.concurrency:"2"'])
    assert build(config)["cases"][0]["opts"][-1] == 'op.alexnet.concurrency="2"'
