"""Issue 20, the engine level: the capture hook (tipc_serving/service/capture/sitecustomize.py) records what a
served LocalPredictor computed, chain/replay.py replays it through Paddle Inference on the original model, and
verdict/tensors.py compares every output; the case's status follows (verdict/case_status.py).

The fast tests drive Paddle Serving's own LocalPredictor in a child process with the hook on its path (as the
case runner puts it on the service's), on a tiny two-output model (float probabilities and an int64 argmax);
the slow ones capture inside a real pipeline service, in process and thread mode.
"""
import json
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import PYTHON, clean_env
from tipc_serving.chain import capture
from tipc_serving.chain.replay import replay
from tipc_serving.verdict import tolerance
from tipc_serving.verdict.case_status import CaseFacts, ClientFacts, case_status
from tipc_serving.verdict.tensors import TensorCheck, compare_pair, new_figures

CPU = {"use_gpu": False, "use_mkldnn": False, "ir_optim": False, "precision": "fp32"}

EXPORT = textwrap.dedent("""
    import sys, paddle
    from paddle import nn
    paddle.seed(int(sys.argv[2]))
    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2D(3, 4, 3, stride=2)
            self.fc = nn.Linear(4, 5)
        def forward(self, x):
            logits = self.fc(paddle.flatten(nn.functional.adaptive_avg_pool2d(self.conv(x), 1), 1))
            return nn.functional.softmax(logits), paddle.argmax(logits, axis=1)
    net = Net(); net.eval()
    net = paddle.jit.to_static(net, input_spec=[paddle.static.InputSpec([None, 3, 16, 16], "float32", name="x")])
    paddle.jit.save(net, sys.argv[1] + "/inference")
""")

SERVE = textwrap.dedent("""
    import sys, numpy as np
    from paddle_serving_app.local_predict import LocalPredictor
    predictor = LocalPredictor()
    kwargs = {"use_mkldnn": True, "ir_optim": True} if sys.argv[3] == "onednn" else {}
    predictor.load_model_config(sys.argv[1], thread_num=1, **kwargs)
    fetch = predictor.fetch_names_[:1]  # the service's postprocess reads only the first output
    for seed in range(int(sys.argv[2])):
        x = np.random.RandomState(seed).rand(3, 16, 16).astype("float32")
        print(sorted(predictor.predict(feed={"x": x}, fetch=fetch, batch=False)))
""")


