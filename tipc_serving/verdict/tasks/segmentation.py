"""Segmentation: the served label map (the service's own output tensor, as the capture recorded it) against the
reference's label map, pixel by pixel (the share that agrees, and the mIoU over the classes either map has), and
the served answer (PaddleSeg's service returns the mean label) against the reference map's."""
import numpy as np

from . import TaskCheck, pair_images


def miou(a, b):
    classes = np.union1d(np.unique(a), np.unique(b))
    ious = []
    for c in classes:
        x, y = a == c, b == c
        union = np.logical_or(x, y).sum()
        if union:
            ious.append(np.logical_and(x, y).sum() / union)
    return float(np.mean(ious)) if ious else 1.0


def served_answer(answers):
    """A reply's mean label (PaddleSeg's service answers {"res_mean_val": [mean]})."""
    value = answers.get("res_mean_val")
    return value[0] if isinstance(value, list) and value else value


def compare(served_maps, served_means, reference, tol):
    """served_maps: {image: label map or None}; served_means: {image: float or None}; reference: {image: map}."""
    check = TaskCheck(task="segmentation", unit="images")
    check.tolerance.update(pixel_agreement=tol.pixel_agreement, miou=tol.miou, mean_label=tol.score)
    served = {image: True for image in set(served_maps) | set(served_means)}
    figures = {"min_pixel_agreement": 1.0, "min_miou": 1.0, "max_mean_label_diff": 0.0}
    for image in pair_images(served, reference, check):
        check.items += 1
        ref = np.asarray(reference[image]).squeeze()
        mean = served_means.get(image)
        if mean is not None:
            diff = abs(float(mean) - float(ref.mean()))
            figures["max_mean_label_diff"] = max(figures["max_mean_label_diff"], diff)
            if diff > tol.score:
                check.differ(image, "mean label", "value", float(mean), float(ref.mean()), diff)
        label_map = served_maps.get(image)
        if label_map is None:
            continue
        label_map = np.asarray(label_map).squeeze()
        if label_map.shape != ref.shape:
            check.differ(image, "label map", "shape", list(label_map.shape), list(ref.shape))
            continue
        agreement = float((label_map == ref).mean())
        score = miou(label_map, ref)
        figures["min_pixel_agreement"] = min(figures["min_pixel_agreement"], agreement)
        figures["min_miou"] = min(figures["min_miou"], score)
        if agreement < tol.pixel_agreement:
            check.differ(image, "label map", "pixels", "{:.4%} agree".format(agreement), "all", 1 - agreement)
        if score < tol.miou:
            check.differ(image, "label map", "mIoU", round(score, 6), 1.0, 1 - score)
    check.figures.update(figures)
    return check
