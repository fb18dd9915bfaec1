"""PaddleOCR: test_tipc/test_serving_infer_python.sh and deploy/pdserving; its older test_serving.sh (the legacy layout)."""
import re

from ..config.reader import NULL
from .base import (Command, Dialect, DialectCase, client_command, config_flag, conversion, eval_words,
                   set_param, stem, trt_precisions, values_of)
from .models_template import Template


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
