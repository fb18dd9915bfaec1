"""The judge: does what the served model answered match the Paddle Inference reference?

The reference is tools/infer.py's --output-json document; the served side is the result lines of one
or more client logs (verdict/result_lines.py). Image by image, the top-1 class_id must be equal and
the probability of every class present in both top-k lists must be close the way numpy.isclose means
it: |served - ref| <= atol + rtol * |ref| (verdict/tolerance.py). Two disagreements are ties,
reported but not failures, because float noise may legitimately reorder nearly equal classes:

  * top-1 tie: the served top-1 class is one the reference rates within tolerance of its own top-1;
  * top-k cut tie: a class is in one side's top-k but not the other's, and its probability is within
    tolerance of the other side's k-th probability.

CheckResult.as_dict() is the one schema of a check: the checker writes it (check.json), the case
verdict reads it, and the report stores it and renders its differences (CheckResult.from_dict).
"""
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional

from ..jsonfile import json_safe
from .result_lines import ImageResult, format_prob
from .tolerance import DEFAULT_ATOL, DEFAULT_RTOL, Tolerance, abs_diff, rel_diff

# Priority order: an image gets the first failing verdict of this list, else "tie" or "match".
VERDICTS = ("match", "tie", "class_mismatch", "prob_mismatch", "topk_mismatch", "missing", "error", "unexpected")
PASSING_VERDICTS = ("match", "tie")
_VERDICT_BY_KIND = {"class": "class_mismatch", "prob": "prob_mismatch", "topk": "topk_mismatch",
                    "cut": "topk_mismatch", "missing": "missing", "error": "error", "unexpected": "unexpected"}


def _largest(values):
    """The max of the values that exist (None when there are none): a case may compare nothing."""
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _number(value):
    """A number read back from JSON, where json_safe wrote inf and NaN as strings."""
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return value

# --- one image -----------------------------------------------------------------------------------

@dataclass
class Difference:
    """One compared quantity worth showing a person: a failure, or a tie that passed (ok=True)."""

    kind: str  # class, prob, topk, cut, missing, error, unexpected
    field: str
    reference: object
    served: object
    abs_diff: Optional[float] = None
    tolerance: Optional[float] = None
    ok: bool = False
    note: str = ""

    def describe(self):
        text = "{}: reference {}, served {}".format(self.field, _show(self.reference), _show(self.served))
        if self.abs_diff is not None:
            text += ", diff {} {} tolerance {}".format(
                _show_diff(self.abs_diff), "<=" if self.ok else ">", _show_diff(self.tolerance))
        return text + (" ({})".format(self.note) if self.note else "")

    def as_dict(self):
        return {"kind": self.kind, "field": self.field, "reference": json_safe(self.reference),
                "served": json_safe(self.served), "abs_diff": json_safe(self.abs_diff),
                "tolerance": json_safe(self.tolerance), "ok": self.ok, "note": self.note}

    @classmethod
    def from_dict(cls, data):
        return cls(data["kind"], data["field"], _number(data["reference"]), _number(data["served"]),
                   _number(data.get("abs_diff")), _number(data.get("tolerance")), bool(data.get("ok")),
                   data.get("note", ""))


@dataclass
class ImageCheck:
    """The verdict for one image, with the differences that decided it."""

    image: str
    verdict: str
    differences: List[Difference] = field(default_factory=list)
    max_abs_diff: Optional[float] = None
    max_rel_diff: Optional[float] = None
    remarks: List[str] = field(default_factory=list)

    @property
    def ok(self):
        return self.verdict in PASSING_VERDICTS

    @property
    def details(self):
        """One readable sentence: what decided the verdict, and any remark (duplicate lines...)."""
        parts = [d.describe() for d in self.differences] + self.remarks
        return "; ".join(parts) or "within tolerance"

    def as_dict(self):
        return {"image": self.image, "verdict": self.verdict, "details": self.details,
                "max_abs_diff": json_safe(self.max_abs_diff), "max_rel_diff": json_safe(self.max_rel_diff),
                "differences": [d.as_dict() for d in self.differences], "remarks": list(self.remarks)}

    @classmethod
    def from_dict(cls, data):
        return cls(data["image"], data["verdict"], [Difference.from_dict(d) for d in data.get("differences", [])],
                   _number(data.get("max_abs_diff")), _number(data.get("max_rel_diff")), list(data.get("remarks", [])))


