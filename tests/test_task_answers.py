"""The task level (issue 21): the comparators, the accepted differences, the case's verdict and the reference's
plan for the real layouts (fast; the runs against real services are in test_task_answers_chain.py)."""
import json

import numpy as np
import pytest

from tipc_serving.repos import reference
from tipc_serving.repos.paddleclas import read_predict_cls
from tipc_serving.repos.paddleocr import read_system_results
from tipc_serving.verdict import baseline
from tipc_serving.verdict.case_status import CaseFacts, ClientFacts, case_status
from tipc_serving.verdict.tasks import TaskCheck, classification, detection, ocr, segmentation, video
from tipc_serving.verdict.tolerance import for_task

FP32 = for_task("fp32")
BOX = [[294.0, 297.0], [333.0, 296.0], [347.0, 847.0], [309.0, 849.0]]
REF_BOX = [[296, 299], [331, 298], [346, 849], [311, 850]]


def line(text, score, box):
    return {"text": text, "score": score, "box": box}


def test_ocr_same_text_close_boxes_pass_and_figures_are_reported():
    check = ocr.compare({"1.jpg": [line("东园", 0.88, BOX)]}, {"1.jpg": [line("东园", 0.856, REF_BOX)]}, FP32)
    assert not check.failed and check.items == 1
    assert check.figures["max_corner_px"] == pytest.approx(2.83, abs=0.01)
    assert check.figures["max_score_diff"] == pytest.approx(0.024)
    assert "1 line as" in check.summary_line()


def test_ocr_changed_text_is_one_differing_line_with_its_edit_distance():
    served = {"1.jpg": [line("东图", 0.85, BOX), line("中心", 0.9, [[0, 0], [50, 0], [50, 10], [0, 10]])]}
    ref = {"1.jpg": [line("东园", 0.85, REF_BOX), line("中心", 0.9, [[0, 0], [50, 0], [50, 10], [0, 10]])]}
    check = ocr.compare(served, ref, FP32)
    assert check.failed
    summary = check.summary_line()
    assert summary.startswith("OCR: 1 of 2 lines differ from")
    assert "'东图'" in summary and "'东园'" in summary and check.figures["max_edit_distance"] == 1


def test_ocr_missing_and_extra_lines_and_far_boxes():
    far = [[x + 10, y] for x, y in REF_BOX]
    check = ocr.compare({"a.jpg": [line("x", 0.9, far)], "b.jpg": []},
                        {"a.jpg": [line("x", 0.9, REF_BOX)], "b.jpg": [line("y", 0.9, REF_BOX)]}, FP32)
    whats = sorted(d.what for d in check.differences)
    assert whats == ["box", "missing"]
    check = ocr.compare({"a.jpg": [line("x", 0.9, REF_BOX)]}, {"a.jpg": []}, FP32)
    assert [d.what for d in check.differences] == ["extra"]


def test_classification_label_exact_score_within_tolerance_and_rounding():
    ref = {"daisy.jpg": {"label": "daisy", "score": 0.98}}
    assert not classification.compare({"daisy.jpg": {"label": "daisy,", "score": 0.983}}, ref, FP32,
                                      score_rounding=0.005).failed
    check = classification.compare({"daisy.jpg": {"label": "carton", "score": 0.98}}, ref, FP32)
    assert check.failed and check.differences[0].what == "label"
    assert classification.compare({"daisy.jpg": {"label": "daisy", "score": 0.97}}, ref, FP32).failed
    assert video.compare({"v.mp4": {"label": "a", "score": 0.5}}, {"v.mp4": {"label": "a", "score": 0.5}}, FP32).task == "video"


def test_segmentation_pixels_miou_and_mean():
    ref = np.zeros((4, 5), np.int32)
    ref[:, 3:] = 2
    same = segmentation.compare({"a.png": ref.copy()}, {"a.png": float(ref.mean())}, {"a.png": ref}, FP32)
    assert not same.failed and same.figures["min_miou"] == 1.0
    other = ref.copy()
    other[0, 0] = 1
    check = segmentation.compare({"a.png": other}, {"a.png": float(ref.mean())}, {"a.png": ref}, FP32)
    assert check.failed and {d.what for d in check.differences} == {"pixels", "mIoU"}
    check = segmentation.compare({}, {"a.png": 3.0}, {"a.png": ref}, FP32)
    assert check.failed and check.differences[0].item == "mean label"


