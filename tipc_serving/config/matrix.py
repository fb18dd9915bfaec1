"""The cases of a TIPC serving config: one service start per CPU/GPU setting. One table row per dimension.

As PaddlePaddle's TIPC scripts do, the matrix options under op.<name>.local_service_conf combine so:

    devices null (CPU):  use_mkldnn x thread_num           -> cpu_usemkldnn_False_threads_1, ...
    devices "0"  (GPU):  use_trt x precision, fp16/int8 only with use_trt True
                                                           -> gpu_usetrt_False_precision_fp32, ...

A dimension is a row of DIMENSIONS: the config key, how its values are read, its default, the device
it applies to, its token in the case name, and the service options each value becomes. Combinations a
device cannot run are rules of CONSTRAINTS. A new dimension is one row (and its tests); the loops, the
case names and the service options follow from the table.

An absent option takes its default (devices: CPU only; use_mkldnn False; thread_num the service's own,
named 'default'; use_trt False; precision fp32). A case that cannot run here is kept with a
skip_reason, never dropped, so every run reports the same list of cases.
"""
import itertools
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from ..errors import ConfigError
from ..service.pipeline_config import unquote

SKIP_NO_GPU = "skipped: no GPU"
SKIP_GPU_OFF = "skipped: no GPU (--gpu off)"
SKIP_NO_TRT = "skipped: TensorRT not available"
FAIL_NO_GPU = "no usable GPU here (nvidia-smi lists none), and --gpu on requires one"
DEVICE_TYPE_CPU, DEVICE_TYPE_GPU, DEVICE_TYPE_TRT = 0, 1, 2  # Paddle Serving's local_service_conf.device_type
SECTION = "local_service_conf"  # where the pipeline reads the matrix options: op.<name>.local_service_conf
PRECISIONS = ("fp32", "fp16", "int8")
_GPU_IDS = re.compile(r"^\d+(,\d+)*$")


# --- reading one value ---------------------------------------------------------------------------

def _text(raw):
    return None if raw is None else unquote(raw.strip()).strip()


def parse_devices(raw):
    """None (CPU) or "0,1" (GPU ids)."""
    text = _text(raw)
    if text is None or text.lower() in ("", "cpu"):
        return None
    if _GPU_IDS.match(text):
        return text
    raise ValueError("expected GPU ids such as 0, \"0\" or \"0,1\", or null/cpu/\"\" for CPU, got '{}'".format(raw))


def parse_bool(raw):
    text = _text(raw)
    if text is not None and text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise ValueError("expected True or False, got '{}'".format(raw))


def parse_threads(raw):
    """A positive integer, or None for the service's default."""
    text = _text(raw)
    if text is None:
        return None
    if re.fullmatch(r"[0-9]+", text) and int(text) > 0:
        return int(text)
    raise ValueError("expected a positive integer (or null for the default), got '{}'".format(raw))


def parse_precision(raw):
    text = _text(raw)
    if text is not None and text.lower() in PRECISIONS:
        return text.lower()
    raise ValueError("expected one of {}, got '{}'".format(", ".join(PRECISIONS), raw))


# --- the table -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dimension:
    key: str                                   # the option under op.<name>.local_service_conf
    parse: Callable                            # value as written (None for null) -> meaning; ValueError says why
    default: object                            # the meaning when the config does not list the key
    device: Optional[str]                      # "cpu" or "gpu"; None for `devices`, which picks the device
    token: Optional[str] = None                # in the case name: <token>_<shown value>
    show: Callable = str                       # meaning -> its text in the case name and settings
    options: Callable = lambda value: ()       # meaning -> ((service option, value), ...) for --opt
    identity: Callable = lambda value: value   # two values with the same identity would name one case twice
    repeat_hint: str = "each value once"


