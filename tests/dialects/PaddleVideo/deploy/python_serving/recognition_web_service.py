"""Stand-in for PaddleVideo's deploy/python_serving/recognition_web_service.py (written for these tests):
a Paddle Serving pipeline service "video" with one op.

Options as the real one: -n/--name (PPTSM or PPTSN), -c/--config (configs/PP-TSM.yaml). It imports
paddle_serving_app.reader and the repository's paddlevideo.loader.pipelines (../../ on sys.path), reads the
frames the client sends ("frames": base64 of the uint8 array, "frames_shape": its shape), samples, scales,
crops and normalises them, feeds `data_batch_0` and reads the fetch "outputs": a name PaddleVideo's TIPC
script writes into both converted prototxts' fetch alias_name with sed. The reply: label and softmax
probability, labels from ../../data/k400/Kinetics-400_label_list.txt. The model: a seeded PP-TSM-shaped
network (tests/dialects/seeded_models.py, kind video).
"""
import argparse
import base64
import os
import sys

import numpy as np

sys.path.append(os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../")))

from paddle_serving_app.reader import Sequential  # noqa: E402
from paddlevideo.loader.pipelines import (CenterCrop, Image2Array, Normalization, Sampler, Scale,  # noqa: E402
                                          TenCrop)

try:
    from paddle_serving_server_gpu.web_service import Op, WebService
except ImportError:
    from paddle_serving_server.web_service import Op, WebService

MODELS = ("PPTSM", "PPTSN")


def transforms_of(name):
    if name == "PPTSM":
        return [Sampler(8, 1, valid_mode=True), Scale(256), CenterCrop(224), Image2Array(),
                Normalization([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]
    if name == "PPTSN":
        return [Sampler(25, 1, valid_mode=True, select_left=True),
                Scale(256, fixed_ratio=True, do_round=True, backend="cv2"), TenCrop(224), Image2Array(),
                Normalization([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]
    raise ValueError("model_name must in {}, but got {}".format(list(MODELS), name))


def softmax(logits):
    logits = logits - np.max(logits)
    return np.exp(logits) / np.sum(np.exp(logits))


class VideoOp(Op):
    def init_op(self):
        self.transforms = Sequential(transforms_of(args.name))
        self.labels = {}
        with open("../../data/k400/Kinetics-400_label_list.txt") as labels:
            for line in labels:
                index, name = line.strip().split(" ")
                self.labels[int(index)] = name.strip()

    def preprocess(self, input_dicts, data_id, log_id):
        (_, request), = input_dicts.items()
        for key in request:
            if key == "frames":
                frames = np.frombuffer(base64.b64decode(request[key].encode("utf8")), np.uint8)
            elif key == "frames_shape":
                shape = eval(request[key])  # the real service evals it too
            else:
                raise ValueError("unexpected key received: {}".format(key))
        frames = frames.reshape(shape)
        results = self.transforms({"frames": [frame for frame in frames], "frames_len": frames.shape[0],
                                   "format": "video", "backend": "cv2"})
        # [T,C,H,W] -> [1,1,T,C,H,W]: the real service adds both axes too
        return {"data_batch_0": results["imgs"][np.newaxis, np.newaxis].copy()}, False, None, ""

    def postprocess(self, input_dicts, fetch_dict, data_id, log_id):
        labels, probs = [], []
        for logits in fetch_dict["outputs"]:
            scores = softmax(logits).tolist()
            best = max(scores)
            labels.append(self.labels[scores.index(best)])
            probs.append(best)
        return {"label": str(labels), "prob": str(probs)}, None, ""


class VideoService(WebService):
    def get_pipeline_response(self, read_op):
        return VideoOp(name="video", input_ops=[read_op])


def parse_args():
    parser = argparse.ArgumentParser("PaddleVideo Web Serving model script")
    parser.add_argument("-n", "--name", type=str, default="PPTSM", help="PPTSM or PPTSN")
    parser.add_argument("-c", "--config", type=str, default="configs/PP-TSM.yaml", help="serving config file")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    service = VideoService(name="video")
    service.prepare_pipeline_config(yaml_file=args.config)
    service.run_service()
