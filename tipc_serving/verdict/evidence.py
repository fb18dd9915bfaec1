"""Which settings really took effect in a served model, from Paddle's own output in the service's logs.

A case *requests* settings (the plan: its local_service_conf after config.yml and the `--opt` options).
Paddle Inference prints what it does on the op processes' stderr, which is the case's server.log, and
Paddle Serving's LocalPredictor logs the values it hands to Paddle in PipelineServingLogs/pipeline.log.
Paddle ignores some settings silently (oneDNN without IR optimisation, TensorRT without IR
optimisation, fp16 on hardware without it), so a requested setting counts only with its proof:

    in effect      the logs show it; the line is quoted
    not in effect  the logs show the opposite (quoted), or lack the line that proves it
    not checked    nothing Paddle prints can prove it here; the evidence says why

A service of several ops (PaddleOCR's det and rec) requests settings per op (`{"ops": {name: settings}}`,
each with its model folder), and each op is judged on its own lines only: its LocalPredictor line in
pipeline.log by model path, and in server.log the glog lines of the processes (thread ids) whose predictor
names its model's fetch variables. Paddle's coloured pass lines carry no thread id and prove nothing for
one op of several; what cannot be attributed is "not checked for op X", with why.

The lines were read from Paddle 2.5.2 and Paddle Serving 0.9.0 (docs/evidence.md lists them).
"""
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional

from ..errors import UserError
from ..model.converted import load_model_config

IN_EFFECT, NOT_IN_EFFECT, NOT_CHECKED = "in effect", "not in effect", "not checked"

IR_PASS = "--- Running IR pass ["
IR_OFF = "Ir optimization is turned off"
IR_FUSED = "fuse_pass_base.cc"                           # an IR fuse pass found its pattern (a glog line)
PREDICTOR_BUILT = "======= optimize end ======="         # a predictor was built, IR optimisation on or off
MKLDNN_PLACEMENT = "--- Running IR pass [mkldnn_placement_pass]"
ONEDNN_RAN = "oneDNN v"                                   # printed when the first oneDNN kernel runs
MKLDNN_IGNORED = "EnableMKLDNN() only works when IR optimization is enabled"
MKLDNN_ENABLED = "MKLDNN is enabled"                      # oneDNN asked for (printed even when then ignored)
TRT_PASS = "--- Running IR pass [tensorrt_subgraph_pass]"
TRT_SUBGRAPH = "tensorrt_subgraph_pass.cc"              # the TensorRT pass's own glog lines
TRT_ENGINE = "Prepare TRT engine"
TRT_FP16 = "Run Paddle-TRT FP16 mode"
TRT_FP16_REFUSED = "You specify FP16 mode, but the hardware do not support FP16 speed up, use FP32 instead"
GPU_CONTEXT = "Please NOTE: device: "                    # a GPU device context was created
GPU_REFUSED = "GPU count is"                              # "Device id must be less than GPU count, ... GPU count is: 0."
LOCAL_PREDICTOR = "LocalPredictor load_model_config params:"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_GLOG_PREFIX = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+(\d+) ")  # I1130 15:28:26.256505  6432 (time, thread)
_FETCH_SKIP = re.compile(r"skip \[([^\]]+)\], fetch -> fetch")  # naive_executor: the predictor's fetch variables
QUOTE_LIMIT = 200


@dataclass
class Setting:
    """One setting of a case: what was asked, what the logs show, and the line that shows it. A setting of
    one op of several has its op's name in front of its key ("rec.thread_num") and in `op`."""

    key: str
    requested: object
    effective: object = None
    status: str = NOT_CHECKED
    evidence: str = ""
    op: Optional[str] = None
    refused: bool = False   # Paddle's own line refused it (not merely: no line proves it)

    def as_dict(self):
        found = asdict(self)
        if self.op is None:
            del found["op"]
        if not self.refused:
            del found["refused"]
        return found

    def describe(self):
        """One line for a reason: `use_mkldnn True requested, not in effect: Paddle: '...'` (`op rec: ...`)."""
        name = self.key[len(self.op) + 1:] if self.op and self.key.startswith(self.op + ".") else self.key
        return "{}{} {} requested, {}: {}".format("op {}: ".format(self.op) if self.op else "", name,
                                                  self.requested, self.status, self.evidence)


