"""PaddlePaddle's repositories, one module each, and which one a config belongs to.

Each model repository ships its own `test_serving_infer_python.sh` (or `test_serving.sh`) with its own
config layout. Each repository's module (its Dialect) reads that layout by key (never by line number) and
says what the script would run, case by case: the conversions, the service's and the clients' commands
exactly as the script's `eval` gives them (quotes removed), the log names (the case names), the edits the
script makes with `sed` (config.yml, the converted models' prototxt, the web service), and where the
repository's own inference is (the task level's reference).

    dialect          repository's script                              cases (the script's log names)
    PaddleClas       test_tipc/test_serving_infer_python.sh           gpu_usetrt__precision_, cpu
    PaddleDetection  test_tipc/test_serving_infer_python.sh           cpu, gpu (file order of --opt)
    PaddleOCR        test_tipc/test_serving_infer_python.sh           gpu_usetrt_False_precision_fp32,
                                                                      cpu_usemkldnn_..._threads_6
    TIPC template    the models template's test_serving.sh: cpu_usemkldnn_..., gpu_usetrt_... (server_infer_* logs)
    PaddleOCR legacy PaddleOCR's test_serving.sh of 2021-2022, which the template copies (the same names)
    PaddleSeg        test_tipc/test_serving_infer_python.sh           gpu, cpu
    PaddleVideo      test_tipc/test_serving_infer_python.sh           gpu (one case, no device line)
    Step6            models tutorials' test_serving_infer_python.sh   gpu, cpu

The harness's own configs (tipc_serving/config/tipc.py) are the `tipc-serving` dialect: its matrix, its
service and clients. A config is recognised by its header and the keys only its dialect has.
"""
import re

from ..errors import UsageError
from .base import Entries  # noqa: F401  (config/tipc.py reads a config into it)
from .models_step6 import Step6
from .models_template import Template
from .paddleclas import PaddleClas
from .paddledetection import PaddleDetection
from .paddleocr import PaddleOCR, PaddleOCRLegacy
from .paddleseg import PaddleSeg
from .paddlevideo import PaddleVideo

OWN = "tipc-serving"

PADDLEDETECTION, PADDLEOCR, PADDLECLAS = PaddleDetection(), PaddleOCR(), PaddleClas()
PADDLESEG, PADDLEVIDEO, STEP6 = PaddleSeg(), PaddleVideo(), Step6()
TEMPLATE, PADDLEOCR_LEGACY = Template(), PaddleOCRLegacy()
DIALECTS = (PADDLEDETECTION, PADDLEOCR, PADDLECLAS, PADDLESEG, PADDLEVIDEO, STEP6, TEMPLATE, PADDLEOCR_LEGACY)
# Keys only the harness's own configs have: a config with one of them is the tipc-serving dialect.
OWN_KEYS = ("pipeline_rpc", "atol", "rtol", "ready_timeout", "pipeline")
OWN_MATRIX = re.compile(r"(--opt )?op\.\w+\.local_service_conf\.(use_mkldnn|thread_num|use_trt|precision)")


def detect(header, entries, placeholders=0):
    """The dialect of a config (a Dialect, or OWN), from its header and the keys only that dialect has.
    placeholders: how many `null:null` lines it has (the template's layout keeps its line count with them)."""
    keys = set(entries.keys())
    if header == "serving_infer_python_params":
        return PADDLEDETECTION
    if keys & set(OWN_KEYS) or any(OWN_MATRIX.fullmatch(k) and k.startswith("--opt") for k in keys):
        return OWN
    if keys & {"--det_dirname", "--rec_dirname"}:
        return PADDLEOCR
    if "--use_gpu" in keys or any(k.endswith("inference_model_url") for k in keys):
        return PADDLECLAS
    if keys & {"--input_name", "--output_name"}:
        return PADDLESEG
    if "--input_file" in keys:
        return PADDLEVIDEO
    if any(re.fullmatch(Step6.patterns[0], k) for k in keys) and not any(k.startswith("op.") for k in keys):
        devices_only = all(not OWN_MATRIX.fullmatch(k) for k in keys)
        return STEP6 if devices_only else OWN
    if placeholders and any(re.fullmatch(Template.patterns[0], k) for k in keys):
        return TEMPLATE
    if not placeholders and PADDLEOCR_LEGACY.signature(keys):
        return PADDLEOCR_LEGACY
    return OWN


NAMES = [OWN] + [d.name for d in DIALECTS]
# Layouts that the harness's own configs can have too: told apart by the web service's --name option.
AMBIGUOUS = (Step6, Template)


def by_name(name):
    """The dialect called name (OWN for the harness's own); a UsageError lists the names otherwise."""
    if name == OWN:
        return OWN
    found = next((d for d in DIALECTS if d.name.lower() == name.lower()), None)
    if found is None:
        raise UsageError("unknown dialect '{}' (known: {})".format(name, ", ".join(NAMES)))
    return found


def owners_of(key):
    """The dialects a key belongs to (for a message better than 'unknown key')."""
    return [d.name for d in DIALECTS if d.knows(key)]


def build(dialect, entries, errors):
    """The DialectConfig of a foreign config; every problem goes to errors (None when there is any)."""
    before = len(errors)
    dialect.check(entries, errors)
    if len(errors) > before:
        return None
    return dialect.build(entries)
