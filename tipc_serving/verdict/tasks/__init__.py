"""The task level (issue 21): the served answers against the repository's own inference script's, for the same
model and the same images, one comparator per task, shared by the repositories:

    classification.py  labels exact, scores within tolerance
    ocr.py             boxes paired by overlap; text exact (edit distance reported), corners in pixels, scores
    ocr_det.py         a detector alone: boxes paired by overlap, corners in pixels
    ocr_rec.py         a recogniser alone: text exact (edit distance reported), scores where served
    segmentation.py    pixel agreement and mIoU of the label maps, the served mean label
    detection.py       the same classes and count above a score, boxes paired by IoU, scores
    video.py           top-1 label and score

Each task's module has `served_answer(reply answers)` (a served reply, verdict/replies.py, in the task's terms,
or None) and `compare(served, reference, tol, precision=, score_rounding=)`, which takes {image: answer} of both
sides and a verdict.tolerance.TaskTolerance and gives a TaskCheck: how many items (lines, images, boxes) were
compared, every difference (image, what, served, reference, how much), and the figures. chain/answers.py picks
the module by the plan's task name; a module's TITLE names the task in reasons. Accepted differences
(verdict/baseline.py) do not fail a case but are still shown.
"""
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

SHOWN = 3  # the differences a reason quotes


@dataclass
class Difference:
    image: str
    item: str             # which answer of the image: "line 2 '华南农业大学'", "top-1", "label map"
    what: str             # text, box, score, label, missing, extra, pixels, count, ...
    served: object = None
    reference: object = None
    amount: float = 0.0   # how large: px, score difference, edit distance, share of pixels
    accepted: bool = False

    def key(self):
        return (self.image, self.item, self.what)

    def describe(self):
        how = " ({:.3g})".format(self.amount) if self.amount and self.what not in ("missing", "extra") else ""
        return "{} {}: {}{} served {!r}, reference {!r}".format(self.image, self.item, self.what, how,
                                                                _short(self.served), _short(self.reference))


def _short(value, limit=80):
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


