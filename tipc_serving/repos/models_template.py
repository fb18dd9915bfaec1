"""The models repository's TIPC serving template (docs/tipc/serving/template/test/test_serving.sh)."""
from ..config.reader import NULL
from .base import (CONVERT, Command, Dialect, DialectCase, client_command, config_flag, eval_words,
                   one_conversion, set_param, stem, trt_precisions, values_of)


class Template(Dialect):
    """The models repository's template (docs/tipc/serving/template/test/, 18 lines) and PaddleOCR's older
    test_serving.sh: bare op.<name>.local_service_conf.* lines, `null:null` placeholders, options passed as
    bare `key=value` words, client logs named server_infer_*; the service's output is not kept."""

    name = "TIPC template"
    script = "test_tipc/test_serving.sh"
    gpu_value = "0"        # `elif [ ${use_gpu} = "0" ]`: a quoted "0" keeps its quotes in the shell and never matches
    cpu_devices = NULL     # CPU: `${web_use_gpu_key}=${use_gpu}`, i.e. devices=null
    gpu_devices = True     # GPU: `${web_use_gpu_key}=${use_gpu} ${set_tensorrt} ${set_precision}`
    known = {"model_name", "python", "trans_model", "serving_dir", "web_service", "pipline", "--image_dir",
             "--img_dir", *CONVERT}
    patterns = (r"op\.\w+\.local_service_conf\.(devices|use_mkldnn|thread_num|use_trt|precision)",)
    service_reads_options = False  # its script passes bare op.* words that its web service never reads

    def leaf(self, entries, leaf):
        found = entries.matching(r"op\.\w+\.local_service_conf\." + leaf)
        return (found[0].key, found[0].value) if found else (None, NULL)

    def build(self, entries):
        web = eval_words(entries.value("web_service"))
        image = entries.first("--image_dir") or entries.first("--img_dir")
        devices_key, devices = self.leaf(entries, "devices")
        cases = []
        for value in values_of(devices):
            if value == NULL:
                mkldnn_key, mkldnns = self.leaf(entries, "use_mkldnn")
                threads_key, threads = self.leaf(entries, "thread_num")
                for mkldnn in values_of(mkldnns):
                    for thread in values_of(threads):
                        # the mkldnn pair is written raw, not through func_set_params (the template's
                        # null:null placeholder line gives the word null=null)
                        options = ["{}={}".format(devices_key, self.cpu_devices),
                                   "{}={}".format(mkldnn_key or NULL, mkldnn), set_param(threads_key, thread)]
                        cases.append(self.case("cpu", "usemkldnn_{}_threads_{}".format(mkldnn, thread), web, options,
                                               entries, image))
            elif value == self.gpu_value:
                trt_key, trts = self.leaf(entries, "use_trt")
                precision_key, precisions = self.leaf(entries, "precision")
                for trt, precision in trt_precisions(trts, precisions):
                    options = [set_param(devices_key, value) if self.gpu_devices else None,
                               set_param(trt_key, trt), set_param(precision_key, precision)]
                    cases.append(self.case("gpu", "usetrt_{}_precision_{}".format(trt, precision), web, options,
                                           entries, image))
        return self.config(entries, conversions=[one_conversion(entries, None)], cases=cases,
                           # the template's web_service.py takes no arguments: prepare_pipeline_config("config.yml")
                           service_reads_options=self.service_reads_options,
                           service_config=config_flag(web),
                           coverage="the template's client prints its own reply format, not this harness's result "
                                    "lines")

    def task_reference(self, config, root):
        """A template has no task: its web service's pre- and postprocessing are TODOs that each model repository
        fills in, with a reply of its own form, and no inference script of the template's own to compare with."""
        if type(self) is not Template:  # a repository's layout copied from the template (PaddleOCR's legacy one)
            return super().task_reference(config, root)
        return {"unavailable": "the template's web service has no task of its own (its processing is the model "
                               "repository's to write); the engine level compares its tensors"}

    def case(self, device, suffix, web, options, entries, image):
        clients = []
        for client in values_of(entries.value("pipline")):
            log = "server_infer_{}_{}_{}_batchsize_1.log".format(device, stem(client), suffix)
            clients.append(client_command(client, [set_param(image.key, image.value)] if image else [], log,
                                   entries.value("serving_dir")))
        return DialectCase("{}_{}".format(device, suffix), device, {}, Command(
            web + [o for o in options if o], entries.value("serving_dir"), None), clients)