def test_detection_pairs_by_iou_per_class_above_the_score_threshold():
    ref = {"i": [{"class_id": 1, "score": 0.9, "box": [0, 0, 10, 10]}, {"class_id": 2, "score": 0.1, "box": [0, 0, 1, 1]}]}
    assert not detection.compare({"i": [{"class_id": 1, "score": 0.9, "box": [0, 0, 10, 10.2]}]}, ref, FP32).failed
    check = detection.compare({"i": [{"class_id": 1, "score": 0.9, "box": [0, 0, 10, 13]}]}, ref, FP32)
    assert check.failed and check.differences[0].what == "box"
    assert detection.compare({"i": [{"class_id": 3, "score": 0.9, "box": [0, 0, 10, 10]}]}, ref, FP32).failed


def test_accepted_differences_pass_later_runs_but_not_new_or_larger_ones(tmp_path):
    config = tmp_path / "model_serving_python.txt"
    config.write_text("")
    served = {"1.jpg": [line("东图", 0.85, BOX)]}
    ref = {"1.jpg": [line("东园", 0.85, REF_BOX)]}
    first = ocr.compare(served, ref, FP32)
    path = baseline.write(str(config), {"cpu": first.as_dict()["differences"]})
    assert path.name == "model_serving_python.accepted_differences.json"
    assert '"served": "东图"' in path.read_text(encoding="utf-8")  # readable in a diff
    # one accepted difference a line: a diff shows each one that came or went
    (entry,) = [l for l in path.read_text(encoding="utf-8").splitlines() if '"item"' in l]
    assert '"what": "text"' in entry and '"reference": "东园"' in entry
    again = baseline.apply(ocr.compare(served, ref, FP32), baseline.load(path), "cpu", path)
    assert not again.failed and "1 accepted difference" in again.summary_line()
    worse = baseline.apply(ocr.compare({"1.jpg": [line("东图图", 0.85, BOX)]}, ref, FP32), baseline.load(path), "cpu", path)
    assert worse.failed
    other_case = baseline.apply(ocr.compare(served, ref, FP32), baseline.load(path), "gpu", path)
    assert other_case.failed


def test_case_verdict_fails_on_differences_and_notes_when_not_built():
    client = ClientFacts("HTTP", 0, compared=False)
    facts = CaseFacts(clients=[client], answers_not_compared="answers not compared: x")
    facts.answers = TaskCheck(unavailable="the task level is not built for PaddleVideo configs yet")
    status, reason = case_status(facts)
    assert status == "partial" and reason.endswith("task answers not compared: the task level is not built for "
                                                   "PaddleVideo configs yet")
    facts.answers = ocr.compare({"1.jpg": [line("东图", 0.85, BOX)]}, {"1.jpg": [line("东园", 0.85, REF_BOX)]}, FP32)
    facts.answers.reference = "tools/infer/predict_system.py"
    status, reason = case_status(facts)
    assert status == "failed" and "OCR: 1 of 1 lines differ from tools/infer/predict_system.py" in reason


def test_readers_of_the_real_scripts_output(tmp_path):
    (tmp_path / "system_results.txt").write_text('1.jpg\t[{"transcription": "东园, 大", "points": %s}]\n'
                                                 % json.dumps(REF_BOX), encoding="utf-8")
    log = ("[2026/12/07 13:44:21] ppocr DEBUG: 0  Predict time of /x/doc/imgs/1.jpg: 1.2s\n"
           "[2026/12/07 13:44:21] ppocr DEBUG: 东园, 大, 0.856\n")
    assert read_system_results(tmp_path, log) == {"1.jpg": [{"text": "东园, 大", "box": REF_BOX, "score": 0.856}]}
    text = "daisy.jpg:\tclass id(s): [985, 1], score(s): [0.98, 0.01], label_name(s): ['daisy', 'goldfish']\n"
    assert read_predict_cls(tmp_path, text) == {"daisy.jpg": {"label": "daisy", "score": 0.98, "class_id": 985}}