def _run(args, **env):
    result = subprocess.run([PYTHON, *map(str, args)], env=clean_env(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


def _export_and_convert(folder, seed):
    folder.mkdir(parents=True)
    (folder / "export.py").write_text(EXPORT)  # to_static reads the network's source from a file
    _run([folder / "export.py", folder / "infer", seed])
    _run(["-m", "paddle_serving_client.convert", "--dirname", folder / "infer", "--model_filename",
          "inference.pdmodel", "--params_filename", "inference.pdiparams", "--serving_server", folder / "server",
          "--serving_client", folder / "client"])
    return folder


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Two exports of the same network from different seeds: 'a' (the config's) and 'b' (another export)."""
    root = tmp_path_factory.mktemp("exports")
    return {name: _export_and_convert(root / name, seed) for name, seed in (("a", 0), ("b", 1))}


def models_for(served, original):
    return [{"role": "model", "serving_server": str(served / "server"), "served_as": [],
             "dirname": str(original / "infer"), "model_filename": "inference.pdmodel",
             "params_filename": "inference.pdiparams"}]


def serve_locally(tmp_path, served, requests=3, mode="plain", hook=None, limit=None):
    """Paddle Serving's LocalPredictor in a child process with the capture environment the case runner gives
    a service; returns its capture folder."""
    environ = dict(clean_env(), **({capture.HOOK_ENV: str(hook)} if hook else {}),
                   **({capture.LIMIT_ENV: str(limit)} if limit else {}))
    env = capture.capture_env(tmp_path, environ)
    output = _run(["-c", SERVE, served / "server", requests, mode], **env)
    assert output.count("['softmax_0.tmp_0']") == requests or "tmp" in output, output[-2000:]
    return capture.capture_dir(tmp_path)


# ---------------------------------------------------------------- the comparison itself

def test_float_within_tolerance_passes_and_reports_the_least_tolerance():
    figures = new_figures("op", "prob", True, CPU)
    ref = np.array([[0.5, 0.25]], dtype=np.float32)
    compare_pair(figures, "r0", ref + np.float32(2e-6), ref)
    assert figures.passed and figures.tensors == 1
    assert figures.max_abs_diff == pytest.approx(2e-6, rel=0.1) and figures.max_abs_where.startswith("r0 [0, ")
    assert figures.least_atol < figures.max_abs_diff  # the row's rtol covers part of it


def test_each_kind_of_difference_fails_naming_it():
    ref = np.array([[0.5, 0.25]], dtype=np.float32)
    cases = {"outside atol": (ref + np.float32(1e-3), ref), "NaN/Inf": (np.array([[np.nan, 0.25]], np.float32), ref),
             "dtype float64 served": (ref.astype(np.float64), ref), "shape [1, 1] served": (ref[:, :1], ref),
             "integers must be equal": (np.array([3, 1]), np.array([3, 2]))}
    for expected, (served, reference) in cases.items():
        figures = new_figures("op", "out", True, CPU)
        compare_pair(figures, "r0", served, reference)
        assert not figures.passed and expected in figures.problems[0], (expected, figures.problems)
    figures = new_figures("op", "out", True, CPU)
    compare_pair(figures, "r0", ref, ref, [0, 1], [0, 2])
    assert "LoD [0, 1] served, [0, 2]" in figures.problems[0]


def test_variable_shapes_across_requests_are_compared_each_on_its_own():
    figures = new_figures("rec", "softmax", True, CPU)
    for boxes in (1, 4, 7):
        values = np.random.RandomState(boxes).rand(boxes, 40, 97).astype(np.float32)
        compare_pair(figures, "r{}".format(boxes), values, values.copy())
    assert figures.passed and figures.tensors == 3 and len(figures.shapes) == 3


def test_the_tolerance_follows_the_engine_the_op_ran():
    assert tolerance.for_tensor(CPU, "x")[1] == "cpu fp32"
    onednn = dict(CPU, use_mkldnn=True, ir_optim=True)
    assert tolerance.for_tensor(onednn, "x") == (tolerance.TENSOR_TOLERANCE[("cpu_onednn", "fp32")], "cpu oneDNN fp32")
    assert tolerance.for_tensor(dict(CPU, use_mkldnn=True), "x")[1] == "cpu fp32"  # oneDNN needs IR optim
    trt = dict(CPU, use_gpu=True, use_trt=True, precision="fp16")
    assert tolerance.for_tensor(trt, "x")[1] == "gpu TensorRT fp16"
    assert tolerance.for_tensor(CPU, "boxes", {"boxes": (0.5, 0)}) == (tolerance.Tolerance(0.5, 0), "override for boxes")


# ---------------------------------------------------------------- the verdict

def _facts(check, dialect=False):
    return CaseFacts(clients=[ClientFacts("HTTP", 0)], tensors=check,
                     answers_not_compared="answers not compared: x" if dialect else None)


def test_a_dialect_passes_only_when_its_tensors_were_compared():
    matched = TensorCheck(ops=[{}], fetches=[new_figures("op", "out", True, CPU)])
    compare_pair(matched.fetches[0], "r0", np.ones(2, np.float32), np.ones(2, np.float32))
    assert case_status(_facts(matched, dialect=True))[0] == "passed"
    assert case_status(_facts(None, dialect=True))[0] == "partial"
    assert case_status(_facts(TensorCheck(unavailable="no original"), dialect=True))[0] == "partial"
    missing = TensorCheck(problems=["capture did not happen: no process of the service loaded the capture hook"])
    for dialect in (True, False):
        status, reason = case_status(_facts(missing, dialect))
        assert status == "failed" and "capture did not happen" in reason


# ---------------------------------------------------------------- capture and replay, Paddle Serving's predictor

def test_replay_of_a_correct_predictor_passes_and_compares_an_output_nobody_fetched(tmp_path, exports):
    folder = serve_locally(tmp_path, exports["a"], requests=3, limit=2)
    assert len(list(folder.glob("*.npz"))) == 2  # bounded per op
    check = replay(folder, models_for(exports["a"], exports["a"]))
    assert not check.failed and not check.unavailable, check.summary_line()
    by_name = {f.name: f for f in check.fetches}
    assert sorted(by_name) == ["argmax_0.tmp_0", "softmax_0.tmp_0"]
    assert sorted(f.fetched for f in check.fetches) == [False, True]  # the one no postprocess reads: compared too
    assert by_name["argmax_0.tmp_0"].exact and all(f.tensors == 2 for f in check.fetches)
    assert check.ops[0]["original"][0] == str(exports["a"] / "infer")
    assert "cpu fp32" in check.summary_line()


def test_a_stale_conversion_fails_naming_the_fetch_and_the_difference(tmp_path, exports):
    """The service serves export 'b' while the config's --dirname is export 'a'."""
    folder = serve_locally(tmp_path, exports["b"], requests=2)
    check = replay(folder, models_for(exports["b"], exports["a"]))
    assert check.failed
    line = check.summary_line()
    assert "softmax_0.tmp_0" in line and "outside atol 1e-05" in line and "max abs diff" in line, line
    assert case_status(_facts(check, dialect=True))[0] == "failed"


def test_a_onednn_op_is_judged_with_its_own_tolerance(tmp_path, exports):
    folder = serve_locally(tmp_path, exports["a"], requests=2, mode="onednn")
    check = replay(folder, models_for(exports["a"], exports["a"]))
    assert not check.failed, check.summary_line()
    assert {f.tolerance["why"] for f in check.fetches} == {"cpu oneDNN fp32"}
    assert "cpu oneDNN fp32" in check.summary_line()


def test_a_hook_that_fails_to_load_is_never_a_pass(tmp_path, exports):
    broken = tmp_path / "broken_hook"
    broken.mkdir()
    (broken / "sitecustomize.py").write_text("raise ImportError('the capture module is broken')\n")
    folder = serve_locally(tmp_path / "case", exports["a"], requests=1, hook=broken)
    log = tmp_path / "server.log"
    log.write_text("Error in sitecustomize; set PYTHONVERBOSE for traceback:\nImportError: the capture module is broken\n")
    check = replay(folder, models_for(exports["a"], exports["a"]), str(log))
    status, reason = case_status(_facts(check, dialect=True))
    assert status == "failed"
    assert "capture did not happen: no process of the service loaded the capture hook" in reason
    assert "the capture module is broken" in reason


def test_an_op_whose_model_no_conversion_writes_is_not_compared(tmp_path, exports):
    folder = serve_locally(tmp_path, exports["a"], requests=1)
    check = replay(folder, models_for(exports["b"], exports["b"]))
    assert check.unavailable and "no conversion of the config writes" in check.unavailable
    assert case_status(_facts(check, dialect=True))[0] == "partial"


def test_the_replay_command_writes_its_document(tmp_path, exports):
    folder = serve_locally(tmp_path, exports["a"], requests=1)
    models = tmp_path / "models.json"
    models.write_text(json.dumps({"models": models_for(exports["a"], exports["a"])}))
    _run(["-m", "tipc_serving", "replay", folder, models, tmp_path / "out.json"])
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["passed"] and len(document["fetches"]) == 2 and document["max_abs_diff"] == 0


# ---------------------------------------------------------------- a real pipeline service

@pytest.mark.slow
@pytest.mark.parametrize("process_mode", [True, False], ids=["process", "thread"])
def test_the_hook_captures_in_a_real_service(tmp_path, small_model, process_mode):
    from conftest import IMAGES, convert_model
    from servicekit import running_service

    (tmp_path / "converted").mkdir()
    served = convert_model(small_model, tmp_path / "converted")
    environ = clean_env()
    env = capture.capture_env(tmp_path / "case", environ)
    opts = ["--opt", "dag.is_thread_op={}".format(not process_mode)]
    images = [(p.name, p.read_bytes()) for p in sorted(Path(IMAGES).iterdir()) if p.suffix in (".jpg", ".png")][:2]
    with running_service(served, tmp_path / "work", name="mobilenet_v3_small", opts=opts, env=env) as service:
        for image in images:
            assert service.classify([image])["err_no"] == 0
    folder = capture.capture_dir(tmp_path / "case")
    files = list(folder.glob("*-pid*.npz"))
    assert len(files) == len(images), list(folder.iterdir())
    models = [{"role": "model", "serving_server": str(served), "served_as": [], "dirname": str(small_model),
               "model_filename": "inference.pdmodel", "params_filename": "inference.pdiparams"}]
    check = replay(folder, models)
    assert not check.failed and not check.unavailable, check.summary_line()
    assert sum(f.tensors for f in check.fetches) >= len(images)