@dataclass
class TaskCheck:
    task: str = ""
    reference: str = ""            # the script, as the reason names it (tools/infer/predict_system.py)
    command: str = ""              # the reference's exact command
    unit: str = "answers"          # what items are: lines, images, boxes
    items: int = 0                 # items compared
    differing_items: List[str] = field(default_factory=list)  # "<image> <item>" of each item that differs
    differences: List[Difference] = field(default_factory=list)
    figures: Dict[str, object] = field(default_factory=dict)
    tolerance: Dict[str, object] = field(default_factory=dict)
    parameters: Dict[str, object] = field(default_factory=dict)  # each side's, where readable
    problems: List[str] = field(default_factory=list)           # the comparison could not be made (fails)
    unavailable: Optional[str] = None                            # not compared, and why (a note, never a pass)
    baseline: Optional[str] = None                               # the accepted differences' file
    seconds: float = 0.0

    def differ(self, image, item, what, served, reference, amount=0.0):
        self.differences.append(Difference(image, item, what, served, reference, float(amount)))
        label = "{} {}".format(image, item)
        if label not in self.differing_items:
            self.differing_items.append(label)

    @property
    def new(self):
        return [d for d in self.differences if not d.accepted]

    @property
    def failed(self):
        return bool(self.problems or self.new)

    def summary_line(self):
        """'OCR: 1 of 2 lines differ from tools/infer/predict_system.py: <first differences>'."""
        if self.unavailable:
            return "task answers not compared: " + self.unavailable
        if self.problems:
            return "{}: {}".format(self.task, "; ".join(self.problems))
        whole = self.unit in ("images", "videos")  # one image's several differences are one item that differs
        new_items = {d.image if whole else "{} {}".format(d.image, d.item) for d in self.new}
        accepted = [d for d in self.differences if d.accepted]
        head = "{}: {} of {} {} differ from {}".format(self.task, len(new_items), self.items, self.unit, self.reference)
        if not self.differences:
            unit = ({"boxes": "box"}.get(self.unit, self.unit[:-1]) if self.items == 1 else self.unit)  # 1 image, 1 box
            head = "{}: {} {} as {} gives them".format(self.task, self.items, unit, self.reference)
        shown = self.new[:SHOWN]
        tail = ": " + "; ".join(d.describe() for d in shown) if shown else ""
        tail += " (and {} more)".format(len(self.new) - SHOWN) if len(self.new) > SHOWN else ""
        differing = [row for row in self.parameter_rows() if row[3]]
        if shown and differing:  # where a difference may come from
            tail += "; parameters that differ: " + ", ".join(
                "{} (service {}, reference {})".format(what, mine, theirs) for what, mine, theirs, _ in differing)
        if accepted:
            tail += "{} {} accepted difference{} ({}{})".format(
                ";" if tail else ",", len(accepted), "" if len(accepted) == 1 else "s", self.baseline or "baseline",
                ": " + accepted[0].describe() if accepted else "")
        return head + tail

    def parameter_rows(self):
        """(what, the service's value, the reference's, differs) of each parameter both sides name (the plan's
        "pairs"); differs is None where one side's value could not be read."""
        service, reference = self.parameters.get("service") or {}, self.parameters.get("reference") or {}
        rows = []
        for what, mine, theirs in self.parameters.get("pairs") or []:
            a, b = service.get(mine), reference.get(theirs)
            if a is not None or b is not None:
                rows.append((what, a, b, None if a is None or b is None else not same_value(a, b)))
        return rows

    def parameters_text(self):
        """The parameters each side used, side by side, then all each side reads (task_reference/parameters.txt)."""
        lines = ["{:<24} {:<32} {:<32}".format("parameter", "service", "reference " + self.reference)]
        for what, mine, theirs, differs in self.parameter_rows():
            mark = {True: "  <- differs", None: "  (one side unread)"}.get(differs, "")
            lines.append("{:<24} {:<32} {:<32}{}".format(what, str(mine), str(theirs), mark))
        for side in ("service", "reference"):
            lines += ["", "{} reads:".format(side)]
            lines += ["  {}: {}".format(k, v) for k, v in (self.parameters.get(side) or {}).items()]
        return "\n".join(lines) + "\n"

    def as_dict(self):
        found = asdict(self)
        found["parameter_rows"] = self.parameter_rows()
        found["failed"] = self.failed
        found["summary"] = self.summary_line()
        return found


def same_value(a, b):
    """Two sides' values of one parameter: numbers by value, paths by file name, words as written."""
    a, b = (str(v).strip().strip("'\"") for v in (a, b))
    numbers = [_numbers(v) for v in (a, b)]
    if None not in numbers:
        x, y = numbers
        if len(x) == 1 or len(y) == 1:  # one value for every channel (PaddleSeg's Normalize default)
            x, y = (x * len(y), y) if len(x) == 1 else (x, y * len(x))
        return len(x) == len(y) and all(abs(p - q) <= 1e-6 for p, q in zip(x, y))
    return os.path.basename(a.rstrip("/")) == os.path.basename(b.rstrip("/"))


def _numbers(text):
    """The numbers of '0.5', '[0.485, 0.456]', '(0.5,)', else None."""
    words = [w for w in re.split(r"[\s,\[\]()]+", text) if w]
    try:
        return [float(w) for w in words] if words else None
    except ValueError:
        return None


def _lev(a, b):
    """Levenshtein distance of two strings."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


edit_distance = _lev


def pair_images(served, reference, check):
    """The images both sides answered, in the reference's order; one missing on either side is a difference."""
    pairs = []
    for image in reference:
        if image not in served:
            check.differ(image, "image", "missing", None, "answered")
            continue
        pairs.append(image)
    for image in served:
        if image not in reference:
            check.differ(image, "image", "extra", "answered", None)
    return pairs
