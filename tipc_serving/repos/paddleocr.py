"""PaddleOCR: test_tipc/test_serving_infer_python.sh and deploy/pdserving; its older test_serving.sh (the legacy
layout)."""
import re

from ..config.reader import NULL
from .base import (Command, Dialect, DialectCase, client_command, config_flag, conversion, eval_words,
                   set_param, stem, trt_precisions, values_of)
from .models_template import Template
from .reference import (client_images, inference_script, planned, relative, service_parameters, unavailable,
                        with_flags)


class PaddleOCR(Dialect):
    """23 lines: the detector and the recogniser (--det_*, --rec_*; null for the one a config lacks), the
    device list op.det.local_service_conf.devices:gpu|null, and key-only lines whose value the script fills
    in (the converted models' folders). GPU: use_trt x precision (fp16/int8 only with TensorRT); CPU:
    use_mkldnn x thread_num."""

    name = "PaddleOCR"
    known = {"model_name", "python", "trans_model", "--det_dirname", "--model_filename", "--params_filename",
             "--det_serving_server", "--det_serving_client", "--rec_dirname", "--rec_serving_server",
             "--rec_serving_client", "serving_dir", "web_service", "pipline", "--image_dir"}
    patterns = (r"op\.(det|rec)\.local_service_conf\.(devices|use_mkldnn|thread_num|use_trt|precision|model_config)",)
    required = Dialect.required + ("pipline",)
    both = ("ch_PP-OCRv2", "ch_PP-OCRv3", "ch_ppocr_mobile_v2_0", "ch_ppocr_server_v2_0")

    def roles(self, model_name):
        """The script's model branch: both models for the system configs, else by name."""
        if model_name in self.both:
            return ("det", "rec")
        return ("det",) if "det" in model_name else ("rec",) if "rec" in model_name else ()

    def op_value(self, entries, leaf):
        found = entries.matching(r"op\.(det|rec)\.local_service_conf\." + leaf)
        return (found[0].key, found[0].value) if found else (None, None)

    def build(self, entries):
        model = entries.value("model_name") or ""
        conversions, model_configs = [], []
        for role in self.roles(model):
            server, client = (entries.value("--{}_{}".format(role, k)) for k in ("serving_server", "serving_client"))
            conversions.append(conversion(entries, role, entries.first("--{}_dirname".format(role)), server, client,
                                           ".", "python_trans_model_{}.log".format(role)))
            key = next((e.key for e in entries.matching(r"op\.{}\.local_service_conf\.model_config".format(role))), None)
            model_configs.append(set_param(key, (server or "").rstrip("/").split("/")[-1]))
        web = eval_words(entries.value("web_service"))
        image = entries.first("--image_dir")
        devices_key, devices = self.op_value(entries, "devices")
        cases = []
        for use_gpu in values_of(devices or NULL):
            if use_gpu == "gpu":
                trt_key, trts = self.op_value(entries, "use_trt")
                precision_key, precisions = self.op_value(entries, "precision")
                for trt, precision in trt_precisions(trts or NULL, precisions or NULL):
                    settings = {"use_trt": trt, "precision": precision}
                    opts = [set_param(trt_key, trt), set_param(precision_key, precision)] + model_configs
                    cases.append(self.case("gpu", "usetrt_{}_precision_{}".format(trt, precision), settings,
                                           web, opts, entries, image))
            elif use_gpu == NULL:
                mkldnn_key, mkldnns = self.op_value(entries, "use_mkldnn")
                threads_key, threads = self.op_value(entries, "thread_num")
                for mkldnn in values_of(mkldnns or NULL):
                    for thread in values_of(threads or NULL):
                        settings = {"use_mkldnn": mkldnn, "thread_num": thread}
                        opts = ["{}=".format(devices_key), set_param(mkldnn_key, mkldnn),
                                set_param(threads_key, thread)] + model_configs
                        cases.append(self.case("cpu", "usemkldnn_{}_threads_{}".format(mkldnn, thread), settings,
                                               web, opts, entries, image))
        return self.config(entries, conversions=conversions, cases=cases, service_config=config_flag(web),
                           coverage="OCR answers (text and boxes) are not classes and probabilities",
                           served_ops=list(self.roles(model)) or None)  # config.yml lists det and rec for all three

    def case(self, device, suffix, settings, web, opts, entries, image):
        name = "{}_{}".format(device, suffix)
        clients = []
        for client in values_of(entries.value("pipline")):
            args = eval_words(client)[1:] + ([set_param(image.key, image.value)] if image else [])
            log = "python_client_{}_{}_{}_batchsize_1.log".format(device, stem(client), suffix)
            clients.append(client_command(eval_words(client)[0], args, log, entries.value("serving_dir")))
        return DialectCase(name, device, settings,
                           Command(web + [o for o in opts if o], entries.value("serving_dir"),
                                   "python_server_{}.log".format(name)), clients)

    @planned
    def task_reference(self, config, root):
        """The model's own inference script, as its inference TIPC config runs it: predict_system.py for the det+rec
        configs, predict_det.py for the detector's, predict_rec.py for the recogniser's (REFERENCES)."""
        roles = tuple(c.role for c in config.conversions)
        if roles not in REFERENCES:
            return unavailable("no PaddleOCR reference for a config converting {}".format(
                " and ".join(roles) or "nothing"))
        expected, task, reader, patterns, pairs = REFERENCES[roles]
        path, words, flags = inference_script(config, root, "tools/infer/" + expected)
        images = client_images(config, root)
        if not images:
            return unavailable("the images the client sends could not be learnt from the config")
        image_dir = next((str((root / cwd / e.value).resolve()) for e, cwd in config.inputs), images[0])
        overrides = {"--use_gpu": "False", "--enable_mkldnn": "False", "--use_tensorrt": "False", "--precision": "fp32",
                     "--image_dir": image_dir, "--benchmark": "False", "--draw_img_save_dir": "{out}"}
        overrides.update({"--{}_model_dir".format(c.role): str((root / c.dirname).resolve())
                          for c in config.conversions})
        if roles != ("det", "rec"):  # predict_det/rec log to --save_log_path too (default ./log_output/: the repo)
            overrides["--save_log_path"] = "{out}/"
        argv = words + with_flags(flags, overrides)
        web = root / config.serving_dir / config.cases[0].service.argv[0] if config.cases else None
        service = service_parameters(web, patterns) if web else {}
        if web and "rec" in roles and "rec image shape" not in service:  # OCRReader's default, in ocr_reader.py
            service.update(service_parameters(web.parent / "ocr_reader.py", READER_PARAMETERS))
        passed = {w.split("=", 1)[0].lstrip("-"): w.split("=", 1)[1] for w in argv[1:] if "=" in w}
        reference = dict(_utility_defaults(root, roles),
                         **{k: v for k, v in passed.items() if k not in ("draw_img_save_dir", "save_log_path")})
        return {"task": task, "script": words[0], "inference_config": relative(path, root), "argv": argv,
                "cwd": str(root), "paths": [], "package": None, "images": images, "reader": "paddleocr:" + reader,
                "parameters": {"service": service, "reference": reference, "pairs": pairs}}


