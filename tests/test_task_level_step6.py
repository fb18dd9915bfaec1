"""The task level (issue 21) for the models repository's Step6 tutorial: the plan's reference (its
deploy/inference_python/infer.py, found through train_infer_python.txt beside the serving config), its reader, the
parameters both sides name; and end to end on the stand-in (tests/dialects/Step6), whose service answers class ids.

The end-to-end model is test_task_level_clas's colour classifier (the same prototypes, gain and sharpness), exported
as Step6's export writes its model: an unnamed InputSpec on nn.Sequential(net, nn.Softmax()), so the feed is
`input` and the fetch `softmax_1.tmp_0`, the names Step6's web service reads. The seeded classifier the other
tests serve answers one class whatever the image, which no preprocessing fault could move. On coffee.jpg it answers
class 900 (0.9999999); with the service's normalisation changed to mean 0.5, std 0.5, class 700 (0.53)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import IMAGES, clean_env
from harnesskit import run_from_repo, task_reference_of
from standin_models import DIALECTS
from test_task_level_clas import GAIN, GRID, SHARPNESS
from tipc_serving.repos.models_step6 import read_infer
from tipc_serving.verdict.tasks import TaskCheck, classification
from tipc_serving.verdict.tolerance import for_task

CONFIG = "test_tipc/configs/mobilenet_v3_small/serving_infer_python.txt"
MODEL = "inference/mobilenet_v3_small_infer"
WEB = "deploy/serving_python/web_service.py"
REFERENCE = "deploy/inference_python/infer.py"
NORMALIZE = "NormalizeImage()"
CHANGED = "NormalizeImage(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])"


def export_colour_classifier(directory):
    """directory/inference.pdmodel and .pdiparams: Sequential(colour logits, Softmax), an unnamed InputSpec."""
    import numpy as np
    import paddle
    from paddle import nn
    from paddle.static import InputSpec

    prototypes = np.array([[r, g, b] for r in GRID for g in GRID for b in GRID], "float32")

    class ColourLogits(nn.Layer):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(3, len(prototypes))
            self.head.weight.set_value((2 * SHARPNESS * GAIN * prototypes.T).astype("float32"))
            self.head.bias.set_value((-SHARPNESS * (prototypes ** 2).sum(1)).astype("float32"))

        def forward(self, x):
            return self.head(paddle.mean(x, axis=[2, 3]))

    layer = nn.Sequential(ColourLogits(), nn.Softmax())
    layer.eval()
    paddle.jit.save(paddle.jit.to_static(layer, input_spec=[InputSpec([None, 3, 224, 224], "float32")]),
                    str(Path(directory) / "inference"))


def step6_copy(root, images=("coffee.jpg",)):
    """The stand-in under root/Step6 with the images its client sends (lite_data/test/) and an empty model folder."""
    repo = Path(root) / "Step6"
    shutil.copytree(str(DIALECTS / "Step6"), str(repo), ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "lite_data" / "test").mkdir(parents=True)
    for name in images:
        shutil.copy(str(IMAGES / name), str(repo / "lite_data" / "test" / name))
    (repo / MODEL).mkdir(parents=True)
    return repo


# ---------------------------------------------------------------- the plan's entry, the reader (fast)

def test_the_reference_is_infer_py_on_the_cpu_with_the_served_model_once_per_image_sent(tmp_path):
    repo = step6_copy(tmp_path, images=("coffee.jpg", "rocket.jpg", "chelsea.jpg"))
    spec = task_reference_of(repo, CONFIG)
    sent = os.listdir(str(repo / "lite_data" / "test"))  # the client posts them in this order, naming none
    assert spec["task"] == "classification" and spec["script"] == REFERENCE, spec
    assert spec["inference_config"] == "test_tipc/configs/mobilenet_v3_small/train_infer_python.txt"
    assert spec["images"] == [str((repo / "lite_data" / "test" / name).resolve()) for name in sent]
    assert spec["per_image"] and spec["argv"] == [REFERENCE, "--use-gpu=False", "--batch-size=1",
                                                  "--model-dir=" + str((repo / MODEL).resolve()),
                                                  "--img-path={image}", "--benchmark=False"]
    assert spec["cwd"] == str(repo) and spec["reader"] == "models_step6:read_infer"
    rows = TaskCheck(parameters=spec["parameters"]).parameter_rows()
    assert [(what, differs) for what, _, _, differs in rows] == [
        ("resize (short side)", False), ("centre crop", False), ("normalisation mean", False),
        ("normalisation std", False), ("colour order", False)], rows
    assert rows[0][1:3] == (256, "256")  # the service's literal; infer.py's --resize-size default


def test_a_changed_normalisation_shows_in_the_parameters_side_by_side(tmp_path):
    repo = step6_copy(tmp_path)
    web = repo / WEB
    web.write_text(web.read_text().replace(NORMALIZE, CHANGED))
    rows = {row[0]: row for row in TaskCheck(parameters=task_reference_of(repo, CONFIG)["parameters"]).parameter_rows()}
    assert rows["normalisation mean"] == ("normalisation mean", [0.5, 0.5, 0.5], [0.485, 0.456, 0.406], True)
    assert rows["normalisation std"][3] is True and rows["resize (short side)"][3] is False


def test_no_inference_config_or_no_image_says_why(tmp_path):
    repo = step6_copy(tmp_path, images=())
    assert "could not be learnt" in task_reference_of(repo, CONFIG)["unavailable"]
    (repo / "test_tipc/configs/mobilenet_v3_small/train_infer_python.txt").unlink()
    assert task_reference_of(repo, CONFIG)["unavailable"].startswith("no inference TIPC config beside ")


def test_the_reader_and_the_served_class_id_compare_as_one_label():
    log = ("W1207 some glog line\n"
           "image_name: /r/lite_data/test/coffee.jpg, class_id: 900, prob: 0.9999999\n")
    reference = read_infer("/r/task_reference/out", log)
    assert reference == {"coffee.jpg": {"label": "900", "score": 0.9999999, "class_id": 900}}
    served = classification.served_answer({"class_id": [900], "prob": [0.99999994]})
    assert served == {"label": 900, "score": 0.99999994}
    assert not classification.compare({"coffee.jpg": served}, reference, for_task("fp32")).failed
    other = classification.compare({"coffee.jpg": {"label": 700, "score": 0.53}}, reference, for_task("fp32"))
    assert [d.what for d in other.differences] == ["label", "score"]


# ---------------------------------------------------------------- end to end (slow)

@pytest.mark.slow
def test_step6_answers_pass_then_a_changed_normalisation_fails(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private network namespace (the stand-in keeps Step6's ports)")
    repo = step6_copy(tmp_path, images=("coffee.jpg", "rocket.jpg", "chelsea.jpg"))
    subprocess.run([sys.executable, __file__, str(repo / MODEL)], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, env=clean_env(), timeout=300)

    def run(output):
        return run_from_repo(repo, CONFIG, output, "mobilenet_v3_small", "cpu", timeout=600)

    done, case, run_dir = run(tmp_path / "clean")
    assert done.returncode == 0, done.stdout
    assert case["status"] == "passed", case["reason"]
    assert "classification: 3 images as {} gives them".format(REFERENCE) in case["reason"], case["reason"]
    answers = case["answers"]
    assert REFERENCE + " --use-gpu=False" in answers["command"] and "--img-path=" in answers["command"]
    assert answers["figures"]["max_score_diff"] <= 1e-6, answers["figures"]
    assert all("image_name: " in (run_dir / "task_reference" / log).read_text()  # one run per image
               for log in ("reference.log", "reference_1.log", "reference_2.log"))
    assert "normalisation mean" in (run_dir / "task_reference" / "parameters.txt").read_text()

    web = repo / WEB
    assert NORMALIZE in web.read_text()
    web.write_text(web.read_text().replace(NORMALIZE, CHANGED))
    done, case, _ = run(tmp_path / "normalisation")
    assert done.returncode == 1, done.stdout
    assert case["status"] == "failed"
    assert re.match(r"classification: [123] of 3 images differ from " + REFERENCE, case["reason"]), case["reason"]
    label = re.search(r"coffee\.jpg top-1: label served '(\d+)', reference '(\d+)'", case["reason"])
    assert label and label.groups() == ("700", "900"), case["reason"]
    assert "normalisation mean (service [0.5, 0.5, 0.5], reference [0.485, 0.456, 0.406])" in case["reason"]


if __name__ == "__main__":
    export_colour_classifier(sys.argv[1])
