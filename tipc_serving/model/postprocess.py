"""Turn the model's output rows into top-k class ids and probabilities: shared by service and reference."""
import numpy as np

DEFAULT_TOPK = 5


def to_probabilities(row):
    """The exported models end in softmax; a model that outputs logits gets one here, so that the
    service and the reference always compare probabilities."""
    row = np.asarray(row, dtype=np.float64).ravel()
    looks_like_distribution = row.min() >= 0.0 and abs(row.sum() - 1.0) < 1e-3
    if looks_like_distribution:
        return row
    shifted = np.exp(row - row.max())
    return shifted / shifted.sum()


def topk(row, k=DEFAULT_TOPK):
    """(class_ids, probs) of the k most probable classes, most probable first; ties keep the lower id."""
    probs = to_probabilities(row)
    k = max(1, min(int(k), probs.size))
    order = np.argsort(-probs, kind="stable")[:k]
    return [int(i) for i in order], [float(probs[i]) for i in order]


def rows(output):
    """Model output of shape (N, classes) (or one row) -> one row of class scores per image."""
    output = np.asarray(output)
    return output.reshape(output.shape[0], -1) if output.ndim > 1 else output.reshape(1, -1)


def classify_batch(output, k=DEFAULT_TOPK):
    """Model output of shape (N, classes) -> list of (class_ids, probs), one per image."""
    return [topk(row, k) for row in rows(output)]
