"""The one result-line format written by the reference and the clients and read by the checker.

    image_name: demo.jpg, class_id: 136, prob: 0.013615334, topk: 136:0.013615334 548:0.0123 ...
    image_name: bad.jpg, err_no: 10001, err_msg: image 'image': not an image ...

The first three fields are the seed document's; `topk` adds the k most probable classes.
"""
import re
from dataclasses import dataclass, field
from typing import List, Optional

_RESULT = re.compile(
    r"^image_name: (?P<name>.+?), class_id: (?P<class_id>-?\d+), prob: (?P<prob>[-+.\deE]+|nan|inf)"
    r"(?:, topk: (?P<topk>.*))?$")
_ERROR = re.compile(r"^image_name: (?P<name>.+?), err_no: (?P<err_no>-?\d+), err_msg: (?P<err_msg>.*)$")


@dataclass
class ImageResult:
    image: str
    class_ids: List[int] = field(default_factory=list)
    probs: List[float] = field(default_factory=list)
    err_no: int = 0
    err_msg: str = ""
    # the whole probability vector, class id -> probability (the reference keeps it; result lines do not)
    all_probs: List[float] = field(default_factory=list, repr=False)

    @property
    def class_id(self) -> Optional[int]:
        return self.class_ids[0] if self.class_ids else None

    @property
    def prob(self) -> Optional[float]:
        return self.probs[0] if self.probs else None

    def as_dict(self):
        data = {"image": self.image, "class_ids": self.class_ids, "probs": self.probs}
        if self.err_no:
            data.update(err_no=self.err_no, err_msg=self.err_msg)
        if self.all_probs:
            data["probabilities"] = self.all_probs
        return data

    @classmethod
    def from_dict(cls, data):
        return cls(image=data["image"], class_ids=[int(c) for c in data.get("class_ids", [])],
                   probs=[float(p) for p in data.get("probs", [])], err_no=int(data.get("err_no", 0)),
                   err_msg=data.get("err_msg", ""), all_probs=[float(p) for p in data.get("probabilities", [])])


def format_prob(prob):
    return "{:.9g}".format(prob)


def format_line(result):
    if result.err_no:
        return "image_name: {}, err_no: {}, err_msg: {}".format(
            result.image, result.err_no, " ".join(str(result.err_msg).split()))
    topk = " ".join("{}:{}".format(c, format_prob(p)) for c, p in zip(result.class_ids, result.probs))
    return "image_name: {}, class_id: {}, prob: {}, topk: {}".format(
        result.image, result.class_id, format_prob(result.prob), topk)


def parse_line(line):
    """An ImageResult for a result or error line, None for any other line (logs, warnings)."""
    line = line.rstrip("\r\n")
    match = _RESULT.match(line)
    if match:
        class_ids, probs = [int(match["class_id"])], [float(match["prob"])]
        if match["topk"]:
            pairs = [item.split(":", 1) for item in match["topk"].split()]
            try:
                class_ids = [int(c) for c, _ in pairs]
                probs = [float(p) for _, p in pairs]
            except ValueError:
                return _malformed(match["name"], "its topk field is not 'id:prob ...'")
            if not pairs or class_ids[0] != int(match["class_id"]) or \
                    format_prob(probs[0]) != format_prob(float(match["prob"])):
                return _malformed(match["name"], "class_id/prob disagree with the first topk entry")
        return ImageResult(match["name"], class_ids, probs)
    match = _ERROR.match(line)
    if match:
        return ImageResult(match["name"], err_no=int(match["err_no"]), err_msg=match["err_msg"])
    return None


MALFORMED_LINE = -2  # err_no given to a result line that contradicts itself


def _malformed(name, why):
    return ImageResult(name, err_no=MALFORMED_LINE, err_msg="malformed result line: " + why)


def parse_lines(lines):
    return [result for result in map(parse_line, lines) if result is not None]
