"""Which settings really took effect in a served model, from Paddle's own output in the service's logs.

A case *requests* settings (the plan: its local_service_conf after config.yml and the `--opt` options).
Paddle Inference prints what it does on the op processes' stderr, which is the case's server.log, and
Paddle Serving's LocalPredictor logs the values it hands to Paddle in PipelineServingLogs/pipeline.log.
Paddle ignores some settings silently (oneDNN without IR optimisation, TensorRT without IR
optimisation, fp16 on hardware without it), so a requested setting counts only with its proof:

    in effect      the logs show it; the line is quoted
    not in effect  the logs show the opposite (quoted), or lack the line that proves it
    not checked    nothing Paddle prints can prove it here; the evidence says why

The lines were read from Paddle 2.5.2 and Paddle Serving 0.9.0 (docs/evidence.md lists them).
"""
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional

IN_EFFECT, NOT_IN_EFFECT, NOT_CHECKED = "in effect", "not in effect", "not checked"

IR_PASS = "--- Running IR pass ["
IR_OFF = "Ir optimization is turned off"
MKLDNN_PLACEMENT = "--- Running IR pass [mkldnn_placement_pass]"
ONEDNN_RAN = "oneDNN v"                                   # printed when the first oneDNN kernel runs
MKLDNN_IGNORED = "EnableMKLDNN() only works when IR optimization is enabled"
TRT_PASS = "--- Running IR pass [tensorrt_subgraph_pass]"
TRT_ENGINE = "Prepare TRT engine"
TRT_FP16 = "Run Paddle-TRT FP16 mode"
TRT_FP16_REFUSED = "You specify FP16 mode, but the hardware do not support FP16 speed up, use FP32 instead"
GPU_CONTEXT = "Please NOTE: device: "                    # a GPU device context was created
LOCAL_PREDICTOR = "LocalPredictor load_model_config params:"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_GLOG_PREFIX = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ ")  # I1130 15:28:26.256505  6432 (time, thread)
QUOTE_LIMIT = 200


@dataclass
class Setting:
    """One setting of a case: what was asked, what the logs show, and the line that shows it."""

    key: str
    requested: object
    effective: object = None
    status: str = NOT_CHECKED
    evidence: str = ""

    def as_dict(self):
        return asdict(self)

    def describe(self):
        """One line for a reason: `use_mkldnn True requested, not in effect: Paddle: '...'`."""
        return "{} {} requested, {}: {}".format(self.key, self.requested, self.status, self.evidence)


class Logs:
    """The case's logs as lines without ANSI colours (Paddle colours its pass lines)."""

    def __init__(self, server_log_text, pipeline_log_text=""):
        self.server = [_ANSI.sub("", line).strip() for line in server_log_text.splitlines()]
        self.pipeline = [_ANSI.sub("", line).strip() for line in pipeline_log_text.splitlines()]

    def first(self, marker, lines=None):
        return next((line for line in (self.server if lines is None else lines) if marker in line), None)

    def predictor_settings(self):
        """LocalPredictor's `key:value` pairs, as Paddle Serving handed them to Paddle, or {}."""
        line = self.first(LOCAL_PREDICTOR, self.pipeline)
        if line is None:
            return {}
        pairs = line.split(LOCAL_PREDICTOR, 1)[1]
        return dict(item.strip().split(":", 1) for item in pairs.split(", ") if ":" in item)


def quote(line):
    """Paddle's line as evidence, without the time and thread id glog puts in front."""
    text = _GLOG_PREFIX.sub("", line)
    text = text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT - 3] + "..."
    return "Paddle: '{}'".format(text)


def serving_said(settings, key):
    return "Paddle Serving's LocalPredictor line in pipeline.log says {}:{}".format(key, settings[key])


def _proven(key, requested, effective, evidence):
    return Setting(key, requested, effective, IN_EFFECT if effective == requested else NOT_IN_EFFECT, evidence)


def _ir_optim(requested, logs):
    ran, off = logs.first(IR_PASS), logs.first(IR_OFF)
    if ran:
        return _proven("ir_optim", requested, True, quote(ran))
    if off:
        return _proven("ir_optim", requested, False, quote(off))
    return Setting("ir_optim", requested, None, NOT_CHECKED, "server.log has neither '{}' nor '{}'".format(
        IR_PASS, IR_OFF))


def _use_mkldnn(requested, logs):
    ignored = logs.first(MKLDNN_IGNORED)
    if ignored:
        return _proven("use_mkldnn", requested, False, quote(ignored))
    placed, ran = logs.first(MKLDNN_PLACEMENT), logs.first(ONEDNN_RAN)
    if placed and ran:
        return _proven("use_mkldnn", requested, True, "{} and {}".format(quote(placed), quote(ran)))
    if placed:
        return _proven("use_mkldnn", requested, False, "{}, but no oneDNN kernel ran (no '{}' line)".format(
            quote(placed), ONEDNN_RAN))
    return _proven("use_mkldnn", requested, False, "no '{}' in server.log".format(MKLDNN_PLACEMENT))


def _use_trt(requested, logs):
    placed, built = logs.first(TRT_PASS), logs.first(TRT_ENGINE)
    if placed and built:
        return _proven("use_trt", requested, True, "{} and {}".format(quote(placed), quote(built)))
    missing = TRT_PASS if not placed else TRT_ENGINE
    return _proven("use_trt", requested, False, "no '{}' in server.log".format(missing))


