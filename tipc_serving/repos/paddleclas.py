"""PaddleClas: test_tipc/test_serving_infer_python.sh, deploy/paddleserving (PP-ShiTu:
deploy/paddleserving/recognition)."""
import posixpath
import re
from pathlib import Path

from ..config.reader import NULL
from .base import (CONVERT, Command, Dialect, DialectCase, client_command, conversion, eval_words, feed_key_edit,
                   fetch_alias_edits, stem, values_of)
from .reference import (client_images, inference_script, planned, relative, service_parameters, unavailable,
                        with_flags)


class PaddleClas(Dialect):
    """14 lines (one model), or 18 for PP-ShiTu (--dirname, --serving_server, --serving_client twice: the
    recognition model, then the detector). `--use_gpu:0|null` switches the device by editing config.yml
    (device_type and devices); the client takes no argument (its image is built in)."""

    name = "PaddleClas"
    known = {"model_name", "python", "inference_model_url", "cls_inference_model_url", "det_inference_model_url",
             "trans_model", "serving_dir", "web_service", "--use_gpu", "pipline", *CONVERT}

    def build(self, entries):
        shitu = "PPShiTu" in (entries.value("model_name") or "")  # the script dispatches on model_name
        base = "deploy" if shitu else "."

        def at(path):
            """A path of the config (the script reads it from `base`), from the repository's root."""
            return posixpath.normpath(posixpath.join(base, path)) if path and base != "." else path
        serving = at(entries.value("serving_dir"))
        conversions = []
        roles = ("cls", "det") if shitu else ("model",)
        urls = {"cls": "cls_inference_model_url", "det": "det_inference_model_url", "model": "inference_model_url"}
        for index, role in enumerate(roles):
            def nth(key):
                found = entries.all(key)
                return found[index] if len(found) > index else None
            server, client = (nth(key).value if nth(key) else None for key in ("--serving_server", "--serving_client"))
            log = "python_trans_model{}.log".format("_" + role if shitu else "")
            conversions.append(conversion(entries, role, nth("--dirname"), server, client, base, log,
                                           entries.first(urls[role]), at))
        web = eval_words(entries.value("web_service"))
        client = entries.value("pipline")
        cases = []
        for use_gpu in values_of(entries.value("--use_gpu") or NULL):
            gpu = use_gpu != NULL
            if gpu:
                name, edits = "gpu_usetrt__precision_", {"device_type": 1, "devices": "0"}
                client_log = "python_client_gpu_{}_usetrt__precision__batchsize_1.log".format(stem(client))
            else:
                name, edits = "cpu", {"device_type": 0, "devices": ""}
                client_log = "python_client_cpu_{}_usemkldnn_False_threads_1_batchsize_1.log".format(stem(client))
            if not shitu:  # the script points config.yml at the converted model (sed on its line 21)
                edits["model_config"] = (conversions[0].serving_server or "").rstrip("/").split("/")[-1]
            cases.append(DialectCase(name, "gpu" if gpu else "cpu", {"use_gpu": use_gpu},
                                     Command(web, serving, "python_server_{}.log".format(name)),
                                     [client_command(client, [], client_log, serving)],
                                     {"local_service_conf." + k: v for k, v in edits.items()}))
        # the script's sed edits: the recognition model's fetch alias, the web service's feed key
        edits = fetch_alias_edits(conversions[0], "features" if shitu else "prediction", self.script)
        edits.append(feed_key_edit(posixpath.join(serving, web[0]), conversions[0], self.script))
        return self.config(entries, conversions=conversions, cases=cases, service_config="config.yml", file_edits=edits,
                           serving_dir=serving,  # PP-ShiTu: deploy/paddleserving/recognition
                           coverage="PaddleClas replies name labels, and the client sends its own built-in image, "
                                    "which the config does not name")

    @planned
    def task_reference(self, config, root):
        """deploy/python/predict_cls.py with its yaml, run from deploy/ as TIPC's script runs it, its `paddleclas`
        imports resolved to this repository (the script imports `paddleclas.deploy...`, which a pip-installed
        PaddleClas provides; here the repository itself is that package)."""
        import yaml
        if "PPShiTu" in (config.model_name or ""):
            return unavailable("PP-ShiTu's answer is a retrieval from a gallery index (deploy/python/predict_system.py: "
                               "its detector, its recogniser and an index built by build_gallery.py); the task level "
                               "compares PaddleClas classifiers only so far")
        deploy = root / "deploy"
        path, words, flags = inference_script(config, root, "predict_cls.py", deploy)  # run from deploy/
        images = client_images(config, root)
        if not images:
            return unavailable("the image the client sends could not be learnt from its script")
        model = (root / config.conversions[0].dirname).resolve()
        overrides = {"-o Global.use_gpu": "False", "-o Global.enable_mkldnn": "False", "-o Global.use_tensorrt": "False",
                     "-o Global.use_fp16": "False", "-o Global.inference_model_dir": str(model),
                     "-o Global.infer_imgs": images[0] if len(images) == 1 else str(Path(images[0]).parent),
                     "-o Global.benchmark": "False", "-o Global.save_log_path": None}
        argv = words + with_flags(flags, overrides)
        reference = {"flags": " ".join(argv[1:])}
        try:
            yml = yaml.safe_load((deploy / words[words.index("-c") + 1]).read_text()) if "-c" in words else {}
            reference.update({"PreProcess": yml.get("PreProcess"), "PostProcess": yml.get("PostProcess")})
            reference.update(preprocess_values(yml.get("PreProcess")))
        except (OSError, ValueError, yaml.YAMLError, IndexError):
            pass
        web = root / config.serving_dir / config.cases[0].service.argv[0] if config.cases else None
        return {"task": "classification", "script": "deploy/" + words[0], "inference_config": relative(path, root),
                "argv": argv, "cwd": str(deploy), "paths": [], "package": "paddleclas=" + str(root), "images": images,
                "reader": "paddleclas:read_predict_cls", "score_rounding": 0.005,  # predict_cls.py prints scores with 2 decimals
                "parameters": {"service": service_parameters(web, SERVICE_PARAMETERS, SERVICE_LISTS) if web else {},
                               "reference": reference, "pairs": PARAMETER_PAIRS}}


