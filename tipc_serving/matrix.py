"""The cases of a TIPC serving config: one service start per CPU/GPU setting, and sharding them.

As PaddlePaddle's TIPC scripts do, the matrix options under op.<name>.local_service_conf combine so:

    devices null (CPU):  use_mkldnn x thread_num           -> cpu_usemkldnn_False_threads_1, ...
    devices "0"  (GPU):  use_trt x precision, fp16/int8 only with use_trt True
                                                           -> gpu_usetrt_False_precision_fp32, ...

An absent option takes its default (devices: CPU only; use_mkldnn False; thread_num the service's own,
named 'default'; use_trt False; precision fp32). A case that cannot run here is kept with a
skip_reason, never dropped, so every run reports the same list of cases.
"""
import ctypes.util
import os
import re
import subprocess
from dataclasses import dataclass
from typing import Dict, List, Optional

from .errors import ConfigError, UserError
from .tipc_config import matrix_value

SKIP_NO_GPU = "skipped: no GPU"
SKIP_NO_TRT = "skipped: TensorRT not available"
DEVICE_TYPE_CPU, DEVICE_TYPE_GPU, DEVICE_TYPE_TRT = 0, 1, 2  # Paddle Serving's local_service_conf.device_type
DEFAULTS = {"devices": None, "use_mkldnn": False, "thread_num": None, "use_trt": False, "precision": "fp32"}


@dataclass
class Case:
    """One service start: its stable name, the `--opt` options that make it, and why it is skipped."""

    name: str
    device: str                     # "cpu" or "gpu"
    settings: Dict[str, str]        # the matrix values this case takes, as in its name
    opts: List[str]                 # "dotted.key=value" for `web_service.py --opt`
    precision: str
    skip_reason: Optional[str] = None
    model_name: str = ""            # the config's model_name: sharding sorts by it


def expand(config, gpu_available, trt_available, op_name=None):
    """The config's cases in file order (devices, then the inner options); skipped ones included.

    op_name: the service op the case options address; defaults to the config's op.<name>. A config
    without op lines (TIPC's 13-line variant) can pass the op of config.yml, else its cases carry
    only the fixed overrides and config.yml decides the device.
    """
    op_name = op_name or config.op_name
    cases = []
    for devices in _values(config, "devices"):
        cases += _cpu_cases(config, op_name) if devices is None else _gpu_cases(config, op_name, devices)
    for case in cases:
        case.model_name = config.model_name
        case.opts += _fixed_opts(config)
        case.skip_reason = _skip_reason(case, gpu_available, trt_available)
    return cases


def _values(config, leaf):
    """The meanings of a matrix option's values, or [its default] when the config does not set it."""
    override = config.matrix_override(leaf)
    if override is None:
        return [DEFAULTS[leaf]]
    return [matrix_value(leaf, value) for value in override.values]


def _cpu_cases(config, op_name):
    """use_mkldnn x thread_num on CPU; precision is fp32 and use_trt does not apply."""
    cases = []
    for mkldnn in _values(config, "use_mkldnn"):
        for threads in _values(config, "thread_num"):
            thread_text = "default" if threads is None else str(threads)
            settings = {"devices": "", "use_mkldnn": str(mkldnn), "thread_num": thread_text}
            options = [("devices", '""'), ("use_mkldnn", mkldnn)]
            options += [] if threads is None else [("thread_num", threads)]
            options += [("device_type", DEVICE_TYPE_CPU), ("precision", "fp32")]
            cases.append(Case("cpu_usemkldnn_{}_threads_{}".format(mkldnn, thread_text), "cpu", settings,
                              _service_opts(op_name, options), "fp32"))
    return cases


