"""The task level (issue 21) for PaddleDetection: the served boxes against the repository's own
deploy/python/infer.py, found the TIPC way (the model's <model>_train_infer_python.txt beside the serving config,
its `inference:` line and flags), run on the CPU in fp32 on the export the service serves and the image its client
sends; its answers are the boxes it prints (repos/paddledetection.read_infer_boxes).

Fast: the reader on infer.py's real output format, the plan's reference on the stand-in. Slow, end to end on the
stand-in (tests/dialects/PaddleDetection, the inference config written into the copy only, INFER_PARAMS):

- with weights seeded 16 the detector keeps one box above 0.5 on the image (0.69, the next 0.44): the served box
  is infer.py's, the case passes;
- a threshold planted in the copy's web_service.py (0.8 instead of infer_cfg.yml's draw_threshold) and a swapped
  colour order in its preprocess_ops.py each fail, naming the box;
- with the stand-in's own weights (seed 0) infer.py prints dozens of boxes above 0.5 but the service answers one:
  Paddle Serving 0.9.0's pipeline passes an op's postprocess one row of a fetch that is not a LoD tensor per image
  sent (tests/test_detection_standin.py), as PaddleDetection's real web_service.py does with its exported
  detectors. The case fails naming the missing boxes.
"""
import shutil

import pytest

from conftest import PYTHON
from harnesskit import plant, run_from_repo
from standin_models import DETECTION_CONFIG, prepare_detection
from tipc_serving.config import tipc
from tipc_serving.repos.paddledetection import PaddleDetection, read_infer_boxes
from tipc_serving.verdict import replies
from tipc_serving.verdict.tasks import detection

MODEL = "ppyolo_mbv3_small_coco"
INFER_CONFIG = "test_tipc/configs/ppyolo/{}_train_infer_python.txt".format(MODEL)
# The infer_params of PaddleDetection's <model>_train_infer_python.txt, as its picodet and ppyolo configs write them.
INFER_PARAMS = """===========================infer_params===========================
--output_dir:./output_inference
weights:./weights/ppyolo_mbv3_small_coco.pdparams
norm_export:tools/export_model.py -c configs/ppyolo/ppyolo_mbv3_small_coco.yml -o
##
infer_mode:norm
infer_quant:False
inference:./deploy/python/infer.py
--device:gpu|cpu
--enable_mkldnn:False
--cpu_threads:4
--batch_size:1
--use_tensorrt:null
--run_mode:paddle
--model_dir:
--image_dir:./dataset/coco/test2017/
--save_log_path:null
--run_benchmark:False
null:null
"""
REFERENCE = "deploy/python/infer.py"
# What PaddleDetection's deploy/python/infer.py (666f597f) prints for two images, the second with no box above
# --threshold (its visualize() prints each box while drawing it, then the image it saved).
INFER_LOG = """-----------  Running Arguments -----------
threshold: 0.5
------------------------------------------
-----------  Model Configuration -----------
Model Arch: GFL
--------------------------------------------
class_id:0, confidence:0.9720, left_top:[0.00,25.11],right_bottom:[490.58,68.42]
class_id:3, confidence:0.5706, left_top:[279.76,0.00],right_bottom:[502.35,399.00]
save result to: /run/task_reference/out/000000014439.jpg
save result to: /run/task_reference/out/empty.jpg
Test iter 0
------------------ Inference Time Info ----------------------
"""


def test_the_reader_takes_each_printed_box_to_the_image_saved_after_it():
    found = read_infer_boxes("/nowhere", INFER_LOG)
    assert found == {"000000014439.jpg": [{"class_id": 0, "score": 0.972, "box": [0.0, 25.11, 490.58, 68.42]},
                                          {"class_id": 3, "score": 0.5706, "box": [279.76, 0.0, 502.35, 399.0]}],
                     "empty.jpg": []}
    assert read_infer_boxes("/nowhere", "Test iter 0\n") == {}


