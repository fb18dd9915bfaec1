"""The task level (issue 21) for PaddleVideo: the plan's reference (tools/predict.py with its -c yaml, found through
train_infer_python.txt beside the serving config), its reader of predict.py's top-1 lines, the class id read as a
label through the service's own label list (the run's plan names it), the parameters both sides name; and the
stand-in's tools/predict.py run as the reference runs it.

PaddleVideo's serving config has one case, named gpu by its script, which a CPU machine skips: the end-to-end test
runs it as tests/test_engine_level_dialects.py does (the stand-in as a developer edits it for a CPU, the GPU
forced), and the task level compares its answer with the stand-in's tools/predict.py."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, clean_env
from harnesskit import HARNESS, task_reference_of
from standin_models import DIALECTS
from test_dialects import seeded_exports, write_inputs  # noqa: F401 (seeded_exports: a fixture, used by name)
from test_engine_level_dialects import cpu_copy
from tipc_serving.repos.paddlevideo import read_predict
from tipc_serving.verdict.tasks import TaskCheck, video
from tipc_serving.verdict.tolerance import for_task

CONFIG = "test_tipc/configs/PP-TSM/model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt"
MODEL = "inference/ppTSM"
WEB = "deploy/python_serving/recognition_web_service.py"
REFERENCE = "tools/predict.py"
# tools/predict.py's lines as the real PaddleVideo printed them (ed245e9c, seeded PP-TSM, data/example.avi)
REAL_LOG = ("I1207 15:54:40.165580 15930 naive_executor.cc:164] ---  skip [linear_2.tmp_1], fetch -> fetch\n"
            "Current video file: /tmp/h21/video/data/example.avi\n"
            "\ttop-1 class: [368]\n"
            "\ttop-1 score: [0.99921095]\n")


def video_copy(root):
    """The stand-in under root/PaddleVideo with the video its client sends (data/example.avi), an empty model."""
    repo = root / "PaddleVideo"
    shutil.copytree(str(DIALECTS / "PaddleVideo"), str(repo), ignore=shutil.ignore_patterns("__pycache__"))
    write_inputs("PaddleVideo", repo)
    (repo / MODEL).mkdir(parents=True)
    return repo


def test_the_reference_is_predict_py_on_the_cpu_with_the_served_model_and_the_videos_sent(tmp_path):
    repo = video_copy(tmp_path)
    shutil.copy(str(repo / "data" / "example.avi"), str(repo / "data" / "second.mp4"))
    spec = task_reference_of(repo, CONFIG)
    data = (repo / "data").resolve()
    sent = [str(data / name) for name in os.listdir(str(data)) if name.endswith((".avi", ".mp4"))]
    assert spec["task"] == "video" and spec["script"] == REFERENCE and spec["images"] == sent and len(sent) == 2
    assert spec["inference_config"] == "test_tipc/configs/PP-TSM/train_infer_python.txt"
    model = (repo / MODEL).resolve()
    assert spec["argv"] == [REFERENCE, "--config", "configs/recognition/pptsm/pptsm_k400_frames_uniform.yaml",
                            "--use_gpu=False", "--enable_mkldnn=False", "--cpu_threads=1", "--batch_size=1",
                            "--use_tensorrt=False", "--precision=fp32", "--model_file={}/ppTSM.pdmodel".format(model),
                            "--input_file={}{}".format(data, os.sep), "--params_file={}/ppTSM.pdiparams".format(model),
                            "--enable_benchmark=False"]
    assert spec["cwd"] == str(repo) and spec["paths"] == [str(repo)] and spec["reader"] == "paddlevideo:read_predict"
    assert spec["labels"] == str((repo / "data/k400/Kinetics-400_label_list.txt").resolve())
    rows = TaskCheck(parameters=spec["parameters"]).parameter_rows()
    assert [(what, differs) for what, _, _, differs in rows] == [
        ("frames sampled", False), ("frames a segment", False), ("scale (short side)", False), ("crop", False),
        ("normalisation mean", False), ("normalisation std", False)], rows


def test_a_changed_scale_in_the_service_shows_in_the_parameters(tmp_path):
    repo = video_copy(tmp_path)
    web = repo / WEB
    web.write_text(web.read_text().replace("Sampler(8, 1, valid_mode=True), Scale(256)",
                                           "Sampler(8, 1, valid_mode=True), Scale(320)"))
    rows = {row[0]: row for row in TaskCheck(parameters=task_reference_of(repo, CONFIG)["parameters"]).parameter_rows()}
    assert rows["scale (short side)"] == ("scale (short side)", 320, 256, True)


def test_without_its_inference_config_the_reference_says_why(tmp_path):
    repo = video_copy(tmp_path)
    (repo / "test_tipc/configs/PP-TSM/train_infer_python.txt").unlink()
    assert task_reference_of(repo, CONFIG)["unavailable"].startswith("no inference TIPC config beside ")


def test_the_reader_reads_the_real_lines_and_names_the_class_by_the_services_label_list(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("".join("{} action_{}\n".format(i, i) for i in range(400)).replace("368 action_368",
                                                                                          "368 tying_bow_tie"))
    answers = read_predict(tmp_path / "out", REAL_LOG, {"labels": str(labels)})
    assert answers == {"example.avi": {"label": "tying_bow_tie", "score": 0.99921095, "class_id": 368}}
    # the served reply of the same video (PaddleVideo's own service, last session's CPU copy)
    served = video.served_answer({"label": ["tying_bow_tie"], "prob": [0.9992109537124634]})
    check = video.compare({"example.avi": served}, answers, for_task("fp32"))
    assert not check.failed and check.items == 1 and check.unit == "videos", check.summary_line()
    # without a label list the id stays an id, and a label never matches by chance
    assert read_predict(tmp_path / "elsewhere" / "out", REAL_LOG)["example.avi"]["label"] == "class 368"
    one_line = "Current video file: a/b.mp4\ttop-1 class: [3 1]\ttop-1 score: [0.5 0.2]\n"
    assert read_predict(tmp_path / "elsewhere" / "out", one_line) == {
        "b.mp4": {"label": "class 3", "score": 0.5, "class_id": 3}}


def test_the_stand_ins_predict_py_prints_what_the_reader_reads(tmp_path):
    """The stand-in's tools/predict.py, run as chain/answers.py runs the reference (chain/reference_run.py, from the
    repository's root), on the seeded PP-TSM-shaped model."""
    repo = video_copy(tmp_path)
    subprocess.run([sys.executable, str(DIALECTS / "seeded_models.py"), "video", str(repo / MODEL), "ppTSM"],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env(), timeout=300)
    spec = task_reference_of(repo, CONFIG)
    env = clean_env(PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-m", "tipc_serving.chain.reference_run", "--path", str(repo), "--",
                           *spec["argv"]], cwd=spec["cwd"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                          universal_newlines=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Inference model(ppTSM)..." in done.stdout
    answers = read_predict(tmp_path / "out", done.stdout)
    assert list(answers) == ["example.avi"] and 0 < answers["example.avi"]["score"] <= 1, done.stdout[-500:]


@pytest.mark.slow
def test_the_stand_ins_served_answer_is_what_its_predict_py_gives(tmp_path, seeded_exports):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private network namespace (the stand-in keeps PaddleVideo's ports)")
    repo = cpu_copy("PaddleVideo", tmp_path, seeded_exports)
    done = subprocess.run(["bash", str(HARNESS), str(repo / CONFIG), "--netns", "on", "--output-dir",
                           str(tmp_path / "out")], cwd=str(repo), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=clean_env(TIPC_GPU="1", TIPC_TRT="0"), universal_newlines=True, timeout=900)
    run_dir = (tmp_path / "out" / "PP-TSM" / "serving_python" / "latest").resolve()
    case = json.loads((run_dir / "results.json").read_text())["cases"][0]
    assert done.returncode == 0, done.stdout[-3000:]
    assert case["status"] == "passed", case["reason"]
    assert case["reason"].endswith("video: 1 video as tools/predict.py gives them"), case["reason"]
    answers = case["answers"]
    assert "tools/predict.py --config configs/recognition/pptsm/pptsm_k400_frames_uniform.yaml --use_gpu=False" in \
        answers["command"], answers["command"]
    assert answers["figures"]["max_score_diff"] <= 1e-6, answers["figures"]
    reference = read_predict(run_dir / "task_reference" / "out",
                             Path(run_dir / "task_reference" / "reference.log").read_text(),
                             json.loads((run_dir / "plan.json").read_text())["configs"][0]["task_reference"])
    assert reference["example.avi"]["label"].startswith("seeded_action_"), reference  # named by the plan's list