def _answered(result):
    return not result.err_no and bool(result.class_ids)


def _describe_result(result):
    if result.err_no or not result.class_ids:
        return "err_no {}: {}".format(result.err_no, result.err_msg or "no classes")
    return "class {} prob {}".format(result.class_id, format_prob(result.prob))


def _verdict(differences):
    failed = {_VERDICT_BY_KIND[d.kind] for d in differences if not d.ok}
    for verdict in VERDICTS[len(PASSING_VERDICTS):]:
        if verdict in failed:
            return verdict
    return "tie" if differences else "match"


def _judged(image, differences, probability_pairs=(), remarks=()):
    """An ImageCheck whose verdict and max differences follow from what was compared."""
    pairs = list(probability_pairs)
    return ImageCheck(image, _verdict(differences), list(differences),
                      _largest(abs_diff(s, r) for s, r in pairs), _largest(rel_diff(s, r) for s, r in pairs),
                      list(remarks))


def _probabilities(result):
    return dict(zip(result.class_ids, result.probs))


def _shared_probabilities(reference, served):
    """(served, reference) probability of every class in both top-k lists: the compared numbers."""
    served_probs = _probabilities(served)
    return [(served_probs[c], p) for c, p in zip(reference.class_ids, reference.probs) if c in served_probs]


def _class_difference(reference, served, tol):
    """None when the top-1 classes agree; else a tie (the reference rates both within tolerance) or a failure."""
    if served.class_id == reference.class_id:
        return None
    ref_probs = _probabilities(reference)
    if served.class_id not in ref_probs:
        return Difference("class", "class_id", reference.class_id, served.class_id,
                          note="class {} is not in the reference top-{}".format(served.class_id, len(ref_probs)))
    gap, allowed = abs_diff(ref_probs[served.class_id], reference.prob), tol.allowed(reference.prob)
    tie = gap <= allowed
    note = "{}: reference prob {} for class {}, {} for class {}".format(
        "tie" if tie else "not a tie", format_prob(reference.prob), reference.class_id,
        format_prob(ref_probs[served.class_id]), served.class_id)
    return Difference("class", "class_id", reference.class_id, served.class_id, gap, allowed, tie, note)


def _prob_differences(reference, served, tol):
    """A failure for each class whose reference and served probabilities are not close."""
    differences = []
    served_probs = _probabilities(served)
    for class_id, ref_prob in zip(reference.class_ids, reference.probs):
        if class_id in served_probs and not tol.close(served_probs[class_id], ref_prob):
            kind = "prob" if class_id == reference.class_id else "topk"
            label = "prob" if kind == "prob" else "topk prob"
            differences.append(Difference(kind, "{} (class {})".format(label, class_id), ref_prob,
                                          served_probs[class_id], abs_diff(served_probs[class_id], ref_prob),
                                          tol.allowed(ref_prob)))
    return differences


def _cut_difference(class_id, depth, absent_from, ref_prob, served_prob, tol):
    """A class outside one side's top-k: a tie when its probability is within tolerance of that side's k-th."""
    ok = tol.close(served_prob, ref_prob)
    note = "class {} is not in the {} top-{}; compared with the {} {}{} prob: {}".format(
        class_id, absent_from, depth, absent_from, depth, _ordinal_suffix(depth),
        "tie at the cut" if ok else "beyond tolerance")
    return Difference("cut", "top-{} (class {})".format(depth, class_id), ref_prob, served_prob,
                      abs_diff(served_prob, ref_prob), tol.allowed(ref_prob), ok, note)


