"""Stand-in for PaddleClas's deploy/paddleserving/classification_web_service.py (written for these tests):
a Paddle Serving pipeline service "imagenet" with one op, reading ./config.yml, no command-line options.

As the real one: it imports paddle_serving_app.reader (so it dies without sentencepiece, shapely or
pyclipper), feeds the model under the key "inputs" and reads the fetch "prediction". Neither is a name a
converted model has: PaddleClas's test_serving_infer_python.sh rewrites the feed key with sed (the range
from the first line naming the pre-processing to the line returning the images) and renames the fetch
alias_name in both converted prototxts; without those edits the service answers err_no 5000. Labels come
from ./imagenet.label (one per class index, as the real file). The model: see tests/dialects/seeded_models.py.
"""
import base64

import cv2
import numpy as np
from paddle_serving_app.reader import (Base64ToImage, CenterCrop, Div, Normalize, Resize, RGB2BGR, Sequential,
                                       Transpose, URL2Image)  # noqa: F401  (the real list)

try:
    from paddle_serving_server_gpu.web_service import Op, WebService
except ImportError:
    from paddle_serving_server.web_service import Op, WebService


class ClassifyOp(Op):
    def init_op(self):
        # The real service's steps in its order (RGB2BGR on cv2's BGR image included).
        self.transforms = Sequential([Resize(256), CenterCrop(224), RGB2BGR(), Transpose((2, 0, 1)), Div(255),
                                      Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225], True)])
        with open("imagenet.label") as labels:
            self.labels = [line.strip() for line in labels]

    def preprocess(self, input_dicts, data_id, log_id):
        (_, request), = input_dicts.items()
        batch = []
        for key in request:
            encoded = np.frombuffer(base64.b64decode(request[key].encode("utf8")), np.uint8)
            batch.append(self.transforms(cv2.imdecode(encoded, cv2.IMREAD_COLOR))[np.newaxis, :].copy())
        input_imgs = np.concatenate(batch, axis=0)
        return {"inputs": input_imgs}, False, None, ""

    def postprocess(self, input_dicts, fetch_dict, data_id, log_id):
        labels, probs = [], []
        for scores in fetch_dict["prediction"]:
            scores = scores.tolist()
            best = max(scores)
            labels.append(self.labels[scores.index(best)].replace(",", ""))
            probs.append(best)
        return {"label": str(labels), "prob": str(probs)}, None, ""


class ClassifyService(WebService):
    def get_pipeline_response(self, read_op):
        return ClassifyOp(name="imagenet", input_ops=[read_op])


service = ClassifyService(name="imagenet")
service.prepare_pipeline_config("config.yml")
service.run_service()
