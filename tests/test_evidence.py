"""verdict/evidence.py: a setting counts only when Paddle's own output proves it (lines as Paddle 2.5.2 prints them)."""
from pathlib import Path

import pytest

from tipc_serving.verdict.evidence import (IN_EFFECT, NOT_CHECKED, NOT_IN_EFFECT, any_gpu, judge_settings, ops_of,
                                           requested_settings, same_model, settings_problem)

PIPELINE_LOG_CPU = ("INFO 2026-11-30 15:28:31,830 [local_predict.py:157] LocalPredictor load_model_config params: "
                    "model_path:/m/serving_server, use_gpu:False, gpu_id:-1, use_profile:False, thread_num:2, "
                    "mem_optim:True, ir_optim:True, use_trt:False, use_lite:False, use_xpu:False, precision:fp32, "
                    "use_calib:False, use_mkldnn:True, mkldnn_cache_capacity:0, mkldnn_op_list:None\n")
PIPELINE_LOG_GPU = PIPELINE_LOG_CPU.replace("use_gpu:False, gpu_id:-1", "use_gpu:True, gpu_id:0")
IR_OFF = "I1130 15:28:26.256505  6432 analysis_predictor.cc:1563] Ir optimization is turned off, no ir pass will be executed.\n"
MKLDNN_IGNORED = ("E1130 15:28:26.251634  6432 analysis_config.cc:926] EnableMKLDNN() only works when IR optimization "
                  "is enabled.\n")
# Paddle colours its pass lines; the colour codes are part of the log
IR_PASSES = "\x1b[32m--- Running IR pass [simplify_with_basic_ops_pass]\x1b[0m\n\x1b[32m--- Running IR pass [fc_fuse_pass]\x1b[0m\n"
MKLDNN_RAN = ("\x1b[32m--- Running IR pass [mkldnn_placement_pass]\x1b[0m\n" + IR_PASSES
              + "I1130 15:28:31.981848  8866 onednn_context.cc:81] oneDNN v2.7.3\n")
TRT_RAN = ("\x1b[32m--- Running IR pass [tensorrt_subgraph_pass]\x1b[0m\n"
           "I1130 1:1:1.1 1 tensorrt_subgraph_pass.cc:1] ---  detect a sub-graph with 20 nodes\n"
           "I1130 1:1:1.1 1 tensorrt_subgraph_pass.cc:2] Prepare TRT engine (Optimize model structure, Select OP "
           "kernel etc). This process may cost a lot of time.\n"
           "I1130 1:1:1.1 1 device_context.cc:1] Please NOTE: device: 0, GPU Compute Capability: 9.0\n")
CPU = {"device": "cpu", "ir_optim": True, "use_mkldnn": True, "thread_num": 2}
GPU = {"device": "gpu", "ir_optim": True, "use_trt": True, "precision": "fp16"}


def by_key(settings):
    return {s.key: s for s in settings}


def test_mkldnn_with_ir_optimisation_is_proven_by_the_placement_pass_and_the_onednn_kernel():
    settings = by_key(judge_settings(CPU, MKLDNN_RAN, PIPELINE_LOG_CPU))
    assert all(s.status == IN_EFFECT for s in settings.values()), settings
    assert settings["use_mkldnn"].evidence == ("Paddle: '--- Running IR pass [mkldnn_placement_pass]' and "
                                               "Paddle: 'onednn_context.cc:81] oneDNN v2.7.3'")
    assert settings["thread_num"].effective == 2 and "thread_num:2" in settings["thread_num"].evidence
    assert settings["device"].effective == "cpu"


def test_mkldnn_without_ir_optimisation_is_not_in_effect_quoting_paddle():
    requested = dict(CPU, ir_optim=False)
    settings = by_key(judge_settings(requested, MKLDNN_IGNORED * 3 + "MKLDNN is enabled\n" + IR_OFF, PIPELINE_LOG_CPU))
    mkldnn = settings["use_mkldnn"]
    assert (mkldnn.status, mkldnn.effective) == (NOT_IN_EFFECT, False)
    assert mkldnn.describe() == ("use_mkldnn True requested, not in effect: Paddle: 'analysis_config.cc:926] "
                                 "EnableMKLDNN() only works when IR optimization is enabled.'")
    assert settings["ir_optim"].status == IN_EFFECT and settings["ir_optim"].effective is False


