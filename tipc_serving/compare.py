"""The checker: does what the served model answered match the Paddle Inference reference?

The reference is tools/infer.py's --output-json document; the served side is the result lines of one
or more client logs (tipc_serving.result_lines). Image by image, the top-1 class_id must be equal and
the probability of every class present in both top-k lists must be close the way numpy.isclose means
it: |served - ref| <= atol + rtol * |ref| (TIPC's defaults, 1e-3 each). Two disagreements are ties,
reported but not failures, because float noise may legitimately reorder nearly equal classes:

  * top-1 tie: the served top-1 class is one the reference rates within tolerance of its own top-1;
  * top-k cut tie: a class is in one side's top-k but not the other's, and its probability is within
    tolerance of the other side's k-th probability.

Golden files (test_tipc/results/) pin a reference across runs: the same document plus the model's
export_info, so that a golden file made for another model, seed, init or weights is skipped (its
numbers are not comparable), never failed.
"""
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

from . import REPO_ROOT
from .errors import UserError
from .result_lines import ImageResult, format_prob, parse_lines

DEFAULT_ATOL = 1e-3
DEFAULT_RTOL = 1e-3
GOLDEN_DIR = REPO_ROOT / "test_tipc" / "results"
# Priority order: an image gets the first failing verdict of this list, else "tie" or "match".
VERDICTS = ("match", "tie", "class_mismatch", "prob_mismatch", "topk_mismatch", "missing", "error", "unexpected")
PASSING_VERDICTS = ("match", "tie")
# export_info fields that decide which numbers a model produces; paddle_version is not one of them.
IDENTITY_KEYS = ("model", "weights", "seed", "init", "pretrained_sha256")
# Reference-document keys a golden file does not keep: timings change on every run.
_GOLDEN_DROPPED_KEYS = ("benchmark", "export_info", "model_dir")  # model_dir: a path of one machine
_VERDICT_BY_KIND = {"class": "class_mismatch", "prob": "prob_mismatch", "topk": "topk_mismatch",
                    "cut": "topk_mismatch", "missing": "missing", "error": "error", "unexpected": "unexpected"}

PathLike = Union[str, Path]


class InputError(UserError):
    """A missing, unreadable or malformed input file: a usage problem (exit status 2), not a failure."""

    exit_code = 2


# --- numbers -------------------------------------------------------------------------------------

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


def _largest(values):
    """The max of the values that exist (None when there are none): a case may compare nothing."""
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _json_number(value):
    """JSON has no inf/NaN: write them as strings rather than emit invalid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
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
        return {"kind": self.kind, "field": self.field, "reference": _json_number(self.reference),
                "served": _json_number(self.served), "abs_diff": _json_number(self.abs_diff),
                "tolerance": _json_number(self.tolerance), "ok": self.ok, "note": self.note}


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
                "max_abs_diff": _json_number(self.max_abs_diff), "max_rel_diff": _json_number(self.max_rel_diff),
                "differences": [d.as_dict() for d in self.differences], "remarks": list(self.remarks)}


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
            "max_abs_diff": _json_number(self.max_abs_diff), "max_rel_diff": _json_number(self.max_rel_diff),
            "problems": list(self.problems), "notes": list(self.notes), "summary": self.summary_line(),
            "entries": [entry.as_dict() for entry in self.entries],
        }


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


# --- files ---------------------------------------------------------------------------------------

def _read_text(path, what, errors="strict"):
    """The file's text, or a one-line InputError naming the file (missing, a folder, unreadable)."""
    path = Path(path)
    if not path.exists():
        raise InputError("{} {} does not exist".format(what, path))
    try:
        return path.read_text(encoding="utf-8", errors=errors)
    except UnicodeDecodeError as err:
        raise InputError("{} {} is not UTF-8 text: {}".format(what, path, err.reason)) from None
    except OSError as err:
        raise InputError("cannot read {} {}: {}".format(what, path, err.strerror or err)) from None


def read_document(path, what="reference"):
    """A JSON object from a file, or a one-line InputError naming the file."""
    text = _read_text(path, what)
    try:
        document = json.loads(text)
    except ValueError as err:
        raise InputError("{} {} is not valid JSON: {}".format(what, path, err)) from None
    if not isinstance(document, dict):
        raise InputError("{} {} is not a JSON object".format(what, path))
    return document


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _result_from_entry(entry, where):
    """An ImageResult from one `results` entry, checked so that a bad file fails here in one line."""
    if not isinstance(entry, dict) or not isinstance(entry.get("image"), str) or not entry["image"]:
        raise InputError("{}: needs an object with an \"image\" name".format(where))
    class_ids, probs = entry.get("class_ids"), entry.get("probs")
    if not isinstance(class_ids, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in class_ids):
        raise InputError("{}: \"class_ids\" must be a list of integers".format(where))
    if not isinstance(probs, list) or not all(_is_number(p) for p in probs):
        raise InputError("{}: \"probs\" must be a list of numbers".format(where))
    if not class_ids or len(class_ids) != len(probs):
        raise InputError("{}: needs as many probs as class_ids, at least one".format(where))
    return ImageResult(entry["image"], list(class_ids), [float(p) for p in probs])