def _cut_differences(reference, served, tol):
    """Classes in one top-k but not the other, over as many entries as both sides have.

    At depth 1 the cut is the top-1 class, which _class_difference already judges.
    """
    depth = min(len(reference.class_ids), len(served.class_ids))
    if depth < 2:
        return []
    ref_top, served_top = reference.class_ids[:depth], served.class_ids[:depth]
    ref_probs, served_probs = _probabilities(reference), _probabilities(served)
    ref_kth, served_kth = reference.probs[depth - 1], served.probs[depth - 1]
    return ([_cut_difference(c, depth, "served", ref_probs[c], served_kth, tol)
             for c in ref_top if c not in served_top]
            + [_cut_difference(c, depth, "reference", ref_kth, served_probs[c], tol)
               for c in served_top if c not in ref_top])


def _ordinal_suffix(number):
    if 10 <= number % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def _compare_answers(image, reference, served, tol):
    class_difference = _class_difference(reference, served, tol)
    differences = ([class_difference] if class_difference else []) + _prob_differences(reference, served, tol) \
        + _cut_differences(reference, served, tol)
    return _judged(image, differences, _shared_probabilities(reference, served))


def check_image(image, reference, served, tol):
    """Compare one image's reference and served results; either may be None (absent from its side)."""
    if served is None:
        return _judged(image, [Difference("missing", "result", _describe_result(reference), "absent",
                                          note="no result line for this image in the served log")])
    if reference is None:
        return _judged(image, [Difference("unexpected", "result", "absent", _describe_result(served),
                                          note="the reference has no such image")])
    if not _answered(reference):
        if not _answered(served):
            return _judged(image, [], remarks=["rejected by both the reference and the served model"])
        return _judged(image, [Difference("unexpected", "result", _describe_result(reference),
                                          _describe_result(served),
                                          note="the served model answered an image the reference rejected")])
    if not _answered(served):
        return _judged(image, [Difference("error", "err_no", _describe_result(reference), _describe_result(served),
                                          note="the served model returned an error")])
    return _compare_answers(image, reference, served, tol)


# --- a whole case --------------------------------------------------------------------------------

@dataclass
class CheckResult:
    """The outcome of comparing a served log (or a reference) with a reference (or a golden file)."""

    atol: float
    rtol: float
    entries: List[ImageCheck] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)  # failures not tied to one image
    notes: List[str] = field(default_factory=list)  # worth reading, not failures
    skip_reason: Optional[str] = None

    @classmethod
    def skip(cls, atol, rtol, reason):
        return cls(atol, rtol, skip_reason=reason)

    @property
    def skipped(self):
        return self.skip_reason is not None

    @property
    def passed(self):
        return not self.skipped and not self.problems and all(entry.ok for entry in self.entries)

    @property
    def failed(self):
        """What decides the exit status: a skipped comparison is not a failure."""
        return not self.skipped and not self.passed

    @property
    def status(self):
        return "skip" if self.skipped else "pass" if self.passed else "fail"

    @property
    def counts(self):
        counts = dict.fromkeys(VERDICTS, 0)
        for entry in self.entries:
            counts[entry.verdict] += 1
        return counts

    @property
    def ties(self):
        return self.counts["tie"]

    @property
    def images_ok(self):
        return sum(entry.ok for entry in self.entries)

    @property
    def max_abs_diff(self):
        return _largest(entry.max_abs_diff for entry in self.entries)

    @property
    def max_rel_diff(self):
        return _largest(entry.max_rel_diff for entry in self.entries)

    def summary_line(self):
        if self.skipped:
            return "SKIP: {}".format(self.skip_reason)
        failures = ", ".join("{} {}".format(n, verdict) for verdict, n in self.counts.items()
                             if n and verdict not in PASSING_VERDICTS)
        line = "{} {}/{} images{}, max abs diff {}, max rel diff {}, {} (atol {:g}, rtol {:g})".format(
            self.status.upper(), self.images_ok, len(self.entries), " ({})".format(failures) if failures else "",
            _show_max(self.max_abs_diff), _show_max(self.max_rel_diff),
            _plural(self.ties, "tie"), self.atol, self.rtol)
        return "; ".join([line] + self.problems)

    def diff_text(self):
        """Problems, a table of every failing or tied comparison, then notes; empty on a clean pass."""
        sections = ["problem: {}".format(problem) for problem in self.problems]
        rows = [_difference_row(entry, difference) for entry in self.entries if entry.verdict != "match"
                for difference in entry.differences]
        if rows:
            sections.append(_table(_TABLE_HEADER, rows))
        sections += ["note: {}".format(note) for note in self.notes]
        return "\n".join(sections)

    def as_dict(self):
        return {
            "status": self.status, "passed": self.passed, "skipped": self.skipped, "skip_reason": self.skip_reason,
            "atol": self.atol, "rtol": self.rtol, "images": len(self.entries), "images_ok": self.images_ok,
            "counts": self.counts, "ties": self.ties,
            "tie_images": [entry.image for entry in self.entries if entry.verdict == "tie"],
            "max_abs_diff": json_safe(self.max_abs_diff), "max_rel_diff": json_safe(self.max_rel_diff),
            "problems": list(self.problems), "notes": list(self.notes), "summary": self.summary_line(),
            "entries": [entry.as_dict() for entry in self.entries],
        }

    @classmethod
    def from_dict(cls, data):
        """The CheckResult that as_dict() wrote (a check.json, or a case's check in results.json)."""
        return cls(_number(data["atol"]), _number(data["rtol"]), [ImageCheck.from_dict(e) for e in data.get("entries", [])],
                   list(data.get("problems", [])), list(data.get("notes", [])), data.get("skip_reason"))