@pytest.mark.parametrize("log, why", [
    (IR_PASSES, "no '--- Running IR pass [mkldnn_placement_pass]' in server.log"),
    ("\x1b[32m--- Running IR pass [mkldnn_placement_pass]\x1b[0m\n", "but no oneDNN kernel ran"),
])
def test_mkldnn_lacking_its_proof_is_not_in_effect(log, why):
    mkldnn = by_key(judge_settings(CPU, log, PIPELINE_LOG_CPU))["use_mkldnn"]
    assert mkldnn.status == NOT_IN_EFFECT and why in mkldnn.evidence
    # not refused by Paddle, only unproven: without an answer (a service that hung) it is no fact at all
    assert not mkldnn.refused and "refused" not in mkldnn.as_dict()


def test_settings_off_are_proven_by_the_absence_of_their_lines_once_paddle_is_heard():
    settings = by_key(judge_settings(dict(CPU, use_mkldnn=False, ir_optim=False), IR_OFF, PIPELINE_LOG_CPU))
    assert settings["use_mkldnn"].status == IN_EFFECT and settings["ir_optim"].status == IN_EFFECT


def test_without_paddles_predictor_lines_nothing_is_proven():
    settings = by_key(judge_settings(CPU, "web_service.py: started\n", PIPELINE_LOG_CPU))
    assert {k: s.status for k, s in settings.items()} == {
        "device": IN_EFFECT, "ir_optim": NOT_CHECKED, "use_mkldnn": NOT_CHECKED, "thread_num": NOT_CHECKED}
    assert "none of Paddle Inference's predictor lines" in settings["use_mkldnn"].evidence


def test_thread_num_not_logged_is_not_checked():
    setting = by_key(judge_settings(CPU, MKLDNN_RAN, ""))["thread_num"]
    assert setting.status == NOT_CHECKED and "LocalPredictor" in setting.evidence


def test_tensorrt_fp16_is_proven_by_the_engine_and_the_fp16_line():
    log = IR_PASSES + TRT_RAN + "Run Paddle-TRT FP16 mode\n"
    settings = by_key(judge_settings(GPU, log, PIPELINE_LOG_GPU))
    assert all(s.status == IN_EFFECT for s in settings.values()), settings
    assert settings["device"].effective == "gpu" and "Please NOTE: device: 0" in settings["device"].evidence


def test_tensorrt_skipped_without_ir_optimisation_is_not_in_effect():
    settings = by_key(judge_settings(dict(GPU, ir_optim=False), IR_OFF + "TensorRT subgraph engine is enabled\n",
                                     PIPELINE_LOG_GPU, gpu_memory_mb=800))
    assert settings["use_trt"].status == NOT_IN_EFFECT
    assert settings["use_trt"].evidence == "no '--- Running IR pass [tensorrt_subgraph_pass]' in server.log"
    assert settings["precision"].status == NOT_IN_EFFECT and settings["precision"].effective == "fp32"
    assert settings["device"].status == IN_EFFECT and "800 MB of GPU memory" in settings["device"].evidence


def test_fp16_refused_by_the_hardware_is_fp32():
    log = IR_PASSES + TRT_RAN + ("W1 1 1 engine.cc:1] You specify FP16 mode, but the hardware do not support FP16 "
                                 "speed up, use FP32 instead.\n")
    precision = by_key(judge_settings(GPU, log, PIPELINE_LOG_GPU))["precision"]
    assert (precision.status, precision.effective) == (NOT_IN_EFFECT, "fp32") and "use FP32 instead" in precision.evidence


