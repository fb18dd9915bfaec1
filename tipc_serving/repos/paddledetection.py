"""PaddleDetection: test_tipc/test_serving_infer_python.sh, deploy/serving/python."""
import os
import re

from ..config.reader import NULL
from .base import (Command, Conversion, Dialect, DialectCase, client_command, config_flag,
                   eval_words, set_param, values_of)
from .reference import planned


class PaddleDetection(Dialect):
    """24 lines, header serving_infer_python_params, `##` separators, an export block (no conversion: the
    export writes the serving model), and the device list `--opt:cpu:<dotted=value>|gpu:<dotted=value>`
    passed as `--opt=<dotted=value>`. The commands run from the repository's root."""

    name = "PaddleDetection"
    known = {"model_name", "python", "filename", "--output_dir", "weights", "norm_export", "quant_export",
             "fpgm_export", "distill_export", "export1", "export2", "kl_quant_export", "infer_mode", "infer_quant",
             "web_service", "--model_dir", "--opt", "http_client", "--image_file", "--image_dir"}
    required = ("model_name", "python", "web_service", "http_client")

    def build(self, entries):
        model = entries.value("model_name")
        output_dir = entries.value("--output_dir") or "./output_inference"
        conversions = []
        for mode in values_of(entries.value("infer_mode") or NULL):
            if mode == NULL:
                continue
            export = entries.value("{}_export".format(mode))
            argv = eval_words(export or "") + [p for p in (set_param("weights", entries.value("weights")),
                                                           set_param("filename", model),
                                                           set_param("--output_dir", output_dir)) if p]
            conversions.append(Conversion("export", None, "{}/{}/serving_server".format(output_dir.rstrip("/"), model),
                                          None, Command(argv, ".", "export.log", label="export"),
                                          entries.first("weights")))
        web = eval_words(entries.value("web_service")) + [set_param("--model_dir", "{}/{}".format(output_dir, model))]
        image = entries.first("--image_file") or entries.first("--image_dir")
        client = entries.value("http_client")
        cases = []
        for item in values_of(entries.value("--opt") or "cpu:"):
            device, _, option = item.partition(":")
            clients = [client_command(client, [set_param(image.key, image.value)] if image else [],
                               "python_client_{}.log".format(device), ".")]
            cases.append(DialectCase(device, "gpu" if device == "gpu" else "cpu", {"device": device},
                                     Command(web + (["--opt={}".format(option)] if option else []), ".",
                                             "python_server_{}.log".format(device)), clients))
        return self.config(entries, conversions=conversions, cases=cases, serving_dir=".",
                           service_config=config_flag(web),
                           coverage="detection answers (boxes) are not classes and probabilities")

    @planned
    def task_reference(self, config, root):
        """deploy/python/infer.py, as the model's inference TIPC config (<model>_train_infer_python.txt) names it, on
        the export the service serves (output_inference/<model>/: model.pdmodel and infer_cfg.yml beside
        serving_server/), on the CPU in fp32, with the image the client sends; its answers are the boxes it prints
        (its --save_results stops with a NameError at 666f597f: a Detection box is annotated, never assigned)."""
        from .reference import client_images, inference_script, relative, unavailable, with_flags
        path, words, flags = inference_script(config, root, "deploy/python/infer.py")
        script_path = words[0][2:] if words[0].startswith("./") else words[0]
        exports = [c for c in config.conversions if c.serving_server]
        if not exports:
            return unavailable("no export in the config (infer_mode): no model for {}".format(script_path))
        model = (root / exports[0].serving_server).resolve().parent
        infer_cfg = _infer_cfg(model)
        arch = str(infer_cfg.get("arch", ""))
        if arch in NOT_BOXES:
            return unavailable("{} models answer {}, not boxes".format(arch, NOT_BOXES[arch]))
        images = client_images(config, root)
        if not images:
            return unavailable("the image the client sends could not be learnt from the config")
        if len(images) > 1:  # pipeline_http_client.py sends a folder's images in set order and prints no name
            return unavailable("the client sends {} images in an order it does not print: its replies cannot be "
                               "paired with them".format(len(images)))
        overrides = {"--device": "CPU", "--enable_mkldnn": "False", "--run_mode": "paddle", "--use_tensorrt": None,
                     "--batch_size": "1", "--model_dir": str(model), "--image_dir": None, "--image_file": images[0],
                     "--run_benchmark": "False", "--save_log_path": None, "--output_dir": "{out}",
                     "--save_images": "True"}  # its box lines are printed while it draws them
        argv = [script_path] + words[1:] + with_flags(flags, overrides)
        threshold = dict(flags).get("--threshold") or "0.5"  # infer.py's default: boxes scoring above it
        web = root / config.serving_dir / config.cases[0].service.argv[0] if config.cases else None
        return {"task": "detection", "script": script_path, "inference_config": relative(path, root), "argv": argv,
                "cwd": str(root), "paths": [], "package": None, "images": images,
                "reader": "paddledetection:read_infer_boxes", "score_rounding": 5e-5,  # printed with 4 decimals
                "parameters": {"service": _service_side(web, model, infer_cfg),
                               "reference": _reference_side(root, argv, threshold, infer_cfg),
                               "pairs": PAIRS},
                "plan_after_export": not infer_cfg}  # its values are read once the run's export has written it


