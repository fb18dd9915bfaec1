"""PaddleDetection: test_tipc/test_serving_infer_python.sh, deploy/serving/python."""
from ..config.reader import NULL
from .base import (Command, Conversion, Dialect, DialectCase, client_command, config_flag,
                   eval_words, set_param, values_of)


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
