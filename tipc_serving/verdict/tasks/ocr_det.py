"""OCR text detection alone (PaddleOCR's web_service_det.py against tools/infer/predict_det.py): each reference box
paired with the served box that overlaps it most (IoU of the quadrilaterals, at least ocr.PAIR_IOU), its corners
within corner_px pixels or a share of the line's height (as ocr.py judges a line's box). A reference box without a
partner is missing from the served answer, a served box without one is extra: an item of its own ("N of M boxes":
M counts the reference's boxes and the served boxes nothing paired)."""
import re

from ...verdict.tolerance import OCR_CORNER_SHARE
from . import TaskCheck, pair_images
from .ocr import PAIR_IOU, corner_distance, height, iou

TITLE = "OCR detection"  # as reasons name the task
_NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def boxes_of(value):
    """Boxes ([[x, y] * 4] each) from a served value: the service's str() of its (N, 4, 2) numpy array, which its
    client cannot eval and prints as it is (`[[[345. 299.]\\n  [375. 299.] ...]]`), or a list; None when it is
    neither (numpy's summary of a long array, `...`, leaves corners out)."""
    if isinstance(value, str):
        if "..." in value:
            return None
        numbers = [float(n) for n in _NUMBER.findall(value)]
        if len(numbers) % 8:
            return None
        return [[numbers[i + 2 * k:i + 2 * k + 2] for k in range(4)] for i in range(0, len(numbers), 8)]
    if isinstance(value, (list, tuple)):
        boxes = [[[float(c) for c in point] for point in box] for box in value]
        return boxes if all(len(box) == 4 and all(len(p) == 2 for p in box) for box in boxes) else None
    return None


def served_answer(answers):
    """A reply's boxes (verdict/replies.py keeps the printed value as "value"); [] when it printed none (an image
    without text: the client's eval of `[]` prints no line), None when they cannot be read."""
    if "value" not in answers:
        return [] if not answers.get("ocr") else None
    return boxes_of(answers["value"])


def _label(index, box):
    return "box {} at ({:.0f}, {:.0f})".format(index + 1, box[0][0], box[0][1])


def compare(served, reference, tol, precision="fp32", score_rounding=0.0):
    """served, reference: {image: [[[x, y] * 4], ...]}."""
    check = TaskCheck(task=TITLE, unit="boxes")
    share = OCR_CORNER_SHARE.get(precision, OCR_CORNER_SHARE["fp32"])
    check.tolerance.update(corner_px=tol.corner_px, corner_share_of_height=share, pair_iou=PAIR_IOU)
    worst_corner, paired, extra = 0.0, 0, 0
    for image in pair_images(served, reference, check):
        mine = list(served[image])
        taken = set()
        for index, box in enumerate(reference[image]):
            check.items += 1
            scored = [(iou(box, other), j) for j, other in enumerate(mine) if j not in taken]
            best = max(scored, default=(0.0, None))
            if best[0] < PAIR_IOU:
                check.differ(image, _label(index, box), "missing", None, box)
                continue
            taken.add(best[1])
            paired += 1
            corners = corner_distance(mine[best[1]], box)
            worst_corner = max(worst_corner, corners)
            if corners > max(tol.corner_px, share * height(box)):
                check.differ(image, _label(index, box), "box", mine[best[1]], box, corners)
        for j, other in enumerate(mine):
            if j not in taken:
                check.items += 1
                extra += 1
                check.differ(image, "served box at ({:.0f}, {:.0f})".format(other[0][0], other[0][1]), "extra",
                             other, None)
    check.figures.update(paired=paired, missing=check.items - extra - paired, extra=extra,
                         max_corner_px=round(worst_corner, 6))
    return check