def test_int8_cannot_be_proven():
    precision = by_key(judge_settings(dict(GPU, precision="int8"), IR_PASSES + TRT_RAN, PIPELINE_LOG_GPU))["precision"]
    assert precision.status == NOT_CHECKED


def test_gpu_asked_for_but_never_used_is_not_in_effect():
    device = by_key(judge_settings(GPU, IR_PASSES, PIPELINE_LOG_GPU))["device"]
    assert device.status == NOT_IN_EFFECT and "use_gpu:True" in device.evidence


@pytest.mark.parametrize("conf, expected", [
    ({"devices": "", "device_type": -1, "thread_num": 2, "ir_optim": False, "use_mkldnn": False},
     {"device": "cpu", "ir_optim": False, "use_mkldnn": False, "thread_num": 2}),
    ({"devices": "0", "device_type": -1, "precision": "fp32"},
     {"device": "gpu", "ir_optim": False, "use_trt": False, "precision": "fp32"}),
    ({"devices": "0", "device_type": 2, "precision": "FP16", "ir_optim": True},
     {"device": "gpu", "ir_optim": True, "use_trt": True, "precision": "fp16"}),
    ({"devices": "0", "device_type": 0, "use_mkldnn": True, "ir_optim": True},
     {"device": "cpu", "ir_optim": True, "use_mkldnn": True, "thread_num": 2}),
])
def test_requested_settings_follow_paddle_servings_device_rules(conf, expected):
    assert requested_settings(conf) == expected


@pytest.mark.parametrize("requested, problem", [
    (dict(CPU, ir_optim=False), "use_mkldnn True needs ir_optim True"),
    (dict(GPU, ir_optim=False), "use_trt True needs ir_optim True"),
    (CPU, None),
    (GPU, None),
])
def test_settings_paddle_would_not_honour_are_named(requested, problem):
    found = settings_problem(requested)
    assert (found is None) if problem is None else problem in found


# ---------------------------------------------------------------- several ops: each on its own lines
# Lines as a real two-op PaddleOCR service (det + rec, process mode) wrote them: Paddle Serving's LocalPredictor
# line per op in pipeline.log, and in server.log each op process's glog lines under its own thread id.

def local_predictor(model_path, thread_num, use_gpu=False, use_mkldnn=False, ir_optim=True):
    return ("INFO 2026-12-07 13:20:28,081 [local_predict.py:157] LocalPredictor load_model_config params: "
            "model_path:{}, use_gpu:{}, gpu_id:{}, use_profile:False, thread_num:{}, mem_optim:True, ir_optim:{}, "
            "use_trt:False, use_lite:False, use_xpu:False, precision:fp32, use_calib:False, use_mkldnn:{}, "
            "mkldnn_cache_capacity:0, mkldnn_op_list:None\n").format(model_path, use_gpu, 0 if use_gpu else -1,
                                                                     thread_num, ir_optim, use_mkldnn)


def predictor_lines(pid, fetch, mkldnn=False, ir_optim=True):
    glog = "I1207 13:20:28.116256 {} ".format(pid)
    lines = [glog + "analysis_predictor.cc:1471] MKLDNN is enabled"] if mkldnn else []
    lines += [glog + ("fuse_pass_base.cc:59] ---  detected 2 subgraphs" if ir_optim else
                      "analysis_predictor.cc:1563] Ir optimization is turned off, no ir pass will be executed."),
              glog + "analysis_predictor.cc:1660] ======= optimize end =======",
              glog + "naive_executor.cc:164] ---  skip [feed], feed -> x",
              glog + "naive_executor.cc:164] ---  skip [{}], fetch -> fetch".format(fetch)]
    if mkldnn:
        lines.append(glog + "onednn_context.cc:81] oneDNN v2.7.3")
    return lines


def interleaved(*groups):
    """Two processes writing one server.log: their lines mixed, with the colour pass lines nobody owns."""
    mixed = ["\x1b[32m--- Running IR pass [mkldnn_placement_pass]\x1b[0m"]
    for index in range(max(len(group) for group in groups)):
        mixed += [group[index] for group in groups if index < len(group)]
    return "\n".join(mixed) + "\n"


