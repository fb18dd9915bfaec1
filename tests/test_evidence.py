"""verdict/evidence.py: a setting counts only when Paddle's own output proves it (lines as Paddle 2.5.2 prints them)."""
import pytest

from tipc_serving.verdict.evidence import (IN_EFFECT, NOT_CHECKED, NOT_IN_EFFECT, judge_settings, requested_settings,
                                           settings_problem)

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