def _clean(text):
    return [_ANSI.sub("", line).strip() for line in text.splitlines()]


class Logs:
    """The lines of one predictor's logs, without ANSI colours (Paddle colours its pass lines): `server`,
    Paddle Inference's lines of its process(es); `predictor`, Paddle Serving's LocalPredictor line for it;
    `machine`, every line (what Paddle says about the machine, e.g. that it has no GPU, holds for every op);
    `unheard`, why server.log has none of its lines, when that is known."""

    def __init__(self, server_log_text, pipeline_log_text="", server=None, predictor=None, unheard=None, op=None):
        self.machine = _clean(server_log_text) + _clean(pipeline_log_text)
        self.server = _clean(server_log_text) if server is None else server
        pipeline = _clean(pipeline_log_text)
        self.predictor = predictor if predictor is not None or server is not None else self.first(LOCAL_PREDICTOR,
                                                                                                   pipeline)
        self.unheard, self.op = unheard, op

    def missing(self, marker, op_marker=None):
        """Why a line is absent: for one op of several, from the lines that carry its thread id (a pass line
        carries none, so another line of the same fact stands for it: op_marker)."""
        if self.op is None:
            return "no '{}' in server.log".format(marker)
        return "no '{}' among op {}'s lines in server.log".format(op_marker or marker, self.op)

    def first(self, marker, lines=None):
        return next((line for line in (self.server if lines is None else lines) if marker in line), None)

    def any_first(self, *markers):
        return next((line for line in self.server if any(marker in line for marker in markers)), None)

    def predictor_settings(self):
        """LocalPredictor's `key:value` pairs, as Paddle Serving handed them to Paddle, or {}."""
        return local_predictor_settings(self.predictor) if self.predictor else {}


def local_predictor_settings(line):
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


def _refused(key, requested, effective, evidence):
    """Paddle's own line says it refused the setting (at predictor build): a fact even when nothing ran."""
    setting = _proven(key, requested, effective, evidence)
    setting.refused = setting.status == NOT_IN_EFFECT
    return setting


def _ir_optim(requested, logs):
    ran, off = logs.any_first(IR_PASS, IR_FUSED), logs.first(IR_OFF)
    if off:
        return _proven("ir_optim", requested, False, quote(off))
    if ran:
        return _proven("ir_optim", requested, True, quote(ran))
    return Setting("ir_optim", requested, None, NOT_CHECKED, "server.log has neither '{}' nor '{}'".format(
        IR_PASS, IR_OFF))


def _use_mkldnn(requested, logs):
    ignored = logs.first(MKLDNN_IGNORED)
    if ignored:
        return _refused("use_mkldnn", requested, False, quote(ignored))
    # the placement pass where its line is this op's (one op); else its glog twin, which carries the thread id
    placed, ran = logs.first(MKLDNN_PLACEMENT) or logs.first(MKLDNN_ENABLED), logs.first(ONEDNN_RAN)
    if placed and ran:
        return _proven("use_mkldnn", requested, True, "{} and {}".format(quote(placed), quote(ran)))
    if placed:
        return _proven("use_mkldnn", requested, False, "{}, but no oneDNN kernel ran (no '{}' line)".format(
            quote(placed), ONEDNN_RAN))
    return _proven("use_mkldnn", requested, False, logs.missing(MKLDNN_PLACEMENT, MKLDNN_ENABLED))


def _use_trt(requested, logs):
    placed, built = logs.any_first(TRT_PASS, TRT_SUBGRAPH), logs.first(TRT_ENGINE)
    if placed and built:
        return _proven("use_trt", requested, True, "{} and {}".format(quote(placed), quote(built)))
    missing = logs.missing(TRT_PASS, TRT_SUBGRAPH) if not placed else logs.missing(TRT_ENGINE)
    return _proven("use_trt", requested, False, missing)