def test_the_served_boxes_are_read_from_the_clients_print_and_compared_within_the_printed_rounding():
    line = ("{'err_no': 0, 'err_msg': '', 'key': ['image_0'], 'value': [\"['0 0.97201234 0.0 25.105701 490.5784 "
            "68.416', '3 0.57059 279.7605 0.0 502.3527 399.0']\"], 'tensors': []}")
    (reply,) = replies.read_paddledetection(line).replies
    served = detection.served_answer(reply.answers)
    assert [box["class_id"] for box in served] == [0, 3]
    reference = read_infer_boxes("/nowhere", INFER_LOG)
    check = detection.compare({"000000014439.jpg": served}, {"000000014439.jpg": reference["000000014439.jpg"]},
                              tolerance_fp32(), score_rounding=5e-5)
    assert not check.failed and check.items == 2 and check.figures["min_iou"] > 0.999
    (nothing,) = replies.read_paddledetection(line.replace("\"['0 0.97201234 0.0 25.105701 490.5784 68.416', "
                                                           "'3 0.57059 279.7605 0.0 502.3527 399.0']\"",
                                                           "'No object detected!'")).replies
    check = detection.compare({"a.jpg": detection.served_answer(nothing.answers)},
                              {"a.jpg": reference["000000014439.jpg"]}, tolerance_fp32())
    assert check.failed and [d.what for d in check.differences] == ["missing", "missing"]
    assert "a.jpg box 1 class 0: missing served 'None', reference '0.972 [0.0, 25.1, 490.6, 68.4]'" in check.summary_line()
    assert detection.served_answer({"keypoint": [[1, 2]], "scores": [0.3]}) is None


def tolerance_fp32():
    from tipc_serving.verdict.tolerance import for_task
    return for_task("fp32")


def test_a_box_on_the_thresholds_edge_is_not_a_difference():
    reference = {"a.jpg": [{"class_id": 1, "score": 0.5004, "box": [0, 0, 10, 10]}]}
    assert not detection.compare({"a.jpg": []}, reference, tolerance_fp32()).failed
    reference["a.jpg"][0]["score"] = 0.51
    assert detection.compare({"a.jpg": []}, reference, tolerance_fp32()).failed


def standin(root, infer_params=INFER_PARAMS):
    from test_dialects import fresh_repo
    repo = fresh_repo("PaddleDetection", root)
    if infer_params:
        (repo / INFER_CONFIG).write_text(infer_params)
    return repo


def test_the_plan_runs_infer_py_on_the_export_the_service_serves_and_the_clients_image(tmp_path):
    repo = standin(tmp_path)
    config = tipc.parse(repo / DETECTION_CONFIG)
    spec = PaddleDetection().task_reference(config, repo)
    assert "unavailable" not in spec, spec
    model = repo / "output_inference" / MODEL
    assert spec["script"] == REFERENCE and spec["inference_config"] == INFER_CONFIG
    assert spec["argv"] == [REFERENCE, "--device=CPU", "--enable_mkldnn=False", "--cpu_threads=4", "--batch_size=1",
                            "--run_mode=paddle", "--model_dir={}".format(model), "--run_benchmark=False",
                            "--image_file={}".format(repo / "demo" / "000000014439.jpg"), "--output_dir={out}",
                            "--save_images=True"]
    assert spec["images"] == [str(repo / "demo" / "000000014439.jpg")]
    assert spec["reader"] == "paddledetection:read_infer_boxes" and spec["task"] == "detection"
    service, reference = spec["parameters"]["service"], spec["parameters"]["reference"]
    assert service["threshold rule"] == "box[1] > threshold" and service["colour order"] == "RGB"
    assert reference["--threshold"] == "0.5" and reference["colour order"] == "RGB"
    assert "draw_threshold" not in service and "not written yet" in service["infer_cfg.yml"]  # the export runs later

    (model / "infer_cfg.yml").parent.mkdir(parents=True)
    (model / "infer_cfg.yml").write_text("arch: YOLO\ndraw_threshold: 0.6\nPreprocess: [{type: Permute}]\n")
    spec = PaddleDetection().task_reference(config, repo)
    assert (spec["parameters"]["service"]["draw_threshold"], spec["parameters"]["service"]["Preprocess"]) == (
        0.6, '[{"type":"Permute"}]')
    (model / "infer_cfg.yml").write_text("arch: HRNet\n")
    assert PaddleDetection().task_reference(config, repo) == {"unavailable": "HRNet models answer keypoints, not boxes"}


def test_a_threshold_the_services_code_sets_is_its_score_threshold(tmp_path):
    from tipc_serving.repos.paddledetection import _service_side
    web = tmp_path / "web_service.py"
    web.write_text("if line[0] > -1 and line[1] > GLOBAL_VAR[\n        'model_config'].draw_threshold:\n")
    found = _service_side(web, tmp_path, {"draw_threshold": 0.6, "Preprocess": []})
    assert found["threshold rule"] == "line[1] > GLOBAL_VAR[ 'model_config'].draw_threshold"
    assert found["draw_threshold"] == 0.6
    web.write_text("if line[0] > -1 and line[1] > 0.8:\n")
    assert _service_side(web, tmp_path, {"draw_threshold": 0.6})["draw_threshold"] == "0.8 (its code's, not infer_cfg.yml's)"
    web.write_text("threshold = 0.7  # planted\nlines = [b for b in boxes if b[1] > threshold]\n")
    assert _service_side(web, tmp_path, {})["draw_threshold"] == "0.7 (its code's, not infer_cfg.yml's)"


