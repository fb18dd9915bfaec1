"""Stand-in for PaddleOCR's deploy/pdserving/web_service_rec.py, written for the tests: a Paddle Serving pipeline
service "ocr" (POST /ocr/prediction) of one op, rec (the CTC recogniser) on the whole image it is sent (a word
image), served by the pipeline's local predictor from config.yml's op.rec.local_service_conf. It imports what the
real one imports, takes the same command line (ocr_reader.ArgsParser) and answers the same reply: value[0] is
str() of a list holding the text alone (the real one keeps res[0] of each (text, score)), which the client prints
as it is with --det=False. As the real one, it resizes every image for a width/height ratio of max_batch_size (6:
48 x 288), where predict_rec.py pads to the image's own ratio, at least --rec_image_shape's (320/48). The character
list is read from ../../ppocr/utils/ppocr_keys_v1.txt, relative to the working directory, as the real one reads it."""
import base64
import logging

import cv2
import numpy as np
from ocr_reader import ArgsParser, DetResizeForTest, OCRReader  # noqa: F401 (the real one imports DetResizeForTest)
from paddle_serving_app.reader import Div, Normalize, Sequential, Transpose  # noqa: F401
from paddle_serving_server.web_service import Op, WebService

_LOGGER = logging.getLogger()


class RecOp(Op):
    def init_op(self):
        self.ocr_reader = OCRReader(char_dict_path="../../ppocr/utils/ppocr_keys_v1.txt")

    def preprocess(self, input_dicts, data_id, log_id):
        (_, input_dict), = input_dicts.items()
        raw_im = base64.b64decode(input_dict["image"].encode("utf8"))
        im = cv2.imdecode(np.frombuffer(raw_im, np.uint8), cv2.IMREAD_COLOR)
        max_batch_size = 6  # the real one's: passed as the width/height ratio below
        norm_img = self.ocr_reader.resize_norm_img(im, max_batch_size)
        return [{"x": norm_img[np.newaxis, :].copy()}], False, None, ""

    def postprocess(self, input_dicts, fetch_data, data_id, log_id):
        batches = fetch_data if isinstance(fetch_data, list) else [fetch_data] if fetch_data else []
        res_list = [res[0] for batch in batches for res in self.ocr_reader.postprocess(batch, with_score=True)]
        return {"res": str(res_list)}, None, ""


class OcrService(WebService):
    def get_pipeline_response(self, read_op):
        return RecOp(name="rec", input_ops=[read_op])


uci_service = OcrService(name="ocr")
FLAGS = ArgsParser().parse_args()
uci_service.prepare_pipeline_config(yml_dict=FLAGS.conf_dict)
uci_service.run_service()
