"""OCR: each reference line paired with the served line whose box overlaps it most (IoU of the quadrilaterals, at
least PAIR_IOU); a paired line's text must be the same (its edit distance is reported), its corners within
corner_px pixels (or a share of the line's height, its box's shorter side, where that is more: verdict/tolerance.py), its score within the OCR score tolerance. A reference line without a partner is missing from
the served answer, a served line without one is extra: an item of its own ("N of M lines": M counts the reference's
lines and the served lines nothing paired, so N never exceeds M)."""
from shapely.geometry import Polygon

from ...verdict.tolerance import OCR_CORNER_SHARE, OCR_SCORE
from . import TaskCheck, edit_distance, pair_images

TITLE = "OCR"  # as reasons name the task
PAIR_IOU = 0.5  # two boxes of one text line overlap far more; two neighbouring lines hardly at all


def iou(a, b):
    try:
        pa, pb = Polygon(a).buffer(0), Polygon(b).buffer(0)
        union = pa.union(pb).area
        return pa.intersection(pb).area / union if union else 0.0
    except (ValueError, TypeError):
        return 0.0


def corner_distance(a, b):
    """The farthest corner of two boxes, in pixels, over the rotations of b's corner order (both sides start at
    the top left as a rule, but a nearly square box may start elsewhere)."""
    if len(a) != len(b) or not a:
        return float("inf")
    best = float("inf")
    for shift in range(len(b)):
        rotated = b[shift:] + b[:shift]
        best = min(best, max(((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) ** 0.5 for p, q in zip(a, rotated)))
    return best


def height(box):
    """A line's height (its thickness: a vertical line's is its width), the shorter side of its box, in pixels."""
    if len(box) != 4:
        return 0.0
    side = [((box[i][0] - box[j][0]) ** 2 + (box[i][1] - box[j][1]) ** 2) ** 0.5 for i, j in ((0, 1), (1, 2))]
    return min(side)


def _label(index, line):
    return "line {} {!r}".format(index + 1, line["text"])


def served_answer(answers):
    """A reply's lines ([{"text", "score", "box"}]; [] for an image with no text)."""
    return answers.get("ocr") or []


def compare(served, reference, tol, precision="fp32", score_rounding=0.0):
    """served, reference: {image: [{"text", "score", "box": [[x, y] * 4]}]}."""
    check = TaskCheck(task="OCR", unit="lines")
    score_tol = max(OCR_SCORE.get(precision, OCR_SCORE["fp32"]), score_rounding)
    share = OCR_CORNER_SHARE.get(precision, OCR_CORNER_SHARE["fp32"])
    check.tolerance.update(text="exact", corner_px=tol.corner_px, corner_share_of_height=share, score=score_tol,
                           pair_iou=PAIR_IOU)
    worst = {"max_corner_px": 0.0, "max_score_diff": 0.0, "max_edit_distance": 0}
    same_text, paired, edits, extra = 0, 0, 0, 0
    for image in pair_images(served, reference, check):
        mine = list(served[image])
        taken = set()
        for index, line in enumerate(reference[image]):
            check.items += 1
            scored = [(iou(line["box"], other["box"]), j) for j, other in enumerate(mine) if j not in taken]
            best = max(scored, default=(0.0, None))
            if best[0] < PAIR_IOU:
                check.differ(image, _label(index, line), "missing", None, line["text"])
                continue
            taken.add(best[1])
            paired += 1
            other = mine[best[1]]
            distance = edit_distance(other["text"], line["text"])
            edits += distance
            worst["max_edit_distance"] = max(worst["max_edit_distance"], distance)
            if distance:
                check.differ(image, _label(index, line), "text", other["text"], line["text"], distance)
            else:
                same_text += 1
            corners = corner_distance(other["box"], line["box"])
            worst["max_corner_px"] = max(worst["max_corner_px"], corners)
            if corners > max(tol.corner_px, share * height(line["box"])):
                check.differ(image, _label(index, line), "box", other["box"], line["box"], corners)
            diff = abs(float(other["score"]) - float(line["score"]))
            worst["max_score_diff"] = max(worst["max_score_diff"], diff)
            if diff > score_tol:
                check.differ(image, _label(index, line), "score", round(float(other["score"]), 4),
                             round(float(line["score"]), 4), diff)
        for j, other in enumerate(mine):
            if j not in taken:
                check.items += 1
                extra += 1
                check.differ(image, "served line {!r}".format(other["text"]), "extra", other["text"], None)
    worst.update(same_text=same_text, paired=paired, missing=check.items - extra - paired, extra=extra,
                 total_edit_distance=edits)
    check.figures.update({k: round(v, 6) if isinstance(v, float) else v for k, v in worst.items()})
    return check
