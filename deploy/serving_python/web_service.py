"""The image classifier as a Paddle Serving 0.9.0 Python pipeline service (seed steps 2.4 to 2.7).

    python web_service.py [--config config.yml] [--name alexnet] [--opt KEY=VALUE ...]

`--opt` overrides any config.yml key by its dotted path, e.g.
    --opt op.alexnet.local_service_conf.devices="0" op.alexnet.local_service_conf.thread_num=4 http_port=18081
`--name` renames the config's single op; the service answers at /<name>/prediction.

The op uses the project's one preprocessing module (tipc_serving.model.preprocess, also used by the
Paddle Inference reference) and reads the feed and fetch names from the converted model's
serving_server_conf.prototxt. Bad input is answered with an err_no of tipc_serving.client.protocol and a
message naming the key and what was wrong.
"""
import argparse
import base64
import binascii
import logging
import os
import sys
from pathlib import Path

import numpy as np

SERVING_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(SERVING_DIR.parent.parent))

from tipc_serving.client import protocol  # noqa: E402
from tipc_serving.model import postprocess, preprocess  # noqa: E402
from tipc_serving.service import pipeline_config  # noqa: E402
from tipc_serving.errors import UserError, cli  # noqa: E402
from tipc_serving.model.inference import check_program  # noqa: E402
from tipc_serving.model.converted import load_model_config  # noqa: E402

from paddle_serving_server.web_service import Op, WebService  # noqa: E402
from paddle_serving_server.pipeline import RequestOp, ResponseOp  # noqa: E402

# Test-only: shift every preprocessed pixel by this amount, to prove the harness notices a service
# whose preprocessing differs from the reference. Never set outside the harness's own tests.
TEST_INPUT_SHIFT_ENV = "TIPC_SERVING_TEST_INPUT_SHIFT"
# base64 grows data by 4/3; anything longer than this cannot decode to an acceptable image.
MAX_BASE64_CHARS = (preprocess.MAX_IMAGE_BYTES * 4) // 3 + 4


class StrictRequestOp(RequestOp):
    """Paddle's RequestOp pairs keys with values by index: extra values are silently dropped and
    missing ones raise an IndexError. Refuse a mismatch with a clear message instead."""

    def unpack_request_package(self, request):
        if len(request.key) != len(request.value):
            return {}, request.logid, protocol.ERR_KEY_VALUE_MISMATCH, (
                "request has {} keys but {} values: send one base64 image per key".format(
                    len(request.key), len(request.value)))
        return super().unpack_request_package(request)


class ClassifierOp(Op):
    topk = postprocess.DEFAULT_TOPK

    def init_op(self):
        model = load_model_config(self.model_config)
        self.feed_name = model.feed_names[0]
        self.fetch_name = model.fetch_names[0]
        self.input_shift = float(os.environ.get(TEST_INPUT_SHIFT_ENV) or 0.0)

    def preprocess(self, input_dicts, data_id, log_id):
        (_, request), = input_dicts.items()
        if not request:
            return None, True, protocol.ERR_NO_IMAGES, (
                'request has no images: send {"key": ["image"], "value": [<base64 image>]}')
        batch = []
        for key, value in request.items():
            image, errcode, message = self._decode(key, value)
            if errcode:
                return None, True, errcode, message
            batch.append(image)
        feed = np.stack(batch)  # float32 already: preprocess.normalize_chw makes it so
        if self.input_shift:
            feed += self.input_shift
        return {self.feed_name: feed}, False, None, ""

    @staticmethod
    def _decode(key, value):
        """(CHW array, None, "") for a good value, (None, err_no, message) otherwise."""
        if not isinstance(value, str):
            return None, protocol.ERR_BAD_IMAGE, "value of key '{}' is not a base64 string".format(key)
        if not value.strip():
            return None, protocol.ERR_NO_IMAGES, "value of key '{}' is empty".format(key)
        if len(value) > MAX_BASE64_CHARS:
            return None, protocol.ERR_TOO_LARGE, "value of key '{}' is {} characters, over the limit of {}".format(
                key, len(value), MAX_BASE64_CHARS)
        try:
            data = base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            return None, protocol.ERR_NOT_BASE64, "value of key '{}' is not valid base64".format(key)
        try:
            return preprocess.preprocess_bytes(data), None, ""
        except preprocess.ImageTooLarge as err:
            return None, protocol.ERR_TOO_LARGE, "image of key '{}': {}".format(key, err)
        except preprocess.ImageError as err:
            return None, protocol.ERR_BAD_IMAGE, "image of key '{}': {}".format(key, err)

    def postprocess(self, input_dicts, fetch_dict, data_id, log_id):
        results = postprocess.classify_batch(fetch_dict[self.fetch_name], self.topk)
        return protocol.response_values(results), None, ""


