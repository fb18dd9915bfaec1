"""Stand-in for the models repository's tutorials/mobilenetv3_prod/Step6/deploy/serving_python/web_service.py
(written for these tests): a Paddle Serving pipeline service "imagenet" with one op.

Options as the real one: its own ArgsParser, -c/--config (required: it asserts one is given) and
-o/--opt KEY=VALUE ... (one --opt, many words; numbers and True/False are converted, a devices value stays
a string); it prints "args config: {...}". The op resizes to 256, crops 224, normalises (ImageNet mean and
std), feeds `input` and reads the fetch `softmax_1.tmp_0`: the names of Step6's own export, which the
seeded model keeps (tests/dialects/seeded_models.py, kind classifier_input). No edits are needed.
"""
import base64
import io
from argparse import ArgumentParser, RawDescriptionHelpFormatter

import numpy as np
import yaml
from PIL import Image

from paddle_serving_server.web_service import Op, WebService
from preprocess_ops import CenterCropImage, Compose, NormalizeImage, ResizeImage, ToCHW


class ArgsParser(ArgumentParser):
    def __init__(self):
        super().__init__(formatter_class=RawDescriptionHelpFormatter)
        self.add_argument("-c", "--config", help="configuration file to use")
        self.add_argument("-o", "--opt", nargs="+", help="set configuration options")

    def parse_args(self, argv=None):
        args = super().parse_args(argv)
        assert args.config is not None, "Please specify --config=configure_file_path."
        args.conf_dict = self.apply(args.opt, args.config)
        print("args config:", args.conf_dict)
        return args

    @staticmethod
    def value_of(text):
        if text.isnumeric():
            return int(text)
        if text in ("True", "False"):
            return text == "True"
        return text

    def apply(self, options, path):
        with open(path) as stream:
            config = yaml.load(stream, Loader=yaml.Loader)
        for option in options or []:
            key, value = option.strip().split("=")
            value = self.value_of(value)
            if "devices" in key:
                value = str(value)
            print(key, value, type(value))
            node = config
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return config


class MobileNetV3Op(Op):
    def init_op(self):
        self.transforms = Compose([ResizeImage(256), CenterCropImage(224), NormalizeImage(), ToCHW()])

    def preprocess(self, input_dicts, data_id, log_id):
        (_, request), = input_dicts.items()
        batch = []
        for key in request:
            image = Image.open(io.BytesIO(base64.b64decode(request[key].encode("utf8")))).convert("RGB")
            batch.append(self.transforms(image)[np.newaxis, :].copy())
        return {"input": np.concatenate(batch, axis=0)}, False, None, ""

    def postprocess(self, input_dicts, fetch_dict, data_id, log_id):
        class_ids, probs = [], []
        for scores in fetch_dict["softmax_1.tmp_0"]:
            scores = scores.tolist()
            best = max(scores)
            class_ids.append(scores.index(best))
            probs.append(best)
        return {"class_id": str(class_ids), "prob": str(probs)}, None, ""


class MobileNetV3Service(WebService):
    def get_pipeline_response(self, read_op):
        return MobileNetV3Op(name="imagenet", input_ops=[read_op])


service = MobileNetV3Service(name="imagenet")
FLAGS = ArgsParser().parse_args()
service.prepare_pipeline_config(yml_dict=FLAGS.conf_dict)
service.run_service()
