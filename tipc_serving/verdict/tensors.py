"""The engine level: every output tensor a served predictor computed, against what Paddle Inference computes
on the original inference model for the same feed (chain/replay.py replays the captured feeds).

Names, shapes, dtypes and LoD must be equal; integer and bool outputs (argmax maps, ids, counts) exactly
equal; float outputs within the op's tolerance (verdict/tolerance.for_tensor: by the engine the op ran, with
per-output overrides); NaN or Inf on either side fails. Each output gets its figures, summed over the
requests: tensors compared, max abs and rel difference and where, and the least tolerance that would pass
(Polygraphy's "minimum required tolerance": the least atol at the row's rtol, and the least rtol with atol 0).

The document (TensorCheck.as_dict) goes into results.json as a case's "tensors"; `problems` fail the case,
`unavailable` makes it partial (the comparison could not be made, saying why).
"""
from dataclasses import asdict, dataclass, field
from typing import List, Optional

from . import tolerance


@dataclass
class FetchFigures:
    """One output of one op, over every captured request."""

    op: str
    name: str
    fetched: bool                 # the service asked for it (an output its postprocess ignores is still compared)
    tolerance: dict               # {"atol", "rtol", "why"}
    tensors: int = 0
    dtype: str = ""
    shapes: List[list] = field(default_factory=list)  # distinct shapes seen (variable shapes: OCR's rec)
    max_abs_diff: float = 0.0
    max_abs_where: str = ""       # "<request file> [index]"
    max_rel_diff: float = 0.0
    max_rel_where: str = ""
    least_atol: float = 0.0       # at the row's rtol
    least_rtol: float = 0.0       # with atol 0
    exact: bool = False           # integers: compared for equality
    mismatches: int = 0           # elements outside the tolerance (or unequal)
    problems: List[str] = field(default_factory=list)

    @property
    def passed(self):
        return self.tensors > 0 and not self.problems

    def describe(self):
        head = "{} {}: {} tensor{}".format(self.op, self.name, self.tensors, "" if self.tensors == 1 else "s")
        if self.exact:
            figures = "exact ({})".format(self.dtype)
        else:
            figures = "max abs diff {:.3g} at {}, max rel diff {:.3g}, least atol {:.3g} (rtol {:g})".format(
                self.max_abs_diff, self.max_abs_where or "-", self.max_rel_diff, self.least_atol,
                self.tolerance["rtol"])
        return "{}, {}{}".format(head, figures, "; " + "; ".join(self.problems) if self.problems else "")


def _where(request, index):
    return "{} {}".format(request, list(int(i) for i in index))


