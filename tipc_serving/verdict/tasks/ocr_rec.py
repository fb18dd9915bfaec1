"""OCR text recognition alone (PaddleOCR's web_service_rec.py against tools/infer/predict_rec.py): each image is one
text line; its text must be the same (the edit distance reported), its score within the OCR score tolerance where
the service answers one (PaddleOCR's web_service_rec.py returns the text alone: scores are then not compared, and
the figures say so)."""
import re

from ...verdict.tolerance import OCR_SCORE
from . import TaskCheck, edit_distance, pair_images
from ..replies import literal

TITLE = "OCR recognition"  # as reasons name the task
_NUMPY_SCALAR = re.compile(r"\bnp\.\w+\(([^()]*)\)")


def text_of(item):
    """{"text", "score"} of a recognised item: a text, or (text, score); None when it is neither."""
    if isinstance(item, str):
        return {"text": item, "score": None}
    if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str):
        try:
            return {"text": item[0], "score": float(item[1])}
        except (TypeError, ValueError):
            return None
    return None


def served_answer(answers):
    """A reply's text (the client prints the value as it is with --det=False: `['韩国小馆']`, verdict/replies.py
    keeps it as "value"), or None. numpy 2 writes a score as np.float32(0.99)."""
    value = answers.get("value")
    if isinstance(value, str):
        value = literal(_NUMPY_SCALAR.sub(r"\1", value))
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    return text_of(value)


def compare(served, reference, tol, precision="fp32", score_rounding=0.0):
    """served, reference: {image: {"text", "score"}} (a served score may be None)."""
    check = TaskCheck(task=TITLE, unit="images")
    score_tol = max(OCR_SCORE.get(precision, OCR_SCORE["fp32"]), score_rounding)
    check.tolerance.update(text="exact", score=score_tol)
    same_text, edits, worst_edit, worst_score, scored = 0, 0, 0, 0.0, 0
    for image in pair_images(served, reference, check):
        mine, theirs = served[image], reference[image]
        check.items += 1
        distance = edit_distance(mine["text"], theirs["text"])
        edits += distance
        worst_edit = max(worst_edit, distance)
        if distance:
            check.differ(image, "text", "text", mine["text"], theirs["text"], distance)
        else:
            same_text += 1
        if mine.get("score") is None or theirs.get("score") is None:
            continue
        scored += 1
        diff = abs(float(mine["score"]) - float(theirs["score"]))
        worst_score = max(worst_score, diff)
        if diff > score_tol:
            check.differ(image, "text", "score", round(float(mine["score"]), 4), round(float(theirs["score"]), 4),
                         diff)
    check.items = len(set(served) | set(reference))  # an image one side lacks is one that differs
    check.figures.update(same_text=same_text, total_edit_distance=edits, max_edit_distance=worst_edit,
                         scores_compared=scored, max_score_diff=round(worst_score, 6))
    return check
