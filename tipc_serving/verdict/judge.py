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
VERDICTS = ("match", "tie", "class_mismatch", "prob_mismatch", "topk_mismatch", "topk_short", "duplicate_mismatch",
            "missing", "error", "unexpected")
PASSING_VERDICTS = ("match", "tie")
_VERDICT_BY_KIND = {"class": "class_mismatch", "prob": "prob_mismatch", "topk": "topk_mismatch",
                    "cut": "topk_mismatch", "short": "topk_short", "duplicate": "duplicate_mismatch",
                    "missing": "missing", "error": "error", "unexpected": "unexpected"}


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


def _reference_prob(reference, class_id):
    """The reference's own probability of a class: from its whole vector where it has one (tools/infer.py
    keeps it), else from its top-k; None when the class is beyond what the reference recorded."""
    if reference.all_probs and 0 <= class_id < len(reference.all_probs):
        return reference.all_probs[class_id]
    return _probabilities(reference).get(class_id)


def _compared_probabilities(reference, served):
    """(served, reference) probability of every served class whose reference probability is known."""
    pairs = [(p, _reference_prob(reference, c)) for c, p in zip(served.class_ids, served.probs)]
    return [(s, r) for s, r in pairs if r is not None]


def _short_difference(reference, served):
    """A served top-k cut shorter than the reference's: the classes it left out are unchecked, so it fails."""
    depth = len(reference.class_ids)
    if len(served.class_ids) >= depth:
        return None
    return Difference("short", "top-{}".format(depth), "{} classes".format(depth),
                      "{} classes".format(len(served.class_ids)),
                      note="the served answer lists fewer classes than the reference's top-{}".format(depth))


def _class_difference(reference, served, tol):
    """None when the top-1 classes agree; else a tie (the reference's own margin between the two classes is
    within tolerance) or a failure."""
    if served.class_id == reference.class_id:
        return None
    own = _reference_prob(reference, served.class_id)
    if own is None:
        return Difference("class", "class_id", reference.class_id, served.class_id,
                          note="class {} is not in the reference top-{}".format(served.class_id,
                                                                                len(reference.class_ids)))
    margin, allowed = abs_diff(own, reference.prob), tol.allowed(reference.prob)
    tie = margin <= allowed
    note = "{}: reference prob {} for class {}, {} for class {}".format(
        "tie" if tie else "not a tie", format_prob(reference.prob), reference.class_id, format_prob(own),
        served.class_id)
    return Difference("class", "class_id", reference.class_id, served.class_id, margin, allowed, tie, note)


def _prob_differences(reference, served, tol):
    """A failure for each served class whose probability is not close to its own reference probability."""
    differences = []
    for class_id, served_prob in zip(served.class_ids, served.probs):
        ref_prob = _reference_prob(reference, class_id)
        if ref_prob is not None and not tol.close(served_prob, ref_prob):
            kind = "prob" if class_id == reference.class_id else "topk"
            label = "prob" if kind == "prob" else "topk prob"
            differences.append(Difference(kind, "{} (class {})".format(label, class_id), ref_prob, served_prob,
                                          abs_diff(served_prob, ref_prob), tol.allowed(ref_prob)))
    return differences


def _cut_difference(class_id, depth, compared, kth, tol, note):
    """A class on one side of the top-k cut only: a tie when `compared` is within tolerance of the k-th."""
    ok = tol.close(compared, kth)
    return Difference("cut", "top-{} (class {})".format(depth, class_id), kth, compared, abs_diff(compared, kth),
                      tol.allowed(kth), ok, "{}: {}".format(note, "tie at the cut" if ok else "beyond tolerance"))


def _cut_differences(reference, served, tol):
    """Classes in one top-k but not the other, over as many entries as both sides have.

    A reference class the served top-k left out: its reference probability must be within tolerance of the
    served k-th (it was ranked just below it). A served class from outside the reference's top-k: its own
    reference probability must be within tolerance of the reference's k-th (it was just outside).
    At depth 1 the cut is the top-1 class, which _class_difference already judges.
    """
    depth = min(len(reference.class_ids), len(served.class_ids))
    if depth < 2:
        return []
    ref_top, served_top = reference.class_ids[:depth], served.class_ids[:depth]
    ref_kth, served_kth = reference.probs[depth - 1], served.probs[depth - 1]
    rank = "{}{}".format(depth, _ordinal_suffix(depth))
    differences = [_cut_difference(c, depth, _reference_prob(reference, c), served_kth, tol,
                                   "class {} is not in the served top-{}; its reference prob against the served {} "
                                   "prob".format(c, depth, rank))
                   for c in ref_top if c not in served_top]
    for c in served_top:
        if c in ref_top:
            continue
        own = _reference_prob(reference, c)
        if own is None:
            differences.append(Difference("cut", "top-{} (class {})".format(depth, c), "unknown",
                                          _probabilities(served)[c], note="class {} is not in the reference top-{} "
                                          "and the reference has no probability for it".format(c, depth)))
        else:
            differences.append(_cut_difference(c, depth, own, ref_kth, tol,
                                               "class {} is not in the reference top-{}; its own reference prob "
                                               "against the reference {} prob".format(c, depth, rank)))
    return differences


