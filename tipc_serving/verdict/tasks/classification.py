"""Classification: the served top-1 label against the reference's (exact, compared as label text without commas
and spaces at its ends, as PaddleClas's service strips them), its score within the tolerance (and within the
rounding of a reference that prints few decimals)."""
from . import TaskCheck, pair_images


def label_text(label):
    return str(label).strip().replace(",", "").strip()


def served_answer(answers):
    """A reply's top-1 ({"label": [...], "prob": [...]}, lists or one value; a "class_id" for the label where the
    service answers ids, as the models repository's Step6), or None."""
    labels, probs = answers.get("label", answers.get("class_id")), answers.get("prob")
    if labels is None or probs is None:
        return None
    labels = labels if isinstance(labels, list) else [labels]
    probs = probs if isinstance(probs, list) else [probs]
    return {"label": labels[0], "score": float(probs[0])} if labels and probs else None


def compare(served, reference, tol, check=None, score_rounding=0.0, precision="fp32"):
    """served, reference: {image: {"label": str, "score": float}} (the top-1)."""
    check = check or TaskCheck(task="classification", unit="images")
    allowed = max(tol.score, score_rounding)
    check.tolerance.update(label="exact", score=allowed)
    worst = 0.0
    for image in pair_images(served, reference, check):
        check.items += 1
        mine, theirs = served[image], reference[image]
        if label_text(mine["label"]) != label_text(theirs["label"]):
            check.differ(image, "top-1", "label", mine["label"], theirs["label"])
        diff = abs(float(mine["score"]) - float(theirs["score"]))
        worst = max(worst, diff)
        if diff > allowed:
            check.differ(image, "top-1", "score", mine["score"], theirs["score"], diff)
    check.figures["max_score_diff"] = worst
    return check


def from_judged(result, reference="tools/infer.py"):
    """The task level of the harness's own configs, in this level's terms: their answers are already judged
    against tools/infer.py, the repository's own inference, by verdict/judge.py (top-k and its ties, whole
    probability vectors); one report (results.json's "answers") for every config."""
    check = TaskCheck(task="classification", reference=reference, unit="images", problems=list(result.problems))
    check.tolerance.update(atol=result.atol, rtol=result.rtol)
    for entry in result.entries:
        check.items += 1
        for difference in entry.differences:
            if not difference.ok:
                check.differ(entry.image, difference.field, difference.kind, difference.served, difference.reference,
                             difference.abs_diff or 0.0)
    check.figures.update(max_abs_diff=result.max_abs_diff, ties=result.ties)
    return check
