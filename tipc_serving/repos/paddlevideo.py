"""PaddleVideo: test_tipc/test_serving_infer_python.sh, deploy/python_serving."""
from .base import (CONVERT, Command, Dialect, DialectCase, client_command, config_flag, eval_words,
                   fetch_alias_edits, one_conversion, set_param)


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