def test_inference_config_lines_and_flags(tmp_path):
    serving = tmp_path / "model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt"
    serving.write_text("")
    infer = tmp_path / "model_linux_gpu_normal_normal_infer_python_linux_gpu_cpu.txt"
    infer.write_text("model_name:m\ninference:tools/infer/predict_system.py --rec_image_shape=\"3,48,320\"\n"
                     "--use_gpu:False|True\n--rec_batch_num:1\n-o Global.x:null\n--det_model_dir:\n"
                     "null:null\n--after:1\n")
    assert reference.inference_config(serving, "m") == infer
    script, flags, _ = reference.inference_lines(infer)
    assert script.startswith("tools/infer/predict_system.py")
    assert flags == [("--use_gpu", "False"), ("--rec_batch_num", "1"), ("-o Global.x", "null"), ("--det_model_dir", "")]
    assert reference.with_flags(flags, {"--det_model_dir": "/m", "-o Global.y": "1"}) == [
        "--use_gpu=False", "--rec_batch_num=1", "--det_model_dir=/m", "-o", "Global.y=1"]
    client = tmp_path / "pipeline_http_client.py"
    client.write_text('with open(os.path.join(".", "daisy.jpg"), \'rb\') as file:\n')
    assert reference.client_default_image(client) == "daisy.jpg"


def test_the_inference_script_is_found_or_the_plan_says_which_part_is_missing(tmp_path):
    from types import SimpleNamespace
    serving = tmp_path / "configs" / "m_serving_python.txt"
    serving.parent.mkdir()
    serving.write_text("")
    config = SimpleNamespace(path=serving, model_name="m")

    @reference.planned
    def task_reference(self, config, root):
        return {"script": reference.inference_script(config, root, "tools/infer.py")[1][0]}

    assert task_reference(None, config, tmp_path) == {"unavailable": "no inference TIPC config beside {} "
                                                      "(m_infer_python.txt or m_train_infer_python.txt or "
                                                      "train_infer_python.txt)".format(serving)}
    (serving.parent / "train_infer_python.txt").write_text("inference:tools/predict.py\n")
    assert task_reference(None, config, tmp_path) == {
        "unavailable": "train_infer_python.txt: its inference script is ['tools/predict.py'], not tools/infer.py"}
    (serving.parent / "m_infer_python.txt").write_text("inference:tools/infer.py --x=1\n")
    assert task_reference(None, config, tmp_path)["unavailable"] == \
        "m_infer_python.txt names tools/infer.py, which is not in {}".format(tmp_path)
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "infer.py").write_text("")
    assert task_reference(None, config, tmp_path) == {"script": "tools/infer.py"}


def test_ocr_extra_served_lines_are_lines_compared_so_the_count_never_exceeds_the_lines():
    """All of doc/imgs gave "236 of 407 lines differ" where 21 of the 236 were served lines no reference line
    paired (a line the service merged from two): they were counted as differing but not as compared."""
    merged = [[0, 0], [120, 0], [120, 20], [0, 20]]
    check = ocr.compare({"a.jpg": [line("登机口 GATE", 0.9, merged)]}, {"a.jpg": []}, FP32)
    assert check.items == 1 and check.summary_line().startswith("OCR: 1 of 1 lines differ from")
    check = ocr.compare({"a.jpg": [line("x", 0.9, REF_BOX), line("y", 0.9, merged)]},
                        {"a.jpg": [line("x", 0.9, REF_BOX)]}, FP32)
    assert check.items == 2 and check.summary_line().startswith("OCR: 1 of 2 lines differ from")
    assert (check.figures["paired"], check.figures["missing"], check.figures["extra"]) == (1, 0, 1)


def test_ocr_corners_within_a_share_of_a_tall_lines_height():
    """The stand-in's 80 px high '2024': the service's other resize tilts its box by 3.2 px; on a 20 px line the
    same 3.2 px is a box that moved (the 3 px floor)."""
    ref_tall = [[66, 334], [299, 334], [299, 413], [66, 413]]
    served_tall = [[64.0, 333.0], [300.0, 331.0], [300.0, 412.0], [65.0, 414.0]]
    assert not ocr.compare({"1.jpg": [line("2024", 0.9999, served_tall)]},
                           {"1.jpg": [line("2024", 1.0, ref_tall)]}, FP32).failed
    ref_short = [[66, 334], [299, 334], [299, 354], [66, 354]]
    served_short = [[64.0, 333.0], [300.0, 331.0], [300.0, 353.0], [65.0, 355.0]]
    check = ocr.compare({"1.jpg": [line("2024", 1.0, served_short)]}, {"1.jpg": [line("2024", 1.0, ref_short)]}, FP32)
    assert [d.what for d in check.differences] == ["box"]
    assert check.tolerance["corner_share_of_height"] == 0.05