class PaddleOCRLegacy(Template):
    """PaddleOCR's test_tipc/test_serving.sh (2021-10 to 2022-05), which the template copies: the same 18-line
    layout without null:null lines (op.det|rec.local_service_conf.devices, use_mkldnn, thread_num, use_trt,
    precision), but GPU is the value `gpu` and passes no devices word, and CPU passes `devices=` (empty)."""

    name = "PaddleOCR legacy"
    gpu_value = "gpu"      # `elif [ ${use_gpu} = "gpu" ]`; "0" and '"0"' fall to "Does not support hardware"
    cpu_devices = ""       # `${web_use_gpu_key}=""`
    gpu_devices = False    # `${web_service_py} ${set_tensorrt} ${set_precision} &`
    service_reads_options = True  # PaddleOCR's web service parses its command line (--config, --opt)
    leaves = ("devices", "use_mkldnn", "thread_num", "use_trt", "precision")

    def signature(self, keys):
        """All five bare op.<name>.local_service_conf.* lines of one op, and a --dirname."""
        ops = {m.group(1) for m in (re.fullmatch(r"op\.(\w+)\.local_service_conf\.devices", k) for k in keys) if m}
        return "--dirname" in keys and any(
            all("op.{}.local_service_conf.{}".format(op, leaf) in keys for leaf in self.leaves) for op in ops)


# ---------------------------------------------------------------- the task level's reference (issue 21)
# The service's processing, as its web_service.py and ocr_reader.py write it, and the reference's flags whose
# defaults tools/infer/utility.py gives (both sides read the same way, so a difference points at its cause).
SERVICE_PARAMETERS = {
    "det resize": r"(DetResizeForTest\([^)]*\))", "det thresh": r"[\"']thresh[\"']\s*:\s*([\d.]+)",
    "det box_thresh": r"[\"']box_thresh[\"']\s*:\s*([\d.]+)", "det unclip_ratio": r"[\"']unclip_ratio[\"']\s*:\s*([\d.]+)",
    "det max_candidates": r"[\"']max_candidates[\"']\s*:\s*(\d+)", "det min_size": r"[\"']min_size[\"']\s*:\s*(\d+)",
    "char dict": r"char_dict_path\s*=\s*[\"']([^\"']+)", "drop score": r"text\[1\]\s*>=\s*([\d.]+)",
}
DET_PARAMETERS = {k: v for k, v in SERVICE_PARAMETERS.items() if k.startswith("det ")}
# web_service_rec.py: its character list, image shape where it passes one, and what it resizes each image for (its
# resize_norm_img's max_wh_ratio argument: the real one passes max_batch_size, 6, so every image is 48 x 288).
REC_PARAMETERS = {"char dict": SERVICE_PARAMETERS["char dict"],
                  "rec image shape": r"image_shape\s*=\s*[\[(]([^\])]*)[\])]",
                  "rec max_wh_ratio": r"resize_norm_img\(\s*\w+\s*,\s*([\w.]+)\s*\)\s*\n",
                  "rec max_batch_size": r"max_batch_size\s*=\s*(\d+)"}