DIMENSIONS = (
    Dimension("devices", parse_devices, None, None, identity=lambda ids: "cpu" if ids is None else "gpu",
              repeat_hint="one CPU setting (null) and one GPU setting (e.g. \"0\")"),
    # oneDNN and TensorRT take effect only with IR optimisation (Paddle ignores them silently without it)
    Dimension("use_mkldnn", parse_bool, False, "cpu", "usemkldnn",
              options=lambda on: (("use_mkldnn", on), ("ir_optim", True)) if on else (("use_mkldnn", on),)),
    Dimension("thread_num", parse_threads, None, "cpu", "threads",
              show=lambda threads: "default" if threads is None else str(threads),
              options=lambda threads: () if threads is None else (("thread_num", threads),)),
    Dimension("use_trt", parse_bool, False, "gpu", "usetrt",
              options=lambda on: (("device_type", DEVICE_TYPE_TRT), ("ir_optim", True)) if on
              else (("device_type", DEVICE_TYPE_GPU),)),
    Dimension("precision", parse_precision, "fp32", "gpu", "precision", options=lambda p: (("precision", p),)),
)


def dimension(key):
    """The row of DIMENSIONS for a config key, or None when the key is no matrix dimension."""
    return next((row for row in DIMENSIONS if row.key == key), None)


def keys():
    return tuple(row.key for row in DIMENSIONS)


# What every case of a device sets, whatever the dimensions say.
DEVICE_OPTIONS = {
    "cpu": lambda ids: (("devices", '""'), ("device_type", DEVICE_TYPE_CPU), ("precision", "fp32")),
    "gpu": lambda ids: (("devices", '"{}"'.format(ids)),),
}
# The order of the options in a case's --opt list (the status lines show it); others follow as given.
OPTION_ORDER = ("devices", "use_mkldnn", "thread_num", "ir_optim", "device_type", "precision")


@dataclass(frozen=True)
class Constraint:
    """A combination a device cannot run. TIPC's scripts never run it, so it is not a case at all."""

    device: str
    keys: Tuple[str, ...]  # the dimensions it reads; an error names the first the config sets
    allows: Callable       # settings (key -> meaning) -> bool
    reason: str            # why, for a config that leaves no case of the device


CONSTRAINTS = (
    Constraint("gpu", ("precision", "use_trt"), lambda s: s["precision"] == "fp32" or s["use_trt"],
               "fp16/int8 run only with use_trt True; add fp32 or use_trt True"),
)


# A setting that must change the answers, and the baseline its case is compared with (its twin): answers
# bit-identical to the twin's mean the setting never ran (verdict: chain/case.py check_twins).
TWIN_BASELINES = {"use_mkldnn": {"use_mkldnn": False}, "use_trt": {"use_trt": False, "precision": "fp32"}}


@dataclass
class Case:
    """One service start: its stable name, the `--opt` options that make it, and why it is skipped."""

    name: str
    device: str                     # "cpu" or "gpu"
    settings: Dict[str, str]        # the matrix values this case takes, as in its name
    opts: List[str]                 # "dotted.key=value" for `web_service.py --opt`
    precision: str
    skip_reason: Optional[str] = None
    fail_reason: Optional[str] = None  # a case that must fail without running (--gpu on without a GPU)
    twin: Optional[str] = None         # the baseline case its answers must differ from (TWIN_BASELINES)
    model_name: str = ""            # the config's model_name: sharding sorts by it
    meanings: Dict[str, object] = field(default_factory=dict, repr=False)


def parse_values(key, raw_values):
    """The meanings of a matrix key's values as written; ValueError for a bad or repeated one."""
    row = dimension(key)
    meanings = [row.parse(raw) for raw in raw_values]
    identities = [row.identity(meaning) for meaning in meanings]
    repeated = sorted({str(i) for i in identities if identities.count(i) > 1})
    if repeated:
        raise ValueError("repeated setting ({}): list at most {}".format(", ".join(repeated), row.repeat_hint))
    return meanings


# --- expanding a config --------------------------------------------------------------------------