class ClassifierService(WebService):
    def __init__(self, name, topk):
        super().__init__(name=name)
        self.topk = topk

    def get_pipeline_response(self, read_op):
        op = ClassifierOp(name=self.name, input_ops=[read_op])
        op.topk = self.topk
        return op

    def prepare_pipeline_config(self, yml_file=None, yml_dict=None):
        # As WebService.prepare_pipeline_config, with the strict request op.
        last_op = self.get_pipeline_response(StrictRequestOp())
        self._server.set_response_op(ResponseOp(input_ops=[last_op]))
        self._server.prepare_server(yml_file=yml_file, yml_dict=yml_dict)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(SERVING_DIR / "config.yml"), help="pipeline config (config.yml)")
    parser.add_argument("--name", help="service and op name (default: the config's single op)")
    parser.add_argument("--opt", nargs="+", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key by its dotted path")
    return parser.parse_args(argv)


def build_config(args):
    return pipeline_config.effective(args.config, args.name, [option for group in args.opt for option in group])


def check_model(config, name):
    """Fail in one line before Paddle Serving starts: it SIGKILLs its process group on a bad model."""
    conf = config["op"][name].get("local_service_conf") or {}
    model_config = conf.get("model_config")
    if not model_config:
        raise UserError("op.{}.local_service_conf.model_config is not set".format(name))
    model = load_model_config(model_config)
    model_file = next(iter(sorted(Path(model_config).glob("*.pdmodel"))), None)
    if model_file is None:
        raise UserError("{} has no .pdmodel file".format(model_config))
    check_program(model_file)
    return model


@cli("web_service.py")
def main(argv=None):
    # Paddle Serving sets its root logger to DEBUG, which builds dozens of records per request only for the
    # INFO handlers to drop them; INFO keeps every line it writes (LocalPredictor's settings among them).
    logging.getLogger().setLevel(logging.INFO)
    args = parse_args(argv)
    config, name = build_config(args)
    model = check_model(config, name)
    topk = config["op"][name].get("topk", postprocess.DEFAULT_TOPK)
    if not isinstance(topk, int) or isinstance(topk, bool) or topk < 1:
        raise UserError("op.{}.topk must be a positive integer, got {!r}".format(name, topk))
    conf = config["op"][name]["local_service_conf"]
    print("web_service.py: service '{}' on http_port {} rpc_port {}; model {} (feed {}, fetch {}); "
          "devices '{}', thread_num {}, use_mkldnn {}, ir_optim {}, precision {}".format(
              name, config.get("http_port"), config.get("rpc_port"), conf["model_config"],
              model.feed_names[0], model.fetch_names[0], conf.get("devices", ""), conf.get("thread_num"),
              conf.get("use_mkldnn"), conf.get("ir_optim"), conf.get("precision")), flush=True)
    service = ClassifierService(name=name, topk=topk)
    service.prepare_pipeline_config(yml_dict=config)
    service.run_service()
    return 0


if __name__ == "__main__":
    sys.exit(main())
