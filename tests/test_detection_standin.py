"""The PaddleDetection stand-in (tests/dialects/PaddleDetection) is a real Paddle Serving pipeline: its
tools/export_model.py, run as the ppyolo serving config's norm_export runs it, loads seeded weights into a tiny
detector built from Paddle's operators (yolo_box, matrix_nms) and writes the serving model; its web service
serves that model through the pipeline's local predictor and its client prints what PaddleDetection's
pipeline_http_client.py prints, print(r.json()). The boxes it prints are the exported model's own, computed
here again with Paddle Inference.

Paddle Serving 0.9.0's pipeline keeps, of each fetch that is not a LoD tensor, as many rows as images were
sent (its batch split): of the NMS boxes [M, 6] only the first row reaches the op's postprocess. PaddleDetection's
real web_service.py, run on the same exported model, printed the same single box.
"""
import ast
import shutil
import subprocess

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import PYTHON, clean_env
from standin_models import DETECTION_IMAGE_PATH, DIALECTS, fill_ports, prepare_detection
from tipc_serving.service.lifecycle import Service
from tipc_serving.service.ports import free_ports
from tipc_serving.service.readiness import process_ops

MODEL_DIR = "output_inference/ppyolo_mbv3_small_coco"
# The config's norm_export with the script's weights=, filename= and --output_dir, as test_serving_infer_python.sh
# builds it; then its CPU case's service and client.
EXPORT = ["tools/export_model.py", "-c", "configs/ppyolo/ppyolo_mbv3_small_coco.yml", "--export_serving_model", "True",
          "-o", "weights=./weights/ppyolo_mbv3_small_coco.pdparams", "filename=ppyolo_mbv3_small_coco",
          "--output_dir=./output_inference"]
SERVICE = ["deploy/serving/python/web_service.py", "--config=deploy/serving/python/config.yml",
           "--model_dir=./" + MODEL_DIR, "--opt=op.ppdet.local_service_conf.device_type=0"]
CLIENT = ["deploy/serving/python/pipeline_http_client.py", "--image_file=./" + DETECTION_IMAGE_PATH]


def run(repo, argv):
    return subprocess.run([PYTHON] + argv, cwd=str(repo), env=clean_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)


@pytest.fixture(scope="module")
def detection_repo(tmp_path_factory):
    """A copy of the stand-in repository with free ports, seeded weights, its image, and the export made."""
    repo = tmp_path_factory.mktemp("detection") / "PaddleDetection"
    shutil.copytree(str(DIALECTS / "PaddleDetection"), str(repo))
    fill_ports(repo, *free_ports(2))
    prepare_detection(repo)
    export = run(repo, EXPORT)
    assert export.returncode == 0, export.stdout[-3000:]
    return repo


def test_the_export_writes_the_serving_model_with_paddledetections_feeds_and_fetches(detection_repo):
    model = detection_repo / MODEL_DIR
    for name in ("model.pdmodel", "model.pdiparams", "infer_cfg.yml", "serving_server/serving_server_conf.prototxt",
                 "serving_client/serving_client_conf.prototxt"):
        assert (model / name).is_file(), name
    prototxt = (model / "serving_server" / "serving_server_conf.prototxt").read_text()
    feeds = [block.split('name: "')[1].split('"')[0] for block in prototxt.split("feed_var")[1:]]
    fetches = [block.split('name: "')[1].split('"')[0] for block in prototxt.split("fetch_var")[1:]]
    assert feeds == ["image", "im_shape", "scale_factor"]
    assert len(fetches) == 2 and all(name.startswith("matrix_nms") for name in fetches), fetches
    infer_cfg = yaml.safe_load((model / "infer_cfg.yml").read_text())
    assert infer_cfg["arch"] == "YOLO"
    assert [step["type"] for step in infer_cfg["Preprocess"]] == ["Resize", "NormalizeImage", "Permute"]


def test_the_export_refuses_weights_that_are_not_there(detection_repo):
    argv = [word.replace("weights=./weights/", "weights=./no_such_dir/") for word in EXPORT]
    result = run(detection_repo, argv[:-1] + ["--output_dir=./elsewhere"])
    assert result.returncode != 0
    assert "no_such_dir/ppyolo_mbv3_small_coco.pdparams does not exists" in result.stdout


def reference_boxes(repo):
    """The exported model run by Paddle Inference (IR optimisation off, as the service's default) on the image,
    preprocessed by the stand-in's own preprocess_ops: the NMS boxes (class, score, x1, y1, x2, y2) and
    infer_cfg.yml's draw_threshold."""
    import sys

    from paddle import inference

    sys.path.insert(0, str(repo / "deploy" / "serving" / "python"))
    try:
        from preprocess_ops import Compose
    finally:
        sys.path.pop(0)
    infer_cfg = yaml.safe_load((repo / MODEL_DIR / "infer_cfg.yml").read_text())
    inputs = Compose(infer_cfg["Preprocess"])(Image.open(str(repo / DETECTION_IMAGE_PATH)).convert("RGB"))
    config = inference.Config(str(repo / MODEL_DIR / "model.pdmodel"), str(repo / MODEL_DIR / "model.pdiparams"))
    config.disable_gpu()
    config.switch_ir_optim(False)
    predictor = inference.create_predictor(config)
    for name in predictor.get_input_names():
        predictor.get_input_handle(name).copy_from_cpu(inputs[name][np.newaxis].astype("float32"))
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu(), infer_cfg["draw_threshold"]


def test_the_service_answers_the_exported_models_boxes_as_paddledetections_client_prints_them(detection_repo):
    config = yaml.safe_load((detection_repo / "deploy/serving/python/config.yml").read_text())
    port = config["http_port"]
    shutil.rmtree(str(detection_repo / "PipelineServingLogs"), ignore_errors=True)
    with Service([PYTHON] + SERVICE, detection_repo / "server.log", cwd=detection_repo, env=clean_env()) as service:
        service.wait_ready("http://127.0.0.1:{}/ppdet/prediction".format(port), port, 120, config.get("rpc_port"),
                           detection_repo / "PipelineServingLogs", process_ops(config))
        client = run(detection_repo, CLIENT)
    assert client.returncode == 0, client.stdout
    (line,) = client.stdout.splitlines()  # one image, one print(r.json())
    reply = ast.literal_eval(line)
    assert (reply["err_no"], reply["err_msg"], reply["key"], reply["tensors"]) == (0, "", ["image_0"], [])
    served = [[float(word) for word in box.split()] for box in ast.literal_eval(reply["value"][0])]
    boxes, threshold = reference_boxes(detection_repo)
    assert len(boxes) > 1  # the model finds more boxes than the pipeline passes on
    expected = [box for box in boxes[:1] if box[0] > -1 and box[1] > threshold]  # one image sent: one row
    assert served, "the seeded detector's first box is above draw_threshold in this image"
    assert np.allclose(np.array(served), np.array(expected), atol=1e-3), (served, expected)
    width, height = Image.open(str(detection_repo / DETECTION_IMAGE_PATH)).size
    assert all(0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height for _, _, x1, y1, x2, y2 in served)
    pipeline_log = (detection_repo / "PipelineServingLogs" / "pipeline.log").read_text()
    assert ("LocalPredictor load_model_config params: model_path:./{}/serving_server, use_gpu:False".format(MODEL_DIR)
            in pipeline_log)
