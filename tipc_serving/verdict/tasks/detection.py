"""Detection: above the score threshold, the same number of boxes of each class; each reference box paired with
the served box of its class that overlaps it most (IoU at least pair_iou: 0.9 fp32, 0.8 fp16/int8), its score
within tolerance. A box that one side alone keeps, scoring within the score tolerance of the cut, is on the
threshold's edge, not a difference (both sides cut, each at its own float)."""
from . import TaskCheck, pair_images

TITLE = "detection"


def box_iou(a, b):
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _is_box(item):
    return isinstance(item, dict) and {"class_id", "score", "box"} <= set(item) and len(item["box"]) == 4


def served_answer(answers):
    """A reply's detections (verdict/replies.py reads PaddleDetection's "class score x1 y1 x2 y2" strings as dicts,
    'No object detected!' as []): its first list of boxes; None for any other answer (keypoints, rotated boxes)."""
    for value in answers.values():
        if isinstance(value, list) and all(_is_box(item) for item in value):
            return value
    return None


def compare(served, reference, tol, precision="fp32", score_rounding=0.0):
    """served, reference: {image: [{"class_id", "score", "box": [x1, y1, x2, y2]}]}."""
    check = TaskCheck(task="detection", unit="boxes")
    score_tol = max(tol.score, score_rounding)
    check.tolerance.update(score_min=tol.det_score_min, pair_iou=tol.pair_iou, score=score_tol)
    worst = {"min_iou": 1.0, "max_score_diff": 0.0, "served_boxes": 0, "reference_boxes": 0, "paired": 0}
    edge = tol.det_score_min + score_tol  # a box scoring below this may be cut by the other side alone
    for image in pair_images(served, reference, check):
        mine = [d for d in served[image] if d["score"] >= tol.det_score_min]
        theirs = [d for d in reference[image] if d["score"] >= tol.det_score_min]
        worst["served_boxes"] += len(mine)
        worst["reference_boxes"] += len(theirs)
        taken = set()
        for index, det in enumerate(theirs):
            check.items += 1
            item = "box {} class {}".format(index + 1, det["class_id"])
            scored = [(box_iou(det["box"], o["box"]), j) for j, o in enumerate(mine)
                      if j not in taken and o["class_id"] == det["class_id"]]
            best = max(scored, default=(0.0, None))
            if best[1] is None:
                if det["score"] >= edge:
                    check.differ(image, item, "missing", None, _shown(det))
                continue
            worst["min_iou"] = min(worst["min_iou"], best[0])
            other = mine[best[1]]
            taken.add(best[1])
            worst["paired"] += 1
            if best[0] < tol.pair_iou:
                check.differ(image, item, "box", _shown(other), _shown(det), 1 - best[0])
            diff = abs(other["score"] - det["score"])
            worst["max_score_diff"] = max(worst["max_score_diff"], diff)
            if diff > score_tol:
                check.differ(image, item, "score", other["score"], det["score"], diff)
        for j, other in enumerate(mine):
            if j not in taken and other["score"] >= edge:
                check.differ(image, "served box class {}".format(other["class_id"]), "extra", _shown(other), None)
    check.figures.update(worst)
    return check


def _shown(det):
    """A box as a reason quotes it: its score and corners, rounded."""
    return "{:.3f} [{}]".format(det["score"], ", ".join("{:.1f}".format(v) for v in det["box"]))
