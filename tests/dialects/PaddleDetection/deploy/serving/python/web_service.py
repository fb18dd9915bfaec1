"""Stand-in for PaddleDetection's deploy/serving/python/web_service.py, written for the tests: a Paddle Serving
pipeline service "ppdet" (POST /ppdet/prediction) of one op, ppdet, served by the pipeline's local predictor
from <--model_dir>/serving_server (the export's serving model; config.yml's model_config is replaced), with
the preprocessing that <--model_dir>/infer_cfg.yml lists. The same command line as the real one: -c/--config
(default deploy/serving/python/config.yml), --model_dir (required), -o/--opt KEY=VALUE ... (values "True"/
"False" and digits typed; a devices value kept a string). The reply, as the real one's: one key per image
sent, its value the list of "class score x1 y1 x2 y2" strings of the boxes above infer_cfg.yml's
draw_threshold, or 'No object detected!'."""
import base64
import io
import os
from argparse import ArgumentParser, RawDescriptionHelpFormatter

import google.protobuf.text_format
import numpy as np
import yaml
from paddle_serving_server.proto import general_model_config_pb2 as m_config
from paddle_serving_server.web_service import Op, WebService
from PIL import Image
from preprocess_ops import Compose

SUPPORT_MODELS = {"YOLO", "PPYOLOE", "RCNN", "SSD", "Face", "FCOS", "SOLOv2", "TTFNet", "S2ANet", "JDE", "FairMOT",
                  "DeepSORT", "GFL", "PicoDet", "CenterNet", "TOOD", "RetinaNet", "StrongBaseline", "STGCN", "YOLOX"}
NO_OBJECT = "No object detected!"

GLOBAL_VAR = {}  # set before the service starts; the op processes inherit it


class ArgsParser(ArgumentParser):
    def __init__(self):
        super(ArgsParser, self).__init__(formatter_class=RawDescriptionHelpFormatter)
        self.add_argument("-c", "--config", default="deploy/serving/python/config.yml",
                          help="configuration file to use")
        self.add_argument("--model_dir", type=str, default=None, required=True,
                          help="the export's folder: model.pdmodel, infer_cfg.yml, serving_server/")
        self.add_argument("-o", "--opt", nargs="+", help="set configuration options")

    def parse_args(self, argv=None):
        args = super(ArgsParser, self).parse_args(argv)
        assert args.config is not None, "Please specify --config=configure_file_path."
        args.service_config = self._apply(args.opt or [], args.config)
        args.model_config = PredictConfig(args.model_dir)
        return args

    @staticmethod
    def _typed(value):
        if value.isnumeric():
            return int(value)
        if value in ("True", "False"):
            return value == "True"
        return value

    def _apply(self, options, path):
        with open(path) as handle:
            config = yaml.load(handle, Loader=yaml.Loader)
        for option in options:
            key, value = option.strip().split("=")
            value = self._typed(value)
            if "devices" in key:
                value = str(value)
            print(key, value, type(value))
            *parents, leaf = key.split(".")
            node = config
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return config


class PredictConfig(object):
    """The export's infer_cfg.yml."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "infer_cfg.yml")) as handle:
            conf = yaml.safe_load(handle)
        if not any(name in conf["arch"] for name in SUPPORT_MODELS):
            raise ValueError("Unsupported arch: {}, expect {}".format(conf["arch"], SUPPORT_MODELS))
        self.arch = conf["arch"]
        self.preprocess_infos = conf["Preprocess"]
        self.label_list = conf["label_list"]
        self.draw_threshold = conf.get("draw_threshold", 0.5)
        self.mask = conf.get("mask", False)
        print("-----------  Model Configuration -----------")
        print("Model Arch: {}".format(self.arch))
        print("Transform Order: ")
        for info in self.preprocess_infos:
            print("--transform op: {}".format(info["type"]))
        print("--------------------------------------------")


class DetectorOp(Op):
    def init_op(self):
        self.preprocess_pipeline = Compose(GLOBAL_VAR["preprocess_ops"])

    def preprocess(self, input_dicts, data_id, log_id):
        (_, input_dict), = input_dicts.items()
        inputs = [self.preprocess_pipeline(Image.open(io.BytesIO(base64.b64decode(data.encode("utf8")))).convert("RGB"))
                  for data in input_dict.values()]
        # One batch: each feed the model declares, stacked over the images.
        return {name: np.stack([one[name] for one in inputs]) for name in inputs[0]
                if name in GLOBAL_VAR["feed_vars"]}, False, None, ""

    def postprocess(self, input_dicts, fetch_dict, data_id, log_id):
        (_, input_dict), = input_dicts.items()
        boxes = fetch_dict[GLOBAL_VAR["fetch_vars"][0]]
        counts = fetch_dict[GLOBAL_VAR["fetch_vars"][1]]
        threshold = GLOBAL_VAR["model_config"].draw_threshold
        results, start = {}, 0
        for image_name, count in zip(input_dict.keys(), counts):
            lines = ["{} {} {} {} {} {}".format(int(box[0]), *box[1:6]) for box in boxes[start:start + count]
                     if box[0] > -1 and box[1] > threshold]
            results[image_name] = lines or NO_OBJECT
            start += count
        return results, None, ""


class DetectorService(WebService):
    def get_pipeline_response(self, read_op):
        return DetectorOp(name="ppdet", input_ops=[read_op])


def get_model_vars(model_dir, service_config):
    """The serving model's feed and fetch names; the op's model_config becomes <model_dir>/serving_server."""
    server_dir = os.path.join(model_dir, "serving_server")
    service_config["op"]["ppdet"]["local_service_conf"]["model_config"] = server_dir
    with open(os.path.join(server_dir, "serving_server_conf.prototxt")) as handle:
        model_var = google.protobuf.text_format.Merge(handle.read(), m_config.GeneralModelConfig())
    return [var.name for var in model_var.feed_var], [var.name for var in model_var.fetch_var]


if __name__ == "__main__":
    FLAGS = ArgsParser().parse_args()
    GLOBAL_VAR["feed_vars"], GLOBAL_VAR["fetch_vars"] = get_model_vars(FLAGS.model_dir, FLAGS.service_config)
    GLOBAL_VAR["preprocess_ops"] = FLAGS.model_config.preprocess_infos
    GLOBAL_VAR["model_config"] = FLAGS.model_config
    print(FLAGS)
    service = DetectorService(name="ppdet")
    service.prepare_pipeline_config(yml_dict=FLAGS.service_config)
    service.run_service()