def _precision(requested, use_trt, logs):
    refused, fp16 = logs.first(TRT_FP16_REFUSED), logs.first(TRT_FP16)
    if refused:
        return _refused("precision", requested, "fp32", quote(refused))
    if requested == "int8":
        return Setting("precision", requested, None, NOT_CHECKED,
                       "Paddle prints no line that proves a TensorRT int8 engine")
    if fp16:
        return _proven("precision", requested, "fp16", quote(fp16))
    if requested == "fp16":
        return _proven("precision", requested, "fp32", logs.missing(TRT_FP16))
    return _proven("precision", requested, "fp32", logs.missing(TRT_FP16) + (
        "" if use_trt else " (no TensorRT: Paddle runs fp32)"))


def _no_local_predictor(logs):
    return "no '{}' line{} in PipelineServingLogs/pipeline.log".format(
        LOCAL_PREDICTOR, "" if logs.unheard is None or logs.predictor is not None else " for its model")


def _thread_num(requested, logs):
    settings = logs.predictor_settings()
    if "thread_num" not in settings:
        return Setting("thread_num", requested, None, NOT_CHECKED, _no_local_predictor(logs))
    return _proven("thread_num", requested, int(settings["thread_num"]), serving_said(settings, "thread_num"))


def _device(requested, logs, gpu_memory_mb):
    settings = logs.predictor_settings()
    if "use_gpu" not in settings:
        return Setting("device", requested, None, NOT_CHECKED, _no_local_predictor(logs))
    if settings["use_gpu"] != "True":
        return _proven("device", requested, "cpu", serving_said(settings, "use_gpu"))
    refused = logs.first(GPU_REFUSED, logs.machine)
    if refused:
        return _refused("device", requested, None, "{}, but {}".format(serving_said(settings, "use_gpu"), quote(refused)))
    context = logs.first(GPU_CONTEXT)
    if context or gpu_memory_mb:
        seen = quote(context) if context else "the service's processes hold {:.0f} MB of GPU memory".format(
            gpu_memory_mb)
        return _proven("device", requested, "gpu", seen)
    return _proven("device", requested, None, "{}, but server.log has no '{}' line and the service holds no "
                                              "GPU memory".format(serving_said(settings, "use_gpu"), GPU_CONTEXT))


def _judge(requested, logs, gpu_memory_mb):
    """One predictor's requested settings against its logs."""
    settings = [_device(requested["device"], logs, gpu_memory_mb)]
    if not logs.any_first(IR_PASS, IR_OFF, MKLDNN_IGNORED, PREDICTOR_BUILT):
        why = logs.unheard or ("none of Paddle Inference's predictor lines is in server.log (no predictor was "
                               "built, or its log was off)")
        unheard = [Setting(key, requested[key], None, NOT_CHECKED, why)
                   for key in ("ir_optim", *_device_keys(requested)) if key in requested]
        if logs.unheard and requested["device"] == "cpu":  # an op's thread_num is in its own LocalPredictor line
            unheard[-1] = _thread_num(requested["thread_num"], logs)
        return settings + unheard
    settings.append(_ir_optim(requested["ir_optim"], logs))
    if requested["device"] == "cpu":
        settings.append(_use_mkldnn(requested["use_mkldnn"], logs))
        settings.append(_thread_num(requested["thread_num"], logs))
    else:
        settings.append(_use_trt(requested["use_trt"], logs))
        settings.append(_precision(requested["precision"], requested["use_trt"], logs))
    return settings


# ---------------------------------------------------------------- several ops: each on its own lines

def ops_of(requested):
    """[(op name, its settings)] of a case's requested settings: one op (None, the settings) or several."""
    if not requested:
        return []
    return list(requested["ops"].items()) if "ops" in requested else [(None, requested)]


def any_gpu(requested):
    return any(settings["device"] == "gpu" for _, settings in ops_of(requested))


def same_model(logged, wanted):
    """LocalPredictor's model_path (as config.yml gave it, maybe relative) names the op's model folder."""
    # normpath leaves `..` only in front: `../../models/x` (PP-ShiTu's, from its service's folder) ends in models/x
    logged_parts = [part for part in Path(os.path.normpath(logged)).parts if part not in (".", "..")]
    wanted_parts = Path(wanted).parts
    if not logged_parts:
        return Path(logged) == Path(wanted)
    if Path(logged).is_absolute():
        return Path(*logged_parts) == Path(wanted)
    return list(wanted_parts[-len(logged_parts):]) == logged_parts