class ServedResults(list):
    """load_served's list of ImageResult, carrying what the logs lacked (a log without result lines)."""

    def __init__(self, results=(), problems=()):
        super().__init__(results)
        self.problems = list(problems)


def _latest_per_image(served):
    """image -> its last result (a re-run appends), and how many lines each duplicated image had."""
    latest, lines = {}, {}
    for result in served:
        latest[result.image] = result
        lines[result.image] = lines.get(result.image, 0) + 1
    return latest, {image: n for image, n in lines.items() if n > 1}


def compare(reference: Dict[str, ImageResult], served: Iterable[ImageResult],
            atol=DEFAULT_ATOL, rtol=DEFAULT_RTOL) -> CheckResult:
    """Judge every reference image and every served image the reference lacks."""
    tol = Tolerance(atol, rtol)
    served = served if isinstance(served, ServedResults) else ServedResults(served)
    latest, duplicates = _latest_per_image(served)
    result = CheckResult(atol, rtol, problems=list(served.problems))
    if not reference:
        result.problems.append("the reference has no images")
    result.entries = [check_image(image, ref, latest.get(image), tol) for image, ref in reference.items()]
    result.entries += [check_image(image, None, answer, tol) for image, answer in latest.items()
                       if image not in reference]
    for entry in result.entries:
        if entry.image in duplicates:
            remark = "{} result lines in the served log; the last one was compared".format(duplicates[entry.image])
            entry.remarks.append(remark)
            result.notes.append("{}: {}".format(entry.image, remark))
    return result


# --- formatting ----------------------------------------------------------------------------------

_TABLE_HEADER = ("image", "verdict", "field", "reference", "served", "diff", "tolerance", "note")


def _show(value):
    if isinstance(value, float):
        return format_prob(value)
    return str(value)


def _show_diff(value):
    return "-" if value is None else "{:.3g}".format(value)


def _show_max(value):
    if value is None:
        return "n/a"
    return "0" if value == 0 else "{:.1e}".format(value)


def _plural(count, noun):
    return "{} {}{}".format(count, noun, "" if count == 1 else "s")


def _difference_row(entry, difference):
    return (entry.image, entry.verdict, difference.field, _show(difference.reference), _show(difference.served),
            _show_diff(difference.abs_diff), _show_diff(difference.tolerance), difference.note)


def _table(header, rows):
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [header] + rows)