@pytest.fixture
def ocr_models(tmp_path):
    """The two ops' converted models: their fetch variables tell their predictors' lines apart."""
    models = {}
    for op, fetch in (("det", "sigmoid_0.tmp_0"), ("rec", "softmax_11.tmp_0")):
        folder = tmp_path / "deploy" / "pdserving" / "ppocr_{}_v3_serving".format(op)
        folder.mkdir(parents=True)
        (folder / "serving_server_conf.prototxt").write_text(
            'feed_var {{\n  name: "x"\n  alias_name: "x"\n}}\nfetch_var {{\n  name: "{0}"\n  alias_name: "{0}"\n}}\n'
            .format(fetch))
        models[op] = str(folder)
    return models


def two_ops(models, det=None, rec=None):
    return {"ops": {"det": {**CPU, "use_mkldnn": False, "thread_num": 6, "model": models["det"], **(det or {})},
                    "rec": {**CPU, "use_mkldnn": False, "thread_num": 2, "model": models["rec"], **(rec or {})}}}


@pytest.mark.parametrize("rec_first", [False, True])
def test_each_op_is_judged_on_its_own_lines_whichever_logs_first(ocr_models, rec_first):
    det = predictor_lines(21063, "sigmoid_0.tmp_0")
    rec = predictor_lines(21080, "softmax_11.tmp_0")
    pipeline = [local_predictor("./ppocr_det_v3_serving", 6), local_predictor("./ppocr_rec_v3_serving", 2)]
    server = interleaved(rec, det) if rec_first else interleaved(det, rec)
    settings = by_key(judge_settings(two_ops(ocr_models), server, "".join(pipeline[::-1] if rec_first else pipeline)))
    assert {k: (s.status, s.effective) for k, s in settings.items()} == {
        "det.device": (IN_EFFECT, "cpu"), "det.ir_optim": (IN_EFFECT, True), "det.use_mkldnn": (IN_EFFECT, False),
        "det.thread_num": (IN_EFFECT, 6),
        "rec.device": (IN_EFFECT, "cpu"), "rec.ir_optim": (IN_EFFECT, True), "rec.use_mkldnn": (IN_EFFECT, False),
        "rec.thread_num": (IN_EFFECT, 2)}
    assert settings["rec.use_mkldnn"].evidence == "no 'MKLDNN is enabled' among op rec's lines in server.log"
    assert settings["rec.thread_num"].as_dict()["op"] == "rec"


def test_one_ops_setting_not_in_effect_names_that_op(ocr_models):
    server = interleaved(predictor_lines(21063, "sigmoid_0.tmp_0", mkldnn=True),
                         predictor_lines(21080, "softmax_11.tmp_0", ir_optim=False))
    pipeline = local_predictor("./ppocr_det_v3_serving", 6, use_mkldnn=True) + local_predictor(
        "./ppocr_rec_v3_serving", 2, ir_optim=False)
    requested = two_ops(ocr_models, det={"use_mkldnn": True}, rec={"use_mkldnn": True})
    settings = by_key(judge_settings(requested, server, pipeline))
    assert settings["det.use_mkldnn"].status == IN_EFFECT and "oneDNN v2.7.3" in settings["det.use_mkldnn"].evidence
    # rec's oneDNN never ran: det's oneDNN line and the unowned placement pass line prove nothing for rec
    assert settings["rec.use_mkldnn"].status == NOT_IN_EFFECT
    assert settings["rec.ir_optim"].describe() == ("op rec: ir_optim True requested, not in effect: Paddle: "
                                                   "'analysis_predictor.cc:1563] Ir optimization is turned off, no ir "
                                                   "pass will be executed.'")