def _threads(server_text):
    """server.log's glog lines by thread id (an op process's predictor logs from its main thread, whose id
    is the process id), and the fetch variables each thread's predictor named."""
    lines, fetches = {}, {}
    for line in _clean(server_text):
        match = _GLOG_PREFIX.match(line)
        if match:
            lines.setdefault(match.group(1), []).append(line)
            fetches.setdefault(match.group(1), set()).update(_FETCH_SKIP.findall(line))
    return lines, fetches


def _fetch_names(model):
    try:
        return {tensor.name for tensor in load_model_config(model).fetches}, None
    except UserError as err:
        return set(), str(err)


def op_logs(ops, server_text, pipeline_text) -> Dict[str, Logs]:
    """Each op's Logs: its LocalPredictor line (by model path) and the glog lines of the threads whose
    predictor named its model's fetch variables; a thread that names another op's too is nobody's."""
    pipeline = _clean(pipeline_text)
    predictor_lines = [line for line in pipeline if LOCAL_PREDICTOR in line]
    lines, fetches = _threads(server_text)
    names = {op: _fetch_names(settings.get("model") or "") for op, settings in ops}
    found = {}
    for op, settings in ops:
        model = settings.get("model") or ""
        predictor = next((line for line in predictor_lines
                          if same_model(local_predictor_settings(line).get("model_path", ""), model)), None)
        own, error = names[op]
        twins = sorted(other for other, (theirs, _) in names.items() if other != op and theirs and theirs == own)
        threads = [tid for tid, seen in fetches.items() if seen and own and seen <= own]
        shared = sorted({other for tid in fetches if fetches[tid] & own for other, (theirs, _) in names.items()
                         if other != op and fetches[tid] & theirs and not theirs == own})
        if error:
            unheard = "not checked for op {}: its model's fetch variables are unknown ({})".format(op, error)
        elif twins:
            unheard = ("not checked for op {}: op {} serves a model with the same fetch variables ({}), so their "
                       "lines in server.log cannot be told apart".format(op, ", ".join(twins), ", ".join(sorted(own))))
        elif shared:
            unheard = ("not checked for op {}: its predictor and op {}'s log from one thread (thread mode), so their "
                       "lines in server.log cannot be told apart".format(op, ", ".join(shared)))
        elif not threads:
            unheard = ("not checked for op {}: no glog line in server.log names its fetch variable{} {} (no predictor "
                       "was built for it, or its log was off)".format(op, "s" if len(own) > 1 else "",
                                                                       ", ".join(sorted(own))))
        else:
            unheard = None
        own_lines = [] if unheard else [line for tid in threads for line in lines[tid]]
        found[op] = Logs(server_text, pipeline_text, server=own_lines, predictor=predictor,
                         unheard=unheard or "not checked for op {}: none of its predictor's lines is in server.log "
                                            "(no predictor was built, or its log was off)".format(op), op=op)
    return found


def judge_settings(requested, server_log_text, pipeline_log_text="", gpu_memory_mb=None) -> List[Setting]:
    """Each requested setting (device, ir_optim, and per device use_mkldnn/thread_num or use_trt/precision)
    with what the logs prove; for several ops, each op's on its own lines. Without any of Paddle's predictor
    lines in server.log, nothing is proven."""
    ops = ops_of(requested)
    if ops and ops[0][0] is None:
        settings = _judge(requested, Logs(server_log_text, pipeline_log_text), gpu_memory_mb)
        for setting in settings:  # a PaddlePaddle service's one op is named in the reasons, its keys kept
            setting.op = requested.get("op")
        return settings
    logs = op_logs(ops, server_log_text, pipeline_log_text)
    on_gpu = [op for op, _ in ops if logs[op].predictor_settings().get("use_gpu") == "True"]
    settings = []
    for op, wanted in ops:
        # the group's GPU memory is one op's only when no other op's predictor is on the GPU
        memory = gpu_memory_mb if on_gpu == [op] else None
        for setting in _judge(wanted, logs[op], memory):
            setting.key, setting.op = "{}.{}".format(op, setting.key), op
            settings.append(setting)
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