def _gpu_cases(config, op_name, devices):
    """use_trt x precision on GPU; without TensorRT only fp32 runs, so TIPC has no such case."""
    cases = []
    for use_trt in _values(config, "use_trt"):
        for precision in _values(config, "precision"):
            if precision != "fp32" and not use_trt:
                continue
            settings = {"devices": devices, "use_trt": str(use_trt), "precision": precision}
            device_type = DEVICE_TYPE_TRT if use_trt else DEVICE_TYPE_GPU
            options = [("devices", '"{}"'.format(devices)), ("device_type", device_type), ("precision", precision)]
            cases.append(Case("gpu_usetrt_{}_precision_{}".format(use_trt, precision), "gpu", settings,
                              _service_opts(op_name, options), precision))
    if not cases:
        override = config.matrix_override("precision")
        raise ConfigError(config.path, override.line, override.key,
                          "no GPU case: fp16/int8 run only with use_trt True; add fp32 or use_trt True")
    return cases


def _service_opts(op_name, options):
    """(leaf, value) pairs as op.<name>.local_service_conf.<leaf>=value; none without an op to address."""
    if op_name is None:
        return []
    prefix = "op.{}.local_service_conf.".format(op_name)
    return ["{}{}={}".format(prefix, leaf, value) for leaf, value in options]


def _fixed_opts(config):
    """The single-valued overrides, the same for every case; null ones are not set."""
    return ["{}={}".format(o.key, o.values[0]) for o in config.fixed_overrides if o.values[0] is not None]


def _skip_reason(case, gpu_available, trt_available):
    """Why this machine cannot run the case, or None."""
    if case.device == "gpu" and not gpu_available:
        return SKIP_NO_GPU
    if case.settings.get("use_trt") == "True" and not trt_available:
        return SKIP_NO_TRT
    return None


# --- this machine --------------------------------------------------------------------------------

def _env_flag(name):
    """TIPC_GPU / TIPC_TRT forced to 0 or 1 (tests, or a machine that probes wrongly); None if unset."""
    value = os.environ.get(name, "").strip()
    if value == "":
        return None
    if value not in ("0", "1"):
        raise UserError("{}={!r}: expected 0 or 1".format(name, value))
    return value == "1"


def gpu_available():
    """Whether a GPU is visible: nvidia-smi lists one and CUDA_VISIBLE_DEVICES does not hide it.

    Asking nvidia-smi rather than importing paddle keeps the harness quick and free of CUDA start-up.
    """
    forced = _env_flag("TIPC_GPU")
    if forced is not None:
        return forced
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return listing.returncode == 0 and any(line.startswith("GPU ") for line in listing.stdout.splitlines())


def trt_available():
    """Whether TensorRT's runtime library (libnvinfer) can be loaded; TIPC_TRT=0/1 overrides."""
    forced = _env_flag("TIPC_TRT")
    if forced is not None:
        return forced
    return ctypes.util.find_library("nvinfer") is not None


# --- sharding ------------------------------------------------------------------------------------

def parse_shard(text):
    """'I/N' (1-based) -> (I, N); anything else is a one-line UserError."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match:
        raise UserError("shard '{}': expected I/N, e.g. 2/3 for the second of three shards".format(text))
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise UserError("shard '{}': the number of shards must be at least 1".format(text))
    if not 1 <= index <= count:
        raise UserError("shard '{}': the index must be between 1 and {}".format(text, count))
    return index, count


def shard(cases_by_config, index, count):
    """The cases of shard `index` of `count`, as [(config_id, [Case])] in the input's order.

    All cases are sorted by (model_name, case name, config id) and dealt round-robin, so each lands
    in exactly one shard, shard sizes differ by at most one, and the deal ignores skip_reason: the
    same configs give the same shards on machines with and without a GPU.
    """
    if not 1 <= index <= count:
        raise UserError("shard {}/{}: the index must be between 1 and {}".format(index, count, count))
    positions = [(case.model_name, case.name, str(config_id), group, position)
                 for group, (config_id, cases) in enumerate(cases_by_config)
                 for position, case in enumerate(cases)]
    mine = {(group, position) for deal, (*_, group, position) in enumerate(sorted(positions))
            if deal % count == index - 1}
    return [(config_id, [case for position, case in enumerate(cases) if (group, position) in mine])
            for group, (config_id, cases) in enumerate(cases_by_config)]
