"""Video classification: the top-1 label and its score, as classification compares them."""
from . import TaskCheck
from . import classification


served_answer = classification.served_answer


def compare(served, reference, tol, score_rounding=0.0, precision="fp32"):
    return classification.compare(served, reference, tol, TaskCheck(task="video", unit="videos"), score_rounding)
