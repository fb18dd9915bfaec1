"""PaddleClas: test_tipc/test_serving_infer_python.sh, deploy/paddleserving (PP-ShiTu: deploy/paddleserving/recognition)."""
import posixpath

from ..config.reader import NULL
from .base import (CONVERT, Command, Dialect, DialectCase, client_command, conversion, eval_words, feed_key_edit,
                   fetch_alias_edits, stem, values_of)


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