def test_without_the_inference_config_the_task_level_says_why(tmp_path):
    repo = standin(tmp_path, infer_params=None)
    spec = PaddleDetection().task_reference(tipc.parse(repo / DETECTION_CONFIG), repo)
    assert spec["unavailable"].startswith("no inference TIPC config beside ")
    assert spec["unavailable"].endswith(" or ppyolo_mbv3_small_coco_train_infer_python.txt or train_infer_python.txt)")


# ---------------------------------------------------------------- end to end (slow)
def harness(repo, output):
    return run_from_repo(repo, DETECTION_CONFIG, output, MODEL, "cpu", timeout=600)


@pytest.mark.slow
def test_detection_boxes_pass_then_a_planted_threshold_or_colour_order_fails(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private network namespace (the stand-in keeps PaddleDetection's ports)")
    repo = prepare_detection(standin(tmp_path), python=PYTHON, seed=16)
    done, case, run_dir = harness(repo, tmp_path / "clean")
    assert done.returncode == 0, done.stdout[-3000:]
    assert case["status"] == "passed", case["reason"]
    answers = case["answers"]
    assert "detection: 1 box as {} gives them".format(REFERENCE) in case["reason"], case["reason"]
    assert (answers["figures"]["served_boxes"], answers["figures"]["reference_boxes"]) == (1, 1)
    assert answers["figures"]["min_iou"] > 0.99 and answers["figures"]["max_score_diff"] < 1e-3
    assert "--device=CPU --enable_mkldnn=False" in answers["command"] and "--model_dir=" in answers["command"]
    assert (run_dir / "task_reference" / "out" / "000000014439.jpg").is_file()  # the image infer.py drew
    # planned before the run's export wrote infer_cfg.yml, the reference was planned again after it
    assert "infer_cfg.yml" not in answers["parameters"]["service"], answers["parameters"]
    assert answers["parameters"]["reference"]["Preprocess"] == answers["parameters"]["service"]["Preprocess"]
    assert [row[3] for row in answers["parameter_rows"] if row[0] == "preprocess"] == [False]

    web = repo / "deploy" / "serving" / "python" / "web_service.py"
    plant(web, 'threshold = GLOBAL_VAR["model_config"].draw_threshold', "threshold = 0.8")
    done, case, run_dir = harness(repo, tmp_path / "threshold")
    assert done.returncode == 1, done.stdout[-3000:]
    assert case["status"] == "failed"
    assert case["reason"].startswith("detection: 1 of 1 boxes differ from " + REFERENCE), case["reason"]
    assert "000000014439.jpg box 1 class " in case["reason"] and ": missing served 'None', reference '0.69" in case["reason"]
    assert "parameters that differ: score threshold (service 0.8 (its code's" in case["reason"], case["reason"]
    row = next(line for line in (run_dir / "task_reference" / "parameters.txt").read_text().splitlines()
               if line.startswith("score threshold"))
    assert "0.8 (its code's, not infer_cfg.yml's)" in row and row.endswith("<- differs"), row
    plant(web, "threshold = 0.8", 'threshold = GLOBAL_VAR["model_config"].draw_threshold')

    plant(repo / "deploy" / "serving" / "python" / "preprocess_ops.py", "im = np.array(img)",
          "im = np.array(img)[:, :, ::-1]")  # the service's image in BGR
    done, case, _ = harness(repo, tmp_path / "colour")
    assert done.returncode == 1, done.stdout[-3000:]
    assert case["status"] == "failed"
    assert case["reason"].startswith("detection: 1 of 1 boxes differ from " + REFERENCE), case["reason"]
    assert "000000014439.jpg box 1 class " in case["reason"], case["reason"]


@pytest.mark.slow
def test_a_service_that_answers_one_box_of_many_fails_naming_the_missing_ones(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private network namespace (the stand-in keeps PaddleDetection's ports)")
    repo = prepare_detection(standin(tmp_path), python=PYTHON)
    done, case, _ = harness(repo, tmp_path / "seed0")
    assert done.returncode == 1, done.stdout[-3000:]
    figures = case["answers"]["figures"]
    assert figures["served_boxes"] == 1 and figures["reference_boxes"] > 10 and figures["paired"] == 1
    assert case["reason"].startswith("detection: {} of {} boxes differ from {}".format(
        figures["reference_boxes"] - 1, figures["reference_boxes"], REFERENCE)), case["reason"]
    assert ": missing served 'None', reference '" in case["reason"]