def _ordinal_suffix(number):
    if 10 <= number % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def _compare_answers(image, reference, served, tol):
    found = [_short_difference(reference, served), _class_difference(reference, served, tol)]
    differences = [d for d in found if d] + _prob_differences(reference, served, tol) \
        + _cut_differences(reference, served, tol)
    return _judged(image, differences, _compared_probabilities(reference, served))


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
    # how many of the reference's images would fail a swapped top-1 at this tolerance (see discriminates)
    discrimination: Optional[dict] = None

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
    def discrimination_warning(self):
        """A warning when fewer than half of the images can tell a swapped top-1 from a right one."""
        d = self.discrimination
        if not d or not d["images"] or 2 * d["discriminating"] >= d["images"]:
            return None
        return ("warning: only {} of {} images can tell a swapped top-1 from a right one at this tolerance "
                "(their reference's two best classes are closer than it)".format(d["discriminating"], d["images"]))

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
            "discrimination": self.discrimination,
        }

    @classmethod
    def from_dict(cls, data):
        """The CheckResult that as_dict() wrote (a check.json, or a case's check in results.json)."""
        return cls(_number(data["atol"]), _number(data["rtol"]), [ImageCheck.from_dict(e) for e in data.get("entries", [])],
                   list(data.get("problems", [])), list(data.get("notes", [])), data.get("skip_reason"),
                   data.get("discrimination"))


class ServedResults(list):
    """load_served's list of ImageResult, carrying what the logs lacked (a log without result lines)."""

    def __init__(self, results=(), problems=()):
        super().__init__(results)
        self.problems = list(problems)


def _lines_per_image(served):
    """image -> every result line for it, in log order (a client that re-sends an image repeats it)."""
    lines = {}
    for result in served:
        lines.setdefault(result.image, []).append(result)
    return lines


def _worst(checks):
    """The check with the most severe verdict (VERDICTS order); the first of equals."""
    return max(checks, key=lambda check: VERDICTS.index(check.verdict))


def _judge_lines(image, reference, answers, tol):
    """Every line of an image is judged and the worst decides, so a wrong answer cannot hide behind a later
    right one; lines that disagree with each other fail as such."""
    if not answers:
        return check_image(image, reference, None, tol)
    checks = [check_image(image, reference, answer, tol) for answer in answers]
    entry = _worst(checks)
    if len(answers) > 1:
        distinct = {(tuple(a.class_ids), tuple(a.probs), a.err_no) for a in answers}
        if len(distinct) > 1:
            entry.differences.append(Difference(
                "duplicate", "result", "{} lines".format(len(answers)), "{} different answers".format(len(distinct)),
                note="the served log answers this image {} times, differently".format(len(answers))))
            entry.verdict = _verdict(entry.differences)
        else:
            entry.remarks.append("{} identical result lines in the served log".format(len(answers)))
    return entry


def identical_answers(first, second):
    """Whether two served logs' answers are bit-identical (as printed): the same images, classes and
    probabilities. Two settings that should compute differently (oneDNN, TensorRT) never are."""
    def answers(results):
        return sorted((r.image, tuple(r.class_ids), tuple(r.probs)) for r in results if not r.err_no)

    return bool(answers(first)) and answers(first) == answers(second)


def discriminates(reference, tol):
    """Whether a swapped top-1 would fail for this image: the reference's margin between its two best
    classes is beyond tolerance. Where it is not, a wrong top-1 passes as a tie, and the image proves little."""
    if not _answered(reference):
        return False
    probs = sorted(reference.all_probs or reference.probs, reverse=True)
    return len(probs) < 2 or abs_diff(probs[0], probs[1]) > tol.allowed(probs[0])


def compare(reference: Dict[str, ImageResult], served: Iterable[ImageResult],
            atol=DEFAULT_ATOL, rtol=DEFAULT_RTOL) -> CheckResult:
    """Judge every reference image and every served image the reference lacks."""
    tol = Tolerance(atol, rtol)
    served = served if isinstance(served, ServedResults) else ServedResults(served)
    lines = _lines_per_image(served)
    result = CheckResult(atol, rtol, problems=list(served.problems))
    if not reference:
        result.problems.append("the reference has no images")
    result.entries = [_judge_lines(image, ref, lines.get(image, []), tol) for image, ref in reference.items()]
    result.entries += [_judge_lines(image, None, answers, tol) for image, answers in lines.items()
                       if image not in reference]
    result.notes += ["{}: {}".format(e.image, remark) for e in result.entries for remark in e.remarks
                     if "result lines" in remark]
    per_image = {image: discriminates(ref, tol) for image, ref in reference.items() if _answered(ref)}
    result.discrimination = {"images": len(per_image), "discriminating": sum(per_image.values()),
                             "per_image": per_image}
    if result.discrimination_warning:
        result.notes.append(result.discrimination_warning)
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