def _error_from_entry(entry, where):
    if not isinstance(entry, dict) or not isinstance(entry.get("image"), str):
        raise InputError("{}: needs an object with an \"image\" name".format(where))
    return ImageResult(entry["image"], err_no=1, err_msg=str(entry.get("error", "")))


def reference_results(document, path, what="reference"):
    """image -> ImageResult from an infer.py --output-json document; its `errors` become error results."""
    results, errors = document.get("results"), document.get("errors", [])
    if not isinstance(results, list) or not isinstance(errors, list):
        raise InputError("{} {}: \"results\" (and \"errors\") must be lists".format(what, path))
    parsed = [_result_from_entry(entry, "{} {}: results[{}]".format(what, path, i)) for i, entry in enumerate(results)]
    parsed += [_error_from_entry(entry, "{} {}: errors[{}]".format(what, path, i)) for i, entry in enumerate(errors)]
    by_image = {}
    for result in parsed:
        if result.image in by_image:
            raise InputError("{} {}: image {} is listed twice".format(what, path, result.image))
        by_image[result.image] = result
    return by_image


def load_reference(path: PathLike) -> Dict[str, ImageResult]:
    """The reference (tools/infer.py --output-json) as image -> ImageResult."""
    return reference_results(read_document(path), path)


def load_served(paths: Union[PathLike, Iterable[PathLike]]) -> ServedResults:
    """Every result and error line of the client log(s), in order; a log without any is a problem."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise InputError("no client log given")
    served = ServedResults()
    for path in paths:
        found = parse_lines(_read_text(path, "client log", errors="replace").splitlines())
        if not found:
            served.problems.append("client log {} has no result lines".format(path))
        served.extend(found)
    return served


# --- golden files --------------------------------------------------------------------------------

def load_export_info(path: PathLike) -> dict:
    """A model folder's export_info.json (the folder itself may be given)."""
    path = Path(path)
    return read_document(path / "export_info.json" if path.is_dir() else path, "export info")


def write_golden(reference_doc: dict, export_info: Optional[dict], path: PathLike) -> Path:
    """Write a golden file: the reference document (checked first) plus the export_info it belongs to."""
    reference_results(reference_doc, "(document to write)", "reference")
    golden = {key: value for key, value in reference_doc.items() if key not in _GOLDEN_DROPPED_KEYS}
    if export_info is not None:
        golden["export_info"] = export_info
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(golden, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def identity_mismatch(golden_info: dict, current_info: dict) -> Optional[str]:
    """Why the two exports make different numbers (model, weights, seed, init), or None if they match."""
    differing = ["{} {!r} (golden) vs {!r} (current)".format(key, golden_info.get(key), current_info.get(key))
                 for key in IDENTITY_KEYS if golden_info.get(key) != current_info.get(key)]
    return ", ".join(differing) or None


def _golden_images(golden, reference, golden_hashes, current_hashes):
    """The images both sides classified from the same bytes, and notes on the ones left out: a config
    may use other or more images than the golden file was made from."""
    notes = []
    common = sorted(set(golden) & set(reference))
    left_out = sorted(set(golden) ^ set(reference))
    if left_out:
        notes.append("not in both the golden file and this reference, not compared: {}".format(", ".join(left_out)))
    if golden_hashes and current_hashes:
        changed = [name for name in common if golden_hashes.get(name) != current_hashes.get(name)]
        if changed:
            notes.append("other bytes than the golden file's, not compared: {}".format(", ".join(changed)))
        common = [name for name in common if name not in changed]
    return common, notes


def compare_golden(golden_path: PathLike, reference: Dict[str, ImageResult], export_info: Optional[dict],
                   atol=DEFAULT_ATOL, rtol=DEFAULT_RTOL, image_hashes: Optional[dict] = None) -> CheckResult:
    """The current reference against the golden file, or a skipped result when they are not comparable.
    image_hashes: image -> sha256 of the current reference's images (the golden file holds its own)."""
    golden_path = Path(golden_path)
    if not golden_path.exists():
        return CheckResult.skip(atol, rtol, "no golden file {} (write one with --write-golden)".format(golden_path))
    document = read_document(golden_path, "golden file")
    golden = reference_results(document, golden_path, "golden file")
    golden_info = document.get("export_info")
    if isinstance(golden_info, dict) and isinstance(export_info, dict):
        mismatch = identity_mismatch(golden_info, export_info)
        if mismatch:
            return CheckResult.skip(atol, rtol, "golden file {} was made from another export ({}): the numbers "
                                                "are not comparable".format(golden_path, mismatch))
    common, notes = _golden_images(golden, reference, document.get("image_sha256"), image_hashes)
    if not common:
        return CheckResult.skip(atol, rtol, "golden file {} has no image in common with this reference".format(
            golden_path))
    result = compare({name: golden[name] for name in common}, [reference[name] for name in common], atol, rtol)
    result.notes.extend(notes)
    if not (isinstance(golden_info, dict) and isinstance(export_info, dict)):
        result.notes.append("golden file {}: model identity not checked ({})".format(
            golden_path, "the golden file has no export_info" if not isinstance(golden_info, dict)
            else "no current export info given"))
    return result