# ---------------------------------------------------------------- the task level's reference (issue 21)
SERVICE_LISTS = {"preprocess": r"Sequential\("}
SERVICE_PARAMETERS = {"labels": r"open\([\"']([^\"']+\.label)[\"']\)",
                      "top-1": r"(max\(score\))", "resize short": r"\bResize\((\d+)", "crop": r"CenterCrop\((\d+)",
                      "mean": r"(?s)Normalize\(\s*\[([^\]]*)\]", "std": r"(?s)Normalize\(\s*\[[^\]]*\],\s*\[([^\]]*)\]"}
# (what, the service's name, the yaml's PreProcess op.key), shown side by side
PARAMETER_PAIRS = [("resize short side", "resize short", "ResizeImage.resize_short"), ("crop", "crop", "CropImage.size"),
                   ("normalize mean", "mean", "NormalizeImage.mean"), ("normalize std", "std", "NormalizeImage.std")]


def preprocess_values(preprocess):
    """{"<op>.<key>": value} of a PaddleClas yaml's PreProcess (a list of one-key dicts of op: {key: value})."""
    found = {}
    for op in (preprocess or {}).get("transform_ops") or []:
        for name, options in (op.items() if isinstance(op, dict) else []):
            for key, value in (options or {}).items():
                found["{}.{}".format(name, key)] = value
    return found


LINE = re.compile(r"^(\S.*?):\s+class id\(s\): (\[.*?\]), score\(s\): (\[.*?\]), label_name\(s\): (\[.*\])\s*$")


def read_predict_cls(out_dir, log_text, spec=None):
    """predict_cls.py's `<image>:\\tclass id(s): [...], score(s): [...], label_name(s): [...]` lines:
    {image: {"label", "score", "class_id"}} of the top-1."""
    import ast
    answers = {}
    for line in log_text.splitlines():
        match = LINE.match(line.strip())
        if match:
            ids, scores, names = (ast.literal_eval(group) for group in match.groups()[1:])
            if ids:
                answers[match.group(1)] = {"label": names[0] if names else str(ids[0]), "score": float(scores[0]),
                                           "class_id": ids[0]}
    return answers
