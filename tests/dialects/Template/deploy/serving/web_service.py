"""Stand-in for the models repository's TIPC template docs/tipc/serving/template/code/web_service.py, filled
in as docs/tipc/serving/serving.md shows (written for these tests): a Paddle Serving pipeline service
"tipc_example" with one op "tipc_example", reading ./config.yml.

As the template: no command-line parsing at all, so the bare `op.tipc_example.local_service_conf.KEY=VALUE`
words the template's test_serving.sh passes are ignored; the service runs as config.yml says. The op
resizes to 256, crops 224, normalises, feeds `input` and answers class_id and prob of the first fetch.
The model: tests/dialects/seeded_models.py, kind classifier_input.
"""
import base64
import io

import numpy as np
from PIL import Image

from paddle_serving_server.web_service import Op, WebService
from preprocess_ops import CenterCropImage, Compose, NormalizeImage, ResizeImage, ToCHW


class TIPCExampleOp(Op):
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
        for scores in list(fetch_dict.values())[0]:
            scores = scores.flatten()
            class_id = scores.argmax()
            class_ids.append(class_id)
            probs.append(scores[class_id])
        return {"class_id": str(class_ids), "prob": str(probs)}, None, ""


class TIPCExampleService(WebService):
    def get_pipeline_response(self, read_op):
        return TIPCExampleOp(name="tipc_example", input_ops=[read_op])


service = TIPCExampleService(name="tipc_example")
service.prepare_pipeline_config("config.yml")
service.run_service()
