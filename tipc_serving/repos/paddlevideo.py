"""PaddleVideo: test_tipc/test_serving_infer_python.sh, deploy/python_serving."""
import os
import re
from pathlib import Path

from .base import (CONVERT, Command, Dialect, DialectCase, client_command, config_flag, eval_words,
                   fetch_alias_edits, one_conversion, set_param)
from .reference import (class_values, inference_script, list_after, numbers, planned, relative, service_parameters,
                        transform_calls, unavailable, with_flags)

VIDEO_EXTS = (".avi", ".mp4")  # what its client and tools/predict.py take from a folder (parse_file_paths)


class PaddleVideo(Dialect):
    """13 lines, no device line: one case on the service's own config (a GPU one in PaddleVideo's). The
    client reads --input_file."""

    name = "PaddleVideo"
    known = {"model_name", "python", "trans_model", "serving_dir", "web_service", "pipline", "--input_file",
             *CONVERT}

    def build(self, entries):
        web = eval_words(entries.value("web_service"))
        source = entries.first("--input_file")
        client = entries.value("pipline")
        case = DialectCase("gpu", "gpu", {}, Command(web, entries.value("serving_dir"), "python_server_gpu.log"),
                           [client_command(client, [set_param(source.key, source.value)] if source else [],
                                    "python_server_infer_gpu_batchsize_1.log", entries.value("serving_dir"))])
        conversion = one_conversion(entries, "python_trans_model.log")
        return self.config(entries, conversions=[conversion], cases=[case],
                           file_edits=fetch_alias_edits(conversion, "outputs", self.script),
                           service_config=config_flag(web),
                           coverage="video answers (action labels of a clip) are not image classes")

    @planned
    def task_reference(self, config, root):
        """tools/predict.py with its -c yaml (train_infer_python.txt's `inference:`), from the repository's root, on
        the served model and the videos the client sends (the same --input_file, so the same os.listdir order);
        its class ids read as labels through the service's own label list (the plan's "labels")."""
        import yaml
        path, words, flags = inference_script(config, root, "predict.py")
        source, videos = sent_videos(config, root)
        if not videos:
            return unavailable("the videos the client sends could not be learnt from the config's --input_file")
        conversion = config.conversions[0]
        model = (root / conversion.dirname).resolve()
        argv = words + with_flags(flags, {
            "--use_gpu": "False", "--enable_mkldnn": "False", "--use_tensorrt": "False", "--precision": "fp32",
            "--batch_size": "1", "--model_file": str(model / conversion.model_filename),
            "--params_file": str(model / conversion.params_filename), "--input_file": source,
            "--enable_benchmark": "False"})
        web = root / config.serving_dir / config.cases[0].service.argv[0] if config.cases else None
        service = service_preprocessing(web, config.cases[0].service.argv if config.cases else [])
        labels = service.get("labels")
        yml = option(words, "--config", "-c")
        try:
            inference = yaml.safe_load((root / yml).read_text()).get("INFERENCE") or {} if yml else {}
        except (OSError, ValueError, yaml.YAMLError, AttributeError):
            inference = {}
        reference = reference_preprocessing(root / "tools" / "utils.py", inference)
        reference["flags"] = " ".join(argv[1:])
        return {"task": "video", "script": words[0], "inference_config": relative(path, root), "argv": argv,
                "cwd": str(root), "paths": [str(root)], "package": None, "images": videos,
                "reader": "paddlevideo:read_predict",
                "labels": str((root / config.serving_dir / labels).resolve()) if labels else None,
                "parameters": {"service": service, "reference": reference, "pairs": PAIRS}}


# ---------------------------------------------------------------- the task level's reference (issue 21)
PAIRS = [("frames sampled", "num_seg", "num_seg"), ("frames a segment", "seg_len", "seg_len"),
         ("scale (short side)", "short_size", "short_size"), ("crop", "target_size", "target_size"),
         ("normalisation mean", "mean", "mean"), ("normalisation std", "std", "std")]
SERVICE_PARAMETERS = {"labels": r"open\([\"']([^\"']+label[^\"']*)[\"']", "fetch": r"fetch_dict\[[\"']([^\"']+)[\"']\]",
                      "scores": r"=\s*(\w*softmax\w*\(\w+\))"}