# ---------------------------------------------------------------- the task level's reference (issue 21)
# Exported archs whose service answers are not [class, score, x1, y1, x2, y2] boxes.
NOT_BOXES = {"HRNet": "keypoints", "SOLOv2": "masks", "S2ANet": "rotated boxes", "JDE": "tracks",
             "FairMOT": "tracks", "DeepSORT": "tracks", "StrongBaseline": "embeddings", "STGCN": "actions",
             "CLRNet": "lanes"}
PAIRS = [("score threshold", "draw_threshold", "--threshold"), ("preprocess", "Preprocess", "Preprocess"),
         ("colour order", "colour order", "colour order")]
SERVICE_PARAMETERS = {"threshold rule": r"(\w+\[1\]\s*>=?\s*(?:GLOBAL_VAR\[[^\]]*\]\.\w+|[\w.]+))",
                      "threshold set": r"(?m)\bthreshold\s*=\s*([\d.]+)\s*(?:#|$)",
                      "decode": r"(Image\.open\(.*?\.convert\([\"']\w+[\"']\))"}
UNREAD = "not written yet (the run's export writes it; the reference is planned again after it)"
_BOX_LINE = re.compile(r"class_id:(-?\d+), confidence:([-\d.eE+]+), left_top:\[([-\d.eE+]+),([-\d.eE+]+)\],\s*"
                       r"right_bottom:\[([-\d.eE+]+),([-\d.eE+]+)\]")
_SAVED = re.compile(r"save result to: (.+)$")


def _infer_cfg(model):
    """The export's infer_cfg.yml ({} before the export has run: the plan is made first)."""
    import yaml
    try:
        return yaml.safe_load((model / "infer_cfg.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}


def _service_side(web, model, infer_cfg):
    """web_service.py keeps boxes scoring above infer_cfg.yml's draw_threshold (0.5 when it names none), runs its
    Preprocess through deploy/serving/python/preprocess_ops.py, and decodes with PIL in RGB."""
    from .reference import service_parameters
    found = service_parameters(web, SERVICE_PARAMETERS) if web else {}
    if infer_cfg:
        found["draw_threshold"] = infer_cfg.get("draw_threshold", 0.5)
        found["Preprocess"] = _compact(infer_cfg.get("Preprocess"))
    else:
        found["infer_cfg.yml"] = UNREAD
    literal = re.search(r">=?\s*([\d.]+)$", found.get("threshold rule", "")) or re.match(r"[\d.]+$",
                                                                                       found.get("threshold set", ""))
    if literal:  # the service's code cuts at a number of its own, not at infer_cfg.yml's draw_threshold
        found["draw_threshold"] = "{} (its code's, not infer_cfg.yml's)".format(literal.group(literal.lastindex or 0))
    if "decode" in found:
        found["colour order"] = "RGB" if "RGB" in found["decode"] else found["decode"]
    found["model"] = str(model)
    return found


def _reference_side(root, argv, threshold, infer_cfg):
    """infer.py keeps boxes scoring above --threshold, runs the same infer_cfg.yml's Preprocess through
    deploy/python/preprocess.py, and decodes with cv2 (BGR) turned to RGB."""
    from .reference import service_parameters
    found = {"--threshold": threshold, "flags": " ".join(argv[1:])}
    if infer_cfg:
        found["Preprocess"] = _compact(infer_cfg.get("Preprocess"))
    else:
        found["infer_cfg.yml"] = UNREAD
    decode = service_parameters(root / "deploy" / "python" / "preprocess.py",
                                {"decode": r"(cv2\.cvtColor\(\w+, cv2\.COLOR_\w+\))"})
    if decode:
        found["decode"] = "cv2.imdecode, then " + decode["decode"]
        found["colour order"] = "RGB" if "2RGB" in decode["decode"] else decode["decode"]
    return found


def _compact(value):
    import json
    return json.dumps(value, sort_keys=True, separators=(",", ":")) if value is not None else None


def read_infer_boxes(out_dir, log_text, spec=None):
    """infer.py's printed boxes: `class_id:0, confidence:0.9720, left_top:[0.00,25.11],right_bottom:[490.58,68.42]`
    lines (above --threshold), then `save result to: <output_dir>/<image name>` once the image is drawn: its boxes.
    An image with no line above the threshold has no boxes ([])."""
    found, pending = {}, []
    for line in log_text.splitlines():
        match = _BOX_LINE.search(line)
        if match:
            numbers = [float(x) for x in match.groups()[1:]]
            pending.append({"class_id": int(match.group(1)), "score": numbers[0], "box": numbers[1:]})
            continue
        saved = _SAVED.search(line.strip())
        if saved:
            found[os.path.basename(saved.group(1).strip())] = pending
            pending = []
    return found
