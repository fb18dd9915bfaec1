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
