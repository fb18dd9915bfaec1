"""Stand-in for PaddleSeg's test_tipc/serving_python/web_service.py (written for these tests): a Paddle
Serving pipeline service "seg" with one op.

Options as the real one: --config, --opt (ONE string, which must set op.seg.local_service_conf.devices:
anything else, or none, fails its assertion), --input_name (x), --output_name (argmax_0.tmp_0). It reads
config.yml, sets the devices ("" becomes None), prints "config: {...}", and serves the image (PIL, RGB,
normalised with mean and std 0.5, CHW, no resize) to the model; the reply is the mean of each label map
("res_mean_val"). The model: an argmax export (tests/dialects/seeded_models.py, kind segmenter).
"""
import argparse
import base64
import io

import numpy as np
import yaml
from PIL import Image

from paddle_serving_server.web_service import Op, WebService
from preprocess_ops import CenterCropImage, Compose, NormalizeImage, ResizeImage, ToCHW  # noqa: F401


def parse_args():
    parser = argparse.ArgumentParser(description="Test")
    parser.add_argument("--config", type=str, help="the service's config.yml")
    parser.add_argument("--opt", type=str, help="op.seg.local_service_conf.devices=DEVICES")
    parser.add_argument("--input_name", type=str, default="x", help="the model's feed name")
    parser.add_argument("--output_name", type=str, default="argmax_0.tmp_0", help="the model's fetch name")
    return parser.parse_args()


def load_config(path, opt):
    prefix = "op.seg.local_service_conf.devices="
    assert opt.startswith("op.seg.local_service_conf.devices"), \
        "Only support using opt to set op.seg.local_service_conf.devices"
    with open(path, encoding="utf-8") as stream:
        config = yaml.load(stream.read(), yaml.FullLoader)
    config["op"]["seg"]["local_service_conf"]["devices"] = opt.replace(prefix, "") or None
    return config


class SegmentOp(Op):
    def init_op(self):
        self.transforms = Compose([NormalizeImage(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5]), ToCHW()])

    def names(self, input_name, output_name):
        self.input_name, self.output_name = input_name, output_name

    def preprocess(self, input_dicts, data_id, log_id):
        (_, request), = input_dicts.items()
        batch = []
        for key in request:
            image = Image.open(io.BytesIO(base64.b64decode(request[key].encode("utf8")))).convert("RGB")
            batch.append(self.transforms(image)[np.newaxis, :].copy())
        return {self.input_name: np.concatenate(batch, axis=0)}, False, None, ""

    def postprocess(self, input_dicts, fetch_dict, data_id, log_id):
        means = [np.mean(np.array(label_map.tolist())) for label_map in fetch_dict[self.output_name]]
        return {"res_mean_val": str(means)}, None, ""


class SegmentService(WebService):
    def __init__(self, name, input_name, output_name):
        super().__init__(name)
        self.input_name, self.output_name = input_name, output_name

    def get_pipeline_response(self, read_op):
        op = SegmentOp(name="seg", input_ops=[read_op])
        op.names(self.input_name, self.output_name)
        return op


if __name__ == "__main__":
    args = parse_args()
    config = load_config(args.config, args.opt)
    print("config:", config)
    service = SegmentService("seg", args.input_name, args.output_name)
    service.prepare_pipeline_config(yml_dict=config)
    service.run_service()