def compare_pair(figures, request, served, ref, served_lod=None, ref_lod=None):
    """Fold one request's output tensor into figures (numpy arrays; LoD as lists or None)."""
    import numpy as np

    figures.tensors += 1
    figures.dtype = str(served.dtype)
    if list(served.shape) not in figures.shapes:
        figures.shapes.append(list(served.shape))
    if served.dtype != ref.dtype:
        figures.problems.append("{}: dtype {} served, {} by Paddle Inference".format(request, served.dtype, ref.dtype))
        return
    if served.shape != ref.shape:
        figures.problems.append("{}: shape {} served, {} by Paddle Inference".format(
            request, list(served.shape), list(ref.shape)))
        return
    if (served_lod or None) != (ref_lod or None):
        figures.problems.append("{}: LoD {} served, {} by Paddle Inference".format(request, served_lod, ref_lod))
        return
    if served.size == 0:
        return
    if not np.issubdtype(served.dtype, np.floating):
        figures.exact = True
        unequal = served != ref
        if unequal.any():
            figures.mismatches += int(unequal.sum())
            first = np.argwhere(unequal)[0]
            figures.problems.append("{}: {} of {} values differ (integers must be equal), first at {}: {} served, {} "
                                    "by Paddle Inference".format(request, int(unequal.sum()), served.size,
                                                                 list(int(i) for i in first), served[tuple(first)],
                                                                 ref[tuple(first)]))
        return
    for side, values in (("served", served), ("Paddle Inference's", ref)):
        bad = ~np.isfinite(values)
        if bad.any():
            first = np.argwhere(bad)[0]
            figures.problems.append("{}: {} NaN/Inf in the {} tensor, first at {}".format(
                request, int(bad.sum()), side, list(int(i) for i in first)))
            return
    served64, ref64 = served.astype(np.float64), ref.astype(np.float64)
    diff = np.abs(served64 - ref64)
    scale = np.abs(ref64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0, 0.0, np.where(scale == 0, np.inf, diff / np.where(scale == 0, 1, scale)))
    tol = figures.tolerance
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    if diff[worst] > figures.max_abs_diff or not figures.max_abs_where:
        figures.max_abs_diff, figures.max_abs_where = float(diff[worst]), _where(request, worst)
    worst_rel = np.unravel_index(int(np.argmax(rel)), rel.shape)
    if rel[worst_rel] > figures.max_rel_diff or not figures.max_rel_where:
        figures.max_rel_diff, figures.max_rel_where = float(rel[worst_rel]), _where(request, worst_rel)
    figures.least_atol = max(figures.least_atol, float(np.max(diff - tol["rtol"] * scale)))
    figures.least_rtol = figures.max_rel_diff
    outside = diff > tol["atol"] + tol["rtol"] * scale
    if outside.any():
        figures.mismatches += int(outside.sum())
        first = np.argwhere(outside)[0]
        figures.problems.append("{}: {} of {} values outside atol {:g} rtol {:g} ({}), max abs diff {:.3g} at {}".format(
            request, int(outside.sum()), served.size, tol["atol"], tol["rtol"], tol["why"], float(diff[worst]),
            list(int(i) for i in worst)))


def new_figures(op, name, fetched, settings, overrides=None):
    tol, why = tolerance.for_tensor(settings, name, overrides)
    return FetchFigures(op=op, name=name, fetched=fetched, tolerance={"atol": tol.atol, "rtol": tol.rtol, "why": why})


@dataclass
class TensorCheck:
    """The engine level of one case: each op's outputs compared, or why they could not be."""

    ops: List[dict] = field(default_factory=list)       # per op: model, original, settings, reference, requests
    fetches: List[FetchFigures] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)    # fail the case (a mismatch, a capture that did not happen)
    unavailable: Optional[str] = None                    # the comparison cannot be made here: partial, saying why
    notes: List[str] = field(default_factory=list)
    replay_s: Optional[float] = None

    @property
    def failed(self):
        return bool(self.problems) or any(not f.passed for f in self.fetches)

    def fail_reasons(self):
        return self.problems + [f.describe() for f in self.fetches if not f.passed]

    def summary_line(self):
        if self.failed:
            return "tensors: " + "; ".join(self.fail_reasons())
        if self.unavailable:
            return "tensors not compared: " + self.unavailable
        worst = max((f.max_abs_diff for f in self.fetches), default=0.0)
        engines = sorted({f.tolerance["why"] for f in self.fetches})
        count = sum(f.tensors for f in self.fetches)
        return "tensors: {} output{} of {} op{} match Paddle Inference ({} tensor{}, max abs diff {:.3g}; {})".format(
            len(self.fetches), "" if len(self.fetches) == 1 else "s", len(self.ops), "" if len(self.ops) == 1 else "s",
            count, "" if count == 1 else "s", worst, ", ".join(engines))

    @property
    def max_abs_diff(self):
        return max((f.max_abs_diff for f in self.fetches), default=None)

    def as_dict(self):
        document = asdict(self)
        document["passed"] = not self.failed and not self.unavailable
        document["summary"] = self.summary_line()
        document["max_abs_diff"] = self.max_abs_diff
        for fetch, figures in zip(document["fetches"], self.fetches):
            fetch["passed"] = figures.passed
        return document

    @classmethod
    def from_dict(cls, document):
        fetches = [FetchFigures(**{k: v for k, v in f.items() if k != "passed"}) for f in document.get("fetches", [])]
        return cls(ops=document.get("ops", []), fetches=fetches, problems=document.get("problems", []),
                   unavailable=document.get("unavailable"), notes=document.get("notes", []),
                   replay_s=document.get("replay_s"))