def expand(config, gpu_available, trt_available, op_name=None, gpu_mode="auto"):
    """The config's cases in file order (devices, then the inner dimensions in table order).

    op_name: the service op the case options address; defaults to the config's op.<name>. A config
    without op lines (TIPC's 13-line variant) can pass the op of config.yml, else its cases carry
    only the fixed overrides and config.yml decides the device. gpu_mode: auto skips GPU cases without a
    GPU; on fails them (a GPU CI machine whose driver broke must not go green); off skips them.
    """
    op_name = op_name or config.op_name
    fixed = ["{}={}".format(o.key, o.values[0]) for o in config.fixed_overrides if o.values[0] is not None]
    cases = []
    for ids in _values(config, "devices"):
        device = "cpu" if ids is None else "gpu"
        device_cases = [_case(config.model_name, device, ids, combination, op_name, fixed)
                        for combination in _combinations(config, device)]
        if not device_cases:
            _no_case_error(config, device)
        cases += device_cases
    for case in cases:
        case.twin = _twin(case, cases)
        case.skip_reason, case.fail_reason = gpu_reasons(case.device, gpu_available, gpu_mode)
        if not (case.skip_reason or case.fail_reason) and case.meanings.get("use_trt") and not trt_available:
            case.skip_reason = SKIP_NO_TRT
    return cases


def _values(config, key):
    """The meanings of a dimension's values in the config, or [its default] when the config lacks it."""
    override = config.matrix_override(key)
    return [dimension(key).default] if override is None else parse_values(key, override.values)


def _combinations(config, device):
    """Every allowed combination (key -> meaning) of the device's dimensions, outer loop first."""
    rows = [row for row in DIMENSIONS if row.device == device]
    for values in itertools.product(*(_values(config, row.key) for row in rows)):
        settings = dict(zip((row.key for row in rows), values))
        if all(rule.allows(settings) for rule in CONSTRAINTS if rule.device == device):
            yield settings


def _case(model_name, device, ids, meanings, op_name, fixed):
    rows = [dimension(key) for key in meanings]
    name = "_".join([device] + ["{}_{}".format(row.token, row.show(meanings[row.key])) for row in rows])
    options = dict(DEVICE_OPTIONS[device](ids))
    for row in rows:
        options.update(row.options(meanings[row.key]))
    ordered = sorted(options, key=lambda leaf: OPTION_ORDER.index(leaf) if leaf in OPTION_ORDER else len(OPTION_ORDER))
    opts = [] if op_name is None else ["op.{}.{}.{}={}".format(op_name, SECTION, leaf, options[leaf]) for leaf in ordered]
    settings = {"devices": ids or "", **{row.key: row.show(meanings[row.key]) for row in rows}}
    return Case(name, device, settings, opts + fixed, meanings.get("precision", "fp32"), model_name=model_name,
                meanings={"devices": ids, **meanings})


def _twin(case, cases):
    """The name of the case's baseline twin among cases, or None."""
    for key, baseline in TWIN_BASELINES.items():
        if case.meanings.get(key):
            wanted = dict(case.meanings, **baseline)
            return next((other.name for other in cases if other.meanings == wanted), None)
    return None


def _no_case_error(config, device):
    rule = next(rule for rule in CONSTRAINTS if rule.device == device)
    override = next((config.matrix_override(key) for key in rule.keys if config.matrix_override(key)), None)
    raise ConfigError(config.path, override.line if override else None, override.key if override else None,
                      "no {} case: {}".format(device.upper(), rule.reason))


def gpu_reasons(device, gpu_available, gpu_mode):
    """(skip_reason, fail_reason) of a case on this machine for its GPU needs (the harness's own cases and
    a dialect's alike): a GPU case without a GPU is skipped, or fails with --gpu on."""
    if device != "gpu" or gpu_available:
        return None, None
    if gpu_mode == "on":
        return None, FAIL_NO_GPU
    return (SKIP_GPU_OFF if gpu_mode == "off" else SKIP_NO_GPU), None