def _precision(requested, use_trt, logs):
    refused, fp16 = logs.first(TRT_FP16_REFUSED), logs.first(TRT_FP16)
    if refused:
        return _proven("precision", requested, "fp32", quote(refused))
    if requested == "int8":
        return Setting("precision", requested, None, NOT_CHECKED,
                       "Paddle prints no line that proves a TensorRT int8 engine")
    if fp16:
        return _proven("precision", requested, "fp16", quote(fp16))
    if requested == "fp16":
        return _proven("precision", requested, "fp32", "no '{}' in server.log".format(TRT_FP16))
    return _proven("precision", requested, "fp32", "no '{}' in server.log{}".format(
        TRT_FP16, "" if use_trt else " (no TensorRT: Paddle runs fp32)"))


def _thread_num(requested, logs):
    settings = logs.predictor_settings()
    if "thread_num" not in settings:
        return Setting("thread_num", requested, None, NOT_CHECKED,
                       "no '{}' line in PipelineServingLogs/pipeline.log".format(LOCAL_PREDICTOR))
    return _proven("thread_num", requested, int(settings["thread_num"]), serving_said(settings, "thread_num"))


def _device(requested, logs, gpu_memory_mb):
    settings = logs.predictor_settings()
    if "use_gpu" not in settings:
        return Setting("device", requested, None, NOT_CHECKED,
                       "no '{}' line in PipelineServingLogs/pipeline.log".format(LOCAL_PREDICTOR))
    if settings["use_gpu"] != "True":
        return _proven("device", requested, "cpu", serving_said(settings, "use_gpu"))
    context = logs.first(GPU_CONTEXT)
    if context or gpu_memory_mb:
        seen = quote(context) if context else "the service's processes hold {:.0f} MB of GPU memory".format(
            gpu_memory_mb)
        return _proven("device", requested, "gpu", seen)
    return _proven("device", requested, None, "{}, but server.log has no '{}' line and the service holds no "
                                              "GPU memory".format(serving_said(settings, "use_gpu"), GPU_CONTEXT))


def judge_settings(requested, server_log_text, pipeline_log_text="", gpu_memory_mb=None) -> List[Setting]:
    """Each requested setting (device, ir_optim, and per device use_mkldnn/thread_num or use_trt/precision)
    with what the logs prove. Without any of Paddle's predictor lines in server.log, nothing is proven."""
    logs = Logs(server_log_text, pipeline_log_text)
    settings = [_device(requested["device"], logs, gpu_memory_mb)]
    if not (logs.first(IR_PASS) or logs.first(IR_OFF) or logs.first(MKLDNN_IGNORED)):
        why = "none of Paddle Inference's predictor lines is in server.log (no predictor was built, or its log was off)"
        return settings + [Setting(key, requested[key], None, NOT_CHECKED, why)
                           for key in ("ir_optim", *_device_keys(requested)) if key in requested]
    settings.append(_ir_optim(requested["ir_optim"], logs))
    if requested["device"] == "cpu":
        settings.append(_use_mkldnn(requested["use_mkldnn"], logs))
        settings.append(_thread_num(requested["thread_num"], logs))
    else:
        settings.append(_use_trt(requested["use_trt"], logs))
        settings.append(_precision(requested["precision"], requested["use_trt"], logs))
    return settings


def judge_settings_in(requested, server_log, pipeline_log_dir, gpu_memory_mb=None) -> List[Setting]:
    """judge_settings on the files: server_log (the service's log) and every pipeline.log* in pipeline_log_dir
    (PipelineServingLogs), in name order. A missing file (or None) reads as empty; bytes that are not UTF-8
    are replaced."""
    def text(path):
        return Path(path).read_text(encoding="utf-8", errors="replace") if path and Path(path).is_file() else ""

    pipeline_logs = sorted(Path(pipeline_log_dir).glob("pipeline.log*")) if pipeline_log_dir else []
    return judge_settings(requested, text(server_log), "".join(text(path) for path in pipeline_logs), gpu_memory_mb)


def _device_keys(requested):
    return ("use_mkldnn", "thread_num") if requested["device"] == "cpu" else ("use_trt", "precision")


def requested_settings(local_service_conf):
    """The settings a case asks Paddle for, from its local_service_conf (config.yml plus its --opt)."""
    conf = local_service_conf
    device_type = conf.get("device_type", -1)
    devices = str(conf.get("devices") or "").strip()
    gpu = device_type in (1, 2) or (device_type in (-1, None) and devices not in ("", "cpu"))
    requested = {"device": "gpu" if gpu else "cpu", "ir_optim": bool(conf.get("ir_optim", False))}
    if gpu:
        requested.update(use_trt=device_type == 2, precision=str(conf.get("precision", "fp32")).lower())
    else:
        requested.update(use_mkldnn=bool(conf.get("use_mkldnn", False)), thread_num=int(conf.get("thread_num", 2)))
    return requested


def settings_problem(requested) -> Optional[str]:
    """Why Paddle would not honour these settings, or None (checked at plan time)."""
    if requested.get("use_mkldnn") and not requested["ir_optim"]:
        return ("use_mkldnn True needs ir_optim True: Paddle Inference ignores EnableMKLDNN() without IR "
                "optimisation")
    if requested.get("use_trt") and not requested["ir_optim"]:
        return "use_trt True needs ir_optim True: the TensorRT engine is built by an IR pass"
    if requested["device"] == "cpu" and requested.get("precision", "fp32") != "fp32":
        return "precision {} runs only on a GPU with TensorRT".format(requested["precision"])
    return None
