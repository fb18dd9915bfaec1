"""Detection: above the score threshold, the same number of boxes of each class; each reference box paired with
the served box of its class that overlaps it most (IoU at least pair_iou: 0.9 fp32, 0.8 fp16/int8), its score
within tolerance."""
from . import TaskCheck, pair_images


def box_iou(a, b):
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def served_answer(answers):
    """A reply's detections (verdict/replies.py reads PaddleDetection's strings as dicts): its first list."""
    return next((value for value in answers.values() if isinstance(value, list)), None)


def compare(served, reference, tol, precision="fp32", score_rounding=0.0):
    """served, reference: {image: [{"class_id", "score", "box": [x1, y1, x2, y2]}]}."""
    check = TaskCheck(task="detection", unit="boxes")
    check.tolerance.update(score_min=tol.det_score_min, pair_iou=tol.pair_iou, score=tol.score)
    worst = {"min_iou": 1.0, "max_score_diff": 0.0}
    for image in pair_images(served, reference, check):
        mine = [d for d in served[image] if d["score"] >= tol.det_score_min]
        theirs = [d for d in reference[image] if d["score"] >= tol.det_score_min]
        taken = set()
        for index, det in enumerate(theirs):
            check.items += 1
            item = "box {} class {}".format(index + 1, det["class_id"])
            scored = [(box_iou(det["box"], o["box"]), j) for j, o in enumerate(mine)
                      if j not in taken and o["class_id"] == det["class_id"]]
            best = max(scored, default=(0.0, None))
            if best[1] is None:
                check.differ(image, item, "missing", None, det["box"])
                continue
            worst["min_iou"] = min(worst["min_iou"], best[0])
            other = mine[best[1]]
            taken.add(best[1])
            if best[0] < tol.pair_iou:
                check.differ(image, item, "box", other["box"], det["box"], 1 - best[0])
            diff = abs(other["score"] - det["score"])
            worst["max_score_diff"] = max(worst["max_score_diff"], diff)
            if diff > tol.score:
                check.differ(image, item, "score", other["score"], det["score"], diff)
        for j, other in enumerate(mine):
            if j not in taken:
                check.differ(image, "served box class {}".format(other["class_id"]), "extra", other["box"], None)
    check.figures.update(worst)
    return check