def test_an_op_left_on_a_gpu_the_machine_lacks_is_named_with_paddles_line(ocr_models):
    refused = ("failed to create predictor: Log_id: 0  Raise_msg: (InvalidArgument) Device id must be less than GPU "
               "count, but received id is: 0. GPU count is: 0.")
    pipeline = (local_predictor("./ppocr_det_v3_serving", 6) + local_predictor("./ppocr_rec_v3_serving", 2, use_gpu=True)
                + "CRITICAL 2026-12-07 13:20:40,366 [local_predict.py:290] " + refused + "\n")
    requested = two_ops(ocr_models)
    requested["ops"]["rec"] = dict(GPU, use_trt=False, precision="fp32", ir_optim=True, model=ocr_models["rec"])
    settings = by_key(judge_settings(requested, refused + "\n", pipeline))
    device = settings["rec.device"]
    assert (device.status, device.effective) == (NOT_IN_EFFECT, None)
    assert device.describe().startswith("op rec: device gpu requested, not in effect: Paddle Serving's LocalPredictor "
                                        "line in pipeline.log says use_gpu:True, but Paddle: '")
    assert "GPU count is: 0." in device.evidence
    assert device.refused and device.as_dict()["refused"] is True  # a fact even when no request ran
    assert settings["det.device"].status == IN_EFFECT
    # det's predictor never logged: the group was killed; its thread_num is still in its LocalPredictor line
    assert settings["det.ir_optim"].status == NOT_CHECKED and "op det" in settings["det.ir_optim"].evidence
    assert settings["det.thread_num"].status == IN_EFFECT


def test_ops_whose_models_name_the_same_fetch_variables_are_not_checked_saying_why(ocr_models, tmp_path):
    twin = tmp_path / "rec_copy"
    twin.mkdir()
    (twin / "serving_server_conf.prototxt").write_text(
        (Path(ocr_models["det"]) / "serving_server_conf.prototxt").read_text())
    requested = two_ops(dict(ocr_models, rec=str(twin)))
    server = interleaved(predictor_lines(1, "sigmoid_0.tmp_0"), predictor_lines(2, "sigmoid_0.tmp_0"))
    pipeline = local_predictor(ocr_models["det"], 6) + local_predictor(str(twin), 2)
    settings = by_key(judge_settings(requested, server, pipeline))
    assert settings["rec.ir_optim"].status == NOT_CHECKED
    assert settings["rec.ir_optim"].evidence == ("not checked for op rec: op det serves a model with the same fetch "
                                                 "variables (sigmoid_0.tmp_0), so their lines in server.log cannot be "
                                                 "told apart")
    # Paddle Serving's own line is matched by model path, so thread_num is still proven per op
    assert (settings["det.thread_num"].effective, settings["rec.thread_num"].effective) == (6, 2)


def test_ops_of_one_thread_are_not_told_apart(ocr_models):
    one_thread = predictor_lines(7, "sigmoid_0.tmp_0") + predictor_lines(7, "softmax_11.tmp_0")
    pipeline = local_predictor("./ppocr_det_v3_serving", 6) + local_predictor("./ppocr_rec_v3_serving", 2)
    settings = by_key(judge_settings(two_ops(ocr_models), "\n".join(one_thread), pipeline))
    assert "from one thread" in settings["det.ir_optim"].evidence and settings["det.ir_optim"].status == NOT_CHECKED


def test_requested_of_one_op_and_of_several():
    assert ops_of(CPU) == [(None, CPU)] and ops_of(None) == []
    several = {"ops": {"det": CPU, "rec": GPU}}
    assert [op for op, _ in ops_of(several)] == ["det", "rec"] and any_gpu(several) and not any_gpu(CPU)
    assert same_model("./ppocr_det_v3_serving", "/r/deploy/pdserving/ppocr_det_v3_serving")
    assert not same_model("./ppocr_det_v3_serving", "/r/deploy/pdserving/ppocr_rec_v3_serving")
    assert same_model("/abs/m", "/abs/m") and not same_model("/abs/m", "/other/m")
    # PP-ShiTu's config.yml names its models from its service's folder: ../../models/<name>
    assert same_model("../../models/rec_serving", "/r/deploy/models/rec_serving")
    assert not same_model("../../models/rec_serving", "/r/deploy/models/det_serving")