def option(words, *names):
    """The value of a command's option (`--config X`, `--config=X`), or None."""
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word[len(name) + 1:]
    return None


def sent_videos(config, root):
    """(the client's --input_file from the repository's root, the videos it sends in order): the file, or the
    folder's .avi and .mp4 files in os.listdir order, as its parse_file_paths reads them."""
    for entry, cwd in config.inputs:
        source = (Path(root) / cwd / entry.value).resolve()
        if source.is_file():
            return str(source), [str(source)]
        if source.is_dir():
            return str(source) + os.sep, [str(source / n) for n in os.listdir(str(source)) if n.endswith(VIDEO_EXTS)]
    return None, []


def steps(calls):
    """Sampler, Scale, CenterCrop/TenCrop and Normalization's arguments as the parameters both sides name."""
    found = {}
    for name, args, keywords in calls:
        if name == "Sampler" and len(args) >= 2:
            found.update(num_seg=args[0], seg_len=args[1])
        elif name == "Scale" and args:
            found["short_size"] = args[0]
        elif name in ("CenterCrop", "TenCrop") and args:
            found["target_size"] = args[0]
        elif name == "Normalization" and len(args) >= 2:
            found.update(mean=numbers(args[0]), std=numbers(args[1]))
    return found


def service_preprocessing(web, argv):
    """The web service's transforms for its --name (PPTSM unless it says), its label list, its scoring."""
    found = service_parameters(web, SERVICE_PARAMETERS) if web else {}
    name = option(argv, "--name", "-n") or "PPTSM"
    found["name"] = name
    try:
        text = Path(web).read_text(encoding="utf-8", errors="replace")
    except (OSError, TypeError):
        return found
    transforms = list_after(text, r"==\s*['\"]{}['\"]\s*:".format(re.escape(name)))
    if transforms is not None:
        found["transforms"] = transforms
        found.update(steps(transform_calls(transforms)))
    return found


def reference_preprocessing(utils, inference):
    """tools/predict.py's preprocessing: the yaml's INFERENCE helper with its values, the rest the helper's own
    defaults (tools/utils.py)."""
    name = inference.get("name")
    found = {"INFERENCE": dict(inference)}
    if not name:
        return found
    values = dict(class_values(utils, name), **{k: v for k, v in inference.items() if k != "name"})
    found.update({k: values[k] for k in ("num_seg", "seg_len", "short_size", "target_size", "top_k") if k in values})
    for key in ("mean", "std"):
        if values.get("img_" + key) is not None:
            found[key] = numbers(values["img_" + key])
    return found


CURRENT = re.compile(r"Current video file: (.+?)\s*$")
TOP = re.compile(r"top-\d+ (class|score): \[([^\]]*)\]")


def read_predict(out_dir, log_text, spec=None):
    """tools/predict.py's `Current video file: <path>`, `\\ttop-1 class: [id]`, `\\ttop-1 score: [p]` lines (on one
    line or three): {video: {"label", "score", "class_id"}} of the top-1, the id read through the service's label
    list that the plan's entry names (else `class <id>`)."""
    labels = planned_labels(spec)
    answers, current = {}, None
    for line in log_text.splitlines():
        match = CURRENT.search(line)
        if match:
            current = Path(match.group(1).split("\t")[0].rstrip(" :")).name
            answers[current] = {}
        for what, values in TOP.findall(line):
            if current is not None and values.split():
                answers[current][what] = values.split()[0]
    found = {}
    for video, answer in answers.items():
        if "class" in answer and "score" in answer:
            class_id = int(answer["class"])
            found[video] = {"label": labels.get(class_id, "class {}".format(class_id)),
                            "score": float(answer["score"]), "class_id": class_id}
    return found


def planned_labels(spec):
    """{id: name} of the label list the plan's entry names (the service's); {} where there is none."""
    try:
        lines = Path(spec["labels"]).read_text(encoding="utf-8", errors="replace").splitlines()
    except (OSError, KeyError, TypeError):
        return {}
    found = {}
    for line in lines:
        index, _, name = line.strip().partition(" ")
        if index.isdigit():
            found[int(index)] = name.strip()
    return found
