"""How close a served probability must be to the reference's: the tolerances, in one place.

One fp32 reference on CPU for every case; lower precisions get wider tolerances instead of their own
reference, so a setting that drifts is caught rather than baked into its reference.
"""
import math
from dataclasses import dataclass

DEFAULT_ATOL = 1e-3  # TIPC's own defaults
DEFAULT_RTOL = 1e-3
TOLERANCE_BY_PRECISION = {"fp32": (DEFAULT_ATOL, DEFAULT_RTOL), "fp16": (1e-2, 1e-2), "int8": (5e-2, 5e-2)}


def abs_diff(served, ref):
    """|served - ref|; infinite when either is NaN, so that a NaN never passes nor hides from a max."""
    diff = abs(served - ref)
    return math.inf if math.isnan(diff) else diff


def rel_diff(served, ref):
    """abs_diff relative to |ref|; any difference from a zero reference is infinitely relative."""
    diff = abs_diff(served, ref)
    if math.isinf(diff) or diff == 0:
        return diff
    return math.inf if ref == 0 else diff / abs(ref)


@dataclass(frozen=True)
class Tolerance:
    """numpy.isclose's rule, so the numbers mean what TIPC's atol/rtol mean."""

    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL

    def __post_init__(self):
        if not (self.atol >= 0 and self.rtol >= 0):  # also rejects NaN
            raise ValueError("atol and rtol must be non-negative, got {} and {}".format(self.atol, self.rtol))

    def allowed(self, ref):
        return self.atol + self.rtol * abs(ref)

    def close(self, served, ref):
        return abs_diff(served, ref) <= self.allowed(ref)


def for_case(precision, config_atol=None, config_rtol=None):
    """The Tolerance of a case: the config's values replace the fp32 defaults; a lower precision never
    gets a tighter tolerance than its own default."""
    atol = DEFAULT_ATOL if config_atol is None else config_atol
    rtol = DEFAULT_RTOL if config_rtol is None else config_rtol
    if precision != "fp32":
        precision_atol, precision_rtol = TOLERANCE_BY_PRECISION.get(precision, (atol, rtol))
        atol, rtol = max(atol, precision_atol), max(rtol, precision_rtol)
    return Tolerance(atol, rtol)


# ------------------------------------------------------------------ tensors (verdict/tensors.py)
# How close a served predictor's output tensor must be to Paddle Inference's on the original model, run with
# the reference settings (CPU fp32, no oneDNN, no TensorRT). One row per engine the served op ran, by device
# and precision; figures after PaddleTest's inference QA (fp32 1e-5; oneDNN 1e-4 to 1e-2; TensorRT fp16 1e-2 to
# 2e-2, int8 up to 5e-1) and OpenVINO's comparators (fp32 1e-4 abs/rel on accelerators). Integer outputs are
# always compared exactly; NaN and Inf never pass.
TENSOR_TOLERANCE = {
    ("cpu", "fp32"): Tolerance(1e-5, 1e-5),
    ("cpu_onednn", "fp32"): Tolerance(1e-4, 1e-3),
    ("cpu_onednn", "bf16"): Tolerance(1e-2, 1e-2),
    ("cpu", "bf16"): Tolerance(1e-2, 1e-2),
    ("gpu", "fp32"): Tolerance(1e-4, 1e-4),
    ("gpu_trt", "fp32"): Tolerance(1e-4, 1e-3),
    ("gpu_trt", "fp16"): Tolerance(2e-2, 2e-2),
    ("gpu_trt", "int8"): Tolerance(5e-1, 5e-1),
}


def engine_of(settings):
    """The TENSOR_TOLERANCE row of an op's LocalPredictor settings (as its load_model_config got them)."""
    precision = str(settings.get("precision") or "fp32").lower()
    if settings.get("use_gpu"):
        engine = "gpu_trt" if settings.get("use_trt") else "gpu"
        precision = precision if engine == "gpu_trt" else "fp32"  # precision is TensorRT's alone on a GPU
    else:  # oneDNN needs IR optimisation: without it enable_mkldnn() does nothing (ENVIRONMENT.md)
        engine = "cpu_onednn" if settings.get("use_mkldnn") and settings.get("ir_optim") else "cpu"
        precision = precision if precision == "bf16" else "fp32"  # Serving ignores int8/fp16 on CPU
    return engine, precision


def for_tensor(settings, name, overrides=None):
    """(Tolerance, why) of one output of an op: a per-output override, else the row of the op's engine."""
    if overrides and name in overrides:
        atol, rtol = overrides[name]
        return Tolerance(atol, rtol), "override for {}".format(name)
    engine, precision = engine_of(settings)
    row = TENSOR_TOLERANCE.get((engine, precision))
    if row is None:
        raise ValueError("no tensor tolerance for {} {}".format(engine, precision))
    return row, "{} {}".format(engine.replace("_", " ").replace("onednn", "oneDNN").replace("trt", "TensorRT"),
                               precision)


# ------------------------------------------------------------------ task answers (verdict/tasks/)
# How close a served answer must be to the repository's own inference script's (issue 21). The two sides share
# the model and the image but not always every step of pre- and postprocessing: a box the detector places 2 px
# differently gives the recogniser a slightly different crop, whose text should not change but whose score may
# move a little. Scores printed by the reference with few decimals are compared within that rounding as well.
@dataclass(frozen=True)
class TaskTolerance:
    score: float          # |served - reference| of a probability or a recognition score
    corner_px: float      # OCR: the farthest corner of a paired box, in pixels
    pair_iou: float       # OCR and detection: least IoU for two boxes to be the same object
    det_score_min: float  # detection: boxes below this score are not compared (both sides' usual cut)
    pixel_agreement: float  # segmentation: least share of pixels with the same label
    miou: float           # segmentation: least mIoU of the served label map against the reference's


TASK_TOLERANCE = {
    "fp32": TaskTolerance(score=DEFAULT_ATOL, corner_px=3.0, pair_iou=0.9, det_score_min=0.5,
                          pixel_agreement=0.999, miou=0.99),
    "fp16": TaskTolerance(score=1e-2, corner_px=4.0, pair_iou=0.8, det_score_min=0.5, pixel_agreement=0.99,
                          miou=0.95),
    "int8": TaskTolerance(score=5e-2, corner_px=6.0, pair_iou=0.8, det_score_min=0.5, pixel_agreement=0.98,
                          miou=0.9),
}
# A recognition score follows its crop: within this of the reference's when the boxes agree within corner_px.
OCR_SCORE = {"fp32": 0.03, "fp16": 0.04, "int8": 0.06}
# A box's corners: within corner_px, or this share of the line's height where that is more. The detector's box is
# its text region grown by an offset that follows the line's height, found on a map the image was resized for: a
# service that resizes otherwise (PaddleOCR's: long side 960, then up to a multiple of 128; predict_system's: at
# most 960, a multiple of 32) moves a tall line's corners further (the stand-in's 80 px '2024': 3.2 px).
OCR_CORNER_SHARE = {"fp32": 0.05, "fp16": 0.06, "int8": 0.08}


def for_task(precision):
    """The TaskTolerance of a case's precision (anything else than fp16/int8 is judged as fp32)."""
    return TASK_TOLERANCE.get(str(precision or "fp32").lower(), TASK_TOLERANCE["fp32"])
