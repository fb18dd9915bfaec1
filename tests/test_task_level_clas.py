"""The task level (issue 21) end to end on the PaddleClas stand-in: the served answer of
tests/dialects/PaddleClas's classification_web_service.py against the stand-in's own deploy/python/predict_cls.py
with deploy/configs/inference_cls.yaml, found the TIPC way (ResNet50_vd_train_infer_python.txt beside the serving
config), run by the harness once per config run.

The model is a colour classifier made here (export_colour_classifier): the seeded classifier the other tests serve
answers one class with probability 1.0 whatever the image, so a colour-order swap could not show. This one's class
is the nearest of 1000 colour prototypes (a 10x10x10 grid) to the image's per-channel means (normalized, times
GAIN), softmax-scored, so daisy.jpg read as BGR lands on another prototype with another score.

Then the fault planted in the copy's web service: RGB2BGR() removed from its Sequential, the model fed BGR; the
case fails, the reason naming the class and score that differ."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clean_env
from harnesskit import run_from_repo
from standin_models import DIALECTS

pytestmark = pytest.mark.slow

CONFIG = "test_tipc/configs/ResNet50_vd/ResNet50_vd_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt"
MODEL = "deploy/paddleserving/ResNet50_vd_infer"
WEB = "deploy/paddleserving/classification_web_service.py"
REFERENCE = "deploy/python/predict_cls.py"
SWAP = "CenterCrop(224), RGB2BGR(), "
GRID = [-2.0 + 0.5 * step for step in range(10)]  # prototype coordinates, per channel, in normalized units
GAIN = 8.0  # the means are scaled by this first: daisy.jpg's red and blue means are only about 0.3 apart
SHARPNESS = 8.0  # logit = -SHARPNESS * squared distance (up to a term the softmax drops)


def export_colour_classifier(directory):
    """directory/inference.pdmodel and .pdiparams: feed x [N,3,224,224], fetch a softmax [N,1000] over
    -SHARPNESS * |GAIN * mean(x) - prototype_k|^2, written as the linear 2s c_k.m - s|c_k|^2 of m = GAIN * mean(x)
    (the |m|^2 is the same for every class, which the softmax drops)."""
    import numpy as np
    import paddle
    from paddle import nn
    from paddle.static import InputSpec

    prototypes = np.array([[r, g, b] for r in GRID for g in GRID for b in GRID], "float32")

    class ColourClassifier(nn.Layer):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(3, len(prototypes))
            self.head.weight.set_value((2 * SHARPNESS * GAIN * prototypes.T).astype("float32"))
            self.head.bias.set_value((-SHARPNESS * (prototypes ** 2).sum(1)).astype("float32"))
            self.softmax = nn.Softmax()

        def forward(self, x):
            return self.softmax(self.head(paddle.mean(x, axis=[2, 3])))

    layer = ColourClassifier()
    layer.eval()
    paddle.jit.save(paddle.jit.to_static(layer, input_spec=[InputSpec([None, 3, 224, 224], "float32", name="x")]),
                    str(Path(directory) / "inference"))


@pytest.fixture(scope="module")
def clas_repo(tmp_path_factory):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private network namespace (the stand-in keeps PaddleClas's ports)")
    repo = tmp_path_factory.mktemp("task_level_clas") / "PaddleClas"
    shutil.copytree(str(DIALECTS / "PaddleClas"), str(repo), ignore=shutil.ignore_patterns("__pycache__"))
    (repo / MODEL).mkdir(parents=True)
    subprocess.run([sys.executable, __file__, str(repo / MODEL)], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, env=clean_env(), timeout=300)
    return repo


def harness(repo, output):
    return run_from_repo(repo, CONFIG, output, "ResNet50_vd", "cpu", timeout=600)


def test_classification_passes_then_a_colour_order_swap_fails(clas_repo, tmp_path):
    done, case, run_dir = harness(clas_repo, tmp_path / "clean")
    assert done.returncode == 0, done.stdout
    assert case["status"] == "passed", case["reason"]
    assert "classification: 1 image as {} gives them".format(REFERENCE) in case["reason"], case["reason"]
    answers = case["answers"]
    assert "python/predict_cls.py -c configs/inference_cls.yaml" in answers["command"], answers["command"]
    assert "-o Global.enable_mkldnn=False" in answers["command"], answers["command"]
    reference_log = (run_dir / "task_reference" / "reference.log").read_text()
    assert "daisy.jpg:\tclass id(s): [" in reference_log
    assert answers["figures"]["max_score_diff"] <= 0.005, answers["figures"]  # served 4+ decimals, reference 2

    web = clas_repo / WEB
    assert SWAP in web.read_text()
    web.write_text(web.read_text().replace(SWAP, "CenterCrop(224), "))
    done, case, _ = harness(clas_repo, tmp_path / "swapped")
    assert done.returncode == 1, done.stdout
    assert case["status"] == "failed"
    assert case["reason"].startswith("classification: 1 of 1 images differ from " + REFERENCE), case["reason"]
    # the served top-1 is another prototype's class, its score far beyond predict_cls.py's 2-decimal rounding
    label = re.search(r"daisy\.jpg top-1: label served '(class \d+) seeded', reference '(class \d+), seeded'",
                      case["reason"])
    assert label and label.group(1) != label.group(2), case["reason"]
    score = re.search(r"daisy\.jpg top-1: score \(([\d.]+)\) served '[\d.]+', reference '[\d.]+'", case["reason"])
    assert score and float(score.group(1)) > 0.1, case["reason"]


if __name__ == "__main__":
    export_colour_classifier(sys.argv[1])
