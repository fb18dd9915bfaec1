"""The models repository's Step6 tutorial (tutorials/<model>_prod/Step6): test_tipc/test_serving_infer_python.sh."""
import os
import re
from pathlib import Path

from .base import (CONVERT, Command, Dialect, DialectCase, client_command, config_flag, eval_words,
                   one_conversion, opt_devices, set_param)
from .reference import (class_values, inference_script, list_after, numbers, planned, relative,
                        service_parameters, transform_calls, unavailable, with_flags)


class Step6(Dialect):
    """The models repository's tutorial: `--opt op.<name>.local_service_conf.devices:"0"|null` only; the
    service's own --opt (devices only), the client's --image_dir."""

    name = "Step6"
    known = {"model_name", "python", "trans_model", "serving_dir", "web_service", "pipline", "--image_dir",
             *CONVERT}
    patterns = (r"--opt op\.\w+\.local_service_conf\.devices",)

    def build(self, entries):
        web = eval_words(entries.value("web_service"))
        image = entries.first("--image_dir")
        client = entries.value("pipline")
        cases = []
        for value, device, option in opt_devices(entries, self.patterns[0]):
            cases.append(DialectCase(device, device, {"devices": value},
                                     Command(web + (["--opt", option] if option else []), entries.value("serving_dir"),
                                             "python_server_{}.log".format(device)),
                                     [client_command(client, [set_param(image.key, image.value)] if image else [],
                                              "python_client_{}.log".format(device), entries.value("serving_dir"))]))
        model = entries.value("model_name")
        return self.config(entries, conversions=[one_conversion(entries, "python_trans_model_{}.log".format(model))],
                           cases=cases, service_config=config_flag(web),
                           # its tools/export_model.py's InputSpec has no name: Sequential's argument, input
                           seeded_input_name="input",
                           coverage="the tutorial's client prints its own reply format, not this harness's result "
                                    "lines")

    @planned
    def task_reference(self, config, root):
        """deploy/inference_python/infer.py (train_infer_python.txt's `inference:`), from the tutorial's root, on
        the served model and each image the client sends (it posts every file of its --image_dir in os.listdir
        order; infer.py reads one --img-path: it runs once per image)."""
        path, words, flags = inference_script(config, root, "infer.py")
        conversion = config.conversions[0]
        if (conversion.model_filename, conversion.params_filename) != ("inference.pdmodel", "inference.pdiparams"):
            return unavailable("{} reads --model-dir's inference.pdmodel, the service {}".format(
                words[0], conversion.model_filename))
        images = sent_images(config, root)
        if not images:
            return unavailable("the image the client sends could not be learnt from the config's --image_dir")
        model = (root / conversion.dirname).resolve()
        argv = words + with_flags(flags, {"--use-gpu": "False", "--batch-size": "1", "--model-dir": str(model),
                                          "--img-path": "{image}", "--benchmark": "False"})
        web = root / config.serving_dir / config.cases[0].service.argv[0] if config.cases else None
        service = preprocessing(web, service_parameters(web, SERVICE_PARAMETERS) if web else {}, {})
        reference = preprocessing(root / words[0], service_parameters(root / words[0], REFERENCE_PARAMETERS),
                                  dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--") and "=" in a))
        reference["flags"] = " ".join(argv[1:])
        return {"task": "classification", "script": words[0], "inference_config": relative(path, root), "argv": argv,
                "cwd": str(root), "paths": [str(root)], "package": None, "images": images, "per_image": True,
                "reader": "models_step6:read_infer", "parameters": {"service": service, "reference": reference,
                                                                     "pairs": PAIRS}}


# ---------------------------------------------------------------- the task level's reference (issue 21)
SERVICE_PARAMETERS = {"colour": r"\.convert\([\"'](\w+)[\"']\)",
                      "fetch": r"fetch_dict\[[\"']([^\"']+)[\"']\]", "top-1": r"(score\.index\(max_score\)|max\(\w+\))"}
REFERENCE_PARAMETERS = {"colour": r"\.convert\([\"'](\w+)[\"']\)",
                        "top-1": r"(\w+\.argmax\(\))"}
PAIRS = [("resize (short side)", "resize_size", "resize_size"), ("centre crop", "crop_size", "crop_size"),
         ("normalisation mean", "mean", "mean"), ("normalisation std", "std", "std"),
         ("colour order", "colour", "colour")]


def sent_images(config, root):
    """The files the client posts, in its order: its --image_dir's files in os.listdir order (it prints no names,
    so its replies are paired with these by their order), or the one file it names."""
    for entry, cwd in config.inputs:
        folder = (Path(root) / cwd / entry.value).resolve()
        if folder.is_dir():
            return [str(folder / n) for n in os.listdir(str(folder)) if (folder / n).is_file()]
        if folder.is_file():
            return [str(folder)]
    return []


def preprocessing(script, found, flags):
    """The resize, crop and normalisation a script's Compose([...]) names (its `args.x` from --x's value or the
    script's argparse default; NormalizeImage's defaults from the preprocess_ops.py beside it), added to found."""
    try:
        text = Path(script).read_text(encoding="utf-8", errors="replace")
    except (OSError, TypeError):  # no script (a config without cases)
        return found
    transforms = list_after(text, r"Compose\(")
    if transforms is not None:
        found = dict({"transforms": transforms}, **found)

    def resolved(value):
        if isinstance(value, str) and value.startswith("args."):
            flag = value[5:].replace("_", "-")
            if flag in flags:
                return flags[flag]
            default = re.search(r"[\"']--{}[\"']\s*,\s*default=([^,\)]+)".format(re.escape(flag)), text)
            return default.group(1).strip() if default else value
        return value
    for name, args, keywords in transform_calls(found.get("transforms", "")):
        if name == "ResizeImage" and args:
            found["resize_size"] = resolved(args[0])
        elif name == "CenterCropImage" and args:
            found["crop_size"] = resolved(args[0])
        elif name == "NormalizeImage":
            given = dict(zip(("scale", "mean", "std"), args), **keywords)
            defaults = class_values(Path(script).parent / "preprocess_ops.py", "NormalizeImage")
            for key in ("mean", "std"):
                value = given.get(key, defaults.get(key))
                if value is not None:
                    found[key] = numbers(value)
    return found


INFER_LINE = re.compile(r"^image_name: (.*), class_id: (-?\d+), prob: (\S+)\s*$")


def read_infer(out_dir, log_text, spec=None):
    """infer.py's `image_name: <path>, class_id: <id>, prob: <p>`: {image: {"label": the id, "score", "class_id"}}
    (the service answers class ids too)."""
    answers = {}
    for line in log_text.splitlines():
        match = INFER_LINE.match(line.strip())
        if match:
            answers[Path(match.group(1)).name] = {"label": match.group(2), "score": float(match.group(3)),
                                                  "class_id": int(match.group(2))}
    return answers
