"""PaddleOCR: test_tipc/test_serving_infer_python.sh and deploy/pdserving; its older test_serving.sh (the legacy
layout)."""
import re

from ..config.reader import NULL
from .base import (Command, Dialect, DialectCase, client_command, config_flag, conversion, eval_words,
                   set_param, stem, trt_precisions, values_of)
from .models_template import Template
from .reference import (client_images, inference_config, inference_lines, relative, service_parameters, unavailable,
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
                           coverage="OCR answers (text and boxes) are not classes and probabilities")

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

    def task_reference(self, config, root):
        if [c.role for c in config.conversions] != ["det", "rec"]:
            return unavailable("the task level compares PaddleOCR's det+rec systems (predict_system.py) only so far")
        path = inference_config(config.path, config.model_name)
        if path is None:
            return unavailable("no inference TIPC config beside {} (model_linux_..._infer_python_....txt)".format(config.path))
        script, flags, _ = inference_lines(path)
        words = eval_words(script or "")
        if not words or not words[0].endswith("predict_system.py"):
            return unavailable("{}: its inference script is {}, not tools/infer/predict_system.py".format(path, words[:1]))
        if not (root / words[0]).is_file():
            return unavailable("{} names {}, which is not in {}".format(path.name, words[0], root))
        images = client_images(config, root)
        if not images:
            return unavailable("the images the client sends could not be learnt from the config")
        det, rec = ((root / c.dirname).resolve() for c in config.conversions)
        image_dir = next((str((root / cwd / e.value).resolve()) for e, cwd in config.inputs), images[0])
        overrides = {"--use_gpu": "False", "--enable_mkldnn": "False", "--use_tensorrt": "False", "--precision": "fp32",
                     "--det_model_dir": str(det), "--rec_model_dir": str(rec), "--image_dir": image_dir,
                     "--benchmark": "False", "--draw_img_save_dir": "{out}"}
        argv = words + with_flags(flags, overrides)
        web = root / config.serving_dir / config.cases[0].service.argv[0] if config.cases else None
        service = service_parameters(web, SERVICE_PARAMETERS) if web else {}
        passed = {w.split("=", 1)[0].lstrip("-"): w.split("=", 1)[1] for w in argv[1:] if "=" in w}
        reference = dict(_utility_defaults(root), **{k: v for k, v in passed.items() if k not in ("draw_img_save_dir",)})
        return {"task": "ocr", "script": words[0], "inference_config": relative(path, root), "argv": argv,
                "cwd": str(root), "paths": [], "package": None, "images": images, "reader": "paddleocr:read_system_results",
                "parameters": {"service": service, "reference": reference, "pairs": PARAMETER_PAIRS}}


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
# The same parameter on both sides (what, the service's name, the reference's flag), shown side by side.
PARAMETER_PAIRS = [("detection threshold", "det thresh", "det_db_thresh"),
                   ("box threshold", "det box_thresh", "det_db_box_thresh"),
                   ("unclip ratio", "det unclip_ratio", "det_db_unclip_ratio"),
                   ("character list", "char dict", "rec_char_dict_path"), ("drop score", "drop score", "drop_score")]
REFERENCE_DEFAULTS = ("det_limit_side_len", "det_limit_type", "det_db_thresh", "det_db_box_thresh",
                      "det_db_unclip_ratio", "max_batch_size", "rec_image_shape", "rec_batch_num",
                      "rec_char_dict_path", "drop_score", "use_angle_cls", "use_space_char", "det_box_type")


def _utility_defaults(root):
    """The defaults tools/infer/utility.py's parser gives the flags of REFERENCE_DEFAULTS."""
    from .reference import service_parameters
    patterns = {name: r"add_argument\(\s*[\"']--{}[\"'][^)]*?default=([^,)]+)".format(name) for name in REFERENCE_DEFAULTS}
    return service_parameters(root / "tools" / "infer" / "utility.py", patterns)




def read_system_results(out_dir, log_text):
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