READER_PARAMETERS = {"rec image shape": r"class OCRReader[\s\S]*?image_shape\s*=\s*[\[(]([^\])]*)[\])]"}
# The same parameter on both sides (what, the service's name, the reference's flag), shown side by side.
DET_PAIRS = [("detection resize", "det resize", "det_limit_side_len"),
             ("detection threshold", "det thresh", "det_db_thresh"),
             ("box threshold", "det box_thresh", "det_db_box_thresh"),
             ("unclip ratio", "det unclip_ratio", "det_db_unclip_ratio")]
REC_PAIRS = [("character list", "char dict", "rec_char_dict_path"),
             ("rec image shape", "rec image shape", "rec_image_shape")]
PARAMETER_PAIRS = DET_PAIRS[1:] + REC_PAIRS[:1] + [("drop score", "drop score", "drop_score")]
# The models a config converts -> (its inference script, the task, the reader of its answers, the service's
# parameters, the pairs shown side by side).
REFERENCES = {
    ("det", "rec"): ("predict_system.py", "ocr", "read_system_results", SERVICE_PARAMETERS, PARAMETER_PAIRS),
    ("det",): ("predict_det.py", "ocr_det", "read_det_results", DET_PARAMETERS, DET_PAIRS),
    ("rec",): ("predict_rec.py", "ocr_rec", "read_rec_results", REC_PARAMETERS, REC_PAIRS),
}
REFERENCE_DEFAULTS = ("det_limit_side_len", "det_limit_type", "det_db_thresh", "det_db_box_thresh",
                      "det_db_unclip_ratio", "max_batch_size", "rec_image_shape", "rec_batch_num",
                      "rec_char_dict_path", "drop_score", "use_angle_cls", "use_space_char", "det_box_type")


def _utility_defaults(root, roles=("det", "rec")):
    """The defaults tools/infer/utility.py's parser gives the flags of REFERENCE_DEFAULTS (a single model's: its
    own, det_* or rec_* and use_space_char)."""
    names = [n for n in REFERENCE_DEFAULTS if len(roles) > 1 or n.startswith(roles[0] + "_")
             or (roles == ("rec",) and n == "use_space_char")]
    patterns = {name: r"add_argument\(\s*[\"']--{}[\"'][^)]*?default=([^,)]+)".format(name) for name in names}
    return service_parameters(root / "tools" / "infer" / "utility.py", patterns)


def read_det_results(out_dir, log_text, spec=None):
    """predict_det.py's answers: <draw_img_save_dir>/det_results.txt, `<image>\t<json of boxes>` a line (each box
    [[x, y] * 4]). {image basename: [box]}."""
    import json
    from pathlib import Path
    answers = {}
    for line in (Path(out_dir) / "det_results.txt").read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            image, boxes = line.split("\t", 1)
            answers[image] = [[[float(c) for c in point] for point in box] for box in json.loads(boxes)]
    return answers


_PREDICTS = re.compile(r"Predicts of (.*?):(\(.*\))\s*$")
_NUMPY_SCALAR = re.compile(r"\bnp\.\w+\(([^()]*)\)")


def read_rec_results(out_dir, log_text, spec=None):
    """predict_rec.py's answers: its log's `ppocr INFO: Predicts of <image>:('<text>', <score>)` lines (it writes no
    file; numpy 2 writes the score as np.float32(...)). {image basename: {"text", "score"}}."""
    import ast
    from pathlib import Path
    answers = {}
    for line in log_text.splitlines():
        found = _PREDICTS.search(line)
        if not found:
            continue
        try:
            text, score = ast.literal_eval(_NUMPY_SCALAR.sub(r"\1", found.group(2)))
        except (ValueError, SyntaxError, TypeError):
            continue
        answers[Path(found.group(1).strip()).name] = {"text": text, "score": float(score)}
    return answers


def read_system_results(out_dir, log_text, spec=None):
    """predict_system.py's answers: system_results.txt (`<image>\\t[{"transcription", "points"}]` a line) for the
    text and boxes, its log's `ppocr DEBUG: <text>, <score>` lines (3 decimals, in the same order, after each
    `Predict time of <image>`) for the scores. {image basename: [{"text", "score", "box"}]}."""
    import json
    from pathlib import Path
    scores, current = {}, None
    for line in log_text.splitlines():
        timed = re.search(r"Predict time of (.+): [\d.]+s", line)
        if timed:
            current = Path(timed.group(1).strip()).name
            scores[current] = []
            continue
        found = re.search(r"ppocr DEBUG: (.*), (\d+\.\d{3})$", line)
        if current is not None and found:
            scores[current].append(float(found.group(2)))
    answers = {}
    results = Path(out_dir) / "system_results.txt"
    for line in results.read_text(encoding="utf-8").splitlines():
        if "\t" not in line:
            continue
        image, items = line.split("\t", 1)
        image_scores = scores.get(image, [])
        answers[image] = [{"text": item["transcription"], "box": item["points"],
                           "score": image_scores[i] if i < len(image_scores) else float("nan")}
                          for i, item in enumerate(json.loads(items))]
    return answers
