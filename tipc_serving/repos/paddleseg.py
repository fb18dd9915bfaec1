"""PaddleSeg: test_tipc/test_serving_infer_python.sh, test_tipc/serving_python."""
from .base import (CONVERT, Command, Dialect, DialectCase, client_command, config_flag, eval_words,
                   one_conversion, opt_devices, set_param)
from .reference import (client_images, inference_script, planned, relative, service_parameters, unavailable,
                        with_flags)


class PaddleSeg(Dialect):
    """16 lines: the device key `--opt op.seg.local_service_conf.devices` (a key with a space), values
    "0"|null, and --input_name/--output_name passed to the service (--input_name to the client too). The
    service's --opt takes one string."""

    name = "PaddleSeg"
    known = {"model_name", "python", "trans_model", "serving_dir", "web_service", "pipline", "--img_path",
             "--input_name", "--output_name", *CONVERT}
    patterns = (r"--opt op\.\w+\.local_service_conf\.devices",)

    def build(self, entries):
        conversions = [one_conversion(entries, "python_trans_model.log")]
        web = eval_words(entries.value("web_service"))
        names = [set_param(k, entries.value(k)) for k in ("--input_name", "--output_name")]
        image = entries.first("--img_path")
        client = entries.value("pipline")
        cases = []
        for value, device, option in opt_devices(entries, self.patterns[0]):
            args = ([set_param(image.key, image.value)] if image else []) + [names[0]]
            cases.append(DialectCase(device, device, {"devices": value},
                                     Command(web + [n for n in names if n] + (["--opt", option] if option else []),
                                             entries.value("serving_dir"), "python_server_{}.log".format(device)),
                                     [client_command(client, args, "python_client_{}_batchsize_1.log".format(device),
                                              entries.value("serving_dir"))]))
        return self.config(entries, conversions=conversions, cases=cases, service_config=config_flag(web),
                           coverage="segmentation answers (label maps) are not classes and probabilities")

    @planned
    def task_reference(self, config, root):
        """deploy/python/infer.py with the model's deploy.yaml (PaddleSeg's export writes it beside the model),
        run from the repository's root with its paddleseg package importable (TIPC installs it)."""
        import yaml
        path, words, flags = inference_script(config, root, "infer.py")
        model = (root / config.conversions[0].dirname).resolve()
        deploy_yaml = model / "deploy.yaml"
        if not deploy_yaml.is_file():
            return unavailable("no {} (PaddleSeg's export writes it; {} reads its transforms)".format(deploy_yaml, words[0]))
        images = client_images(config, root)
        if not images:
            return unavailable("the image the client sends could not be learnt from the config")
        words = [w for i, w in enumerate(words) if w != "--save_dir" and (i == 0 or words[i - 1] != "--save_dir")]
        overrides = {"--device": "cpu", "--enable_mkldnn": "False", "--use_trt": "False", "--precision": "fp32",
                     "--config": str(deploy_yaml), "--image_path": images[0], "--benchmark": "False",
                     "--save_dir": "{out}", "--save_log_path": None}
        argv = words + with_flags(flags, overrides)
        try:
            reference = {"deploy.yaml": yaml.safe_load(deploy_yaml.read_text()).get("Deploy", {}).get("transforms")}
        except (OSError, ValueError, yaml.YAMLError, AttributeError):
            reference = {}
        reference.update(normalize_values(reference.get("deploy.yaml")))
        reference["flags"] = " ".join(argv[1:])
        web = root / config.serving_dir / config.cases[0].service.argv[0] if config.cases else None
        return {"task": "segmentation", "script": words[0], "inference_config": relative(path, root), "argv": argv,
                "cwd": str(root), "paths": [str(root)], "package": None, "images": images[:1], "reader": "paddleseg:read_infer_pngs",
                "parameters": {"service": service_parameters(web, SERVICE_PARAMETERS, SERVICE_LISTS) if web else {},
                               "reference": reference, "pairs": PARAMETER_PAIRS}}


# ---------------------------------------------------------------- the task level's reference (issue 21)
SERVICE_LISTS = {"preprocess": r"Compose\("}
SERVICE_PARAMETERS = {"answer": r"(np\.mean\(val\))",
                      "normalize mean": r"(?s)NormalizeImage\(.*?mean=\[([^\]]*)\]",
                      "normalize std": r"(?s)NormalizeImage\(.*?std=\[([^\]]*)\]"}
PARAMETER_PAIRS = [("normalize mean", "normalize mean", "normalize mean"), ("normalize std", "normalize std", "normalize std")]
NORMALIZE_DEFAULT = [0.5]  # paddleseg.transforms.Normalize(mean=(0.5,), std=(0.5,)): deploy.yaml may give none


def normalize_values(transforms):
    """The mean and std of deploy.yaml's Normalize (PaddleSeg's defaults where it names none)."""
    for op in transforms or []:
        if isinstance(op, dict) and op.get("type") == "Normalize":
            return {"normalize mean": op.get("mean", NORMALIZE_DEFAULT), "normalize std": op.get("std", NORMALIZE_DEFAULT)}
    return {}




def read_infer_pngs(out_dir, log_text, spec=None):
    """infer.py's label maps: <save_dir>/<image stem>.png, a palette image whose indices are the labels."""
    import numpy as np
    from PIL import Image
    from pathlib import Path
    return {path.name: np.array(Image.open(str(path))) for path in sorted(Path(out_dir).glob("*.png"))}
