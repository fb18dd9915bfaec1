"""Stand-in for PaddleOCR's deploy/pdserving/web_service.py, written for the tests: a Paddle Serving pipeline
service "ocr" (POST /ocr/prediction) of two ops, det (a DB text detector) and then rec (a CTC recogniser),
each served by the pipeline's local predictor from config.yml's op.<name>.local_service_conf. It imports
what the real one imports (so paddle_serving_app.reader, and with it sentencepiece, shapely and pyclipper,
must be installed), takes the same command line (ocr_reader.ArgsParser) and answers the same reply:
value[0] is str([[(text, score), box], ...]) for the texts read with a score of at least 0.5. The character
list is read from ../../ppocr/utils/ppocr_keys_v1.txt, relative to the working directory, as the real one
reads it."""
import base64
import copy
import logging

import cv2
import numpy as np
from ocr_reader import ArgsParser, DetResizeForTest, OCRReader
from paddle_serving_app.reader import DBPostProcess, Div, FilterBoxes, GetRotateCropImage, Normalize, Sequential, \
    SortedBoxes, Transpose
from paddle_serving_server.web_service import Op, WebService

_LOGGER = logging.getLogger()

REC_BATCH = 6  # crops per recogniser run
REC_MIN_SCORE = 0.5


def decode_image(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


class DetOp(Op):
    def init_op(self):
        self.det_preprocess = Sequential([DetResizeForTest(), Div(255),
                                          Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                                          Transpose((2, 0, 1))])
        self.filter_func = FilterBoxes(10, 10)
        self.post_func = DBPostProcess({"thresh": 0.3, "box_thresh": 0.6, "max_candidates": 1000,
                                        "unclip_ratio": 1.5, "min_size": 3})

    def preprocess(self, input_dicts, data_id, log_id):
        (_, input_dict), = input_dicts.items()
        # Process ops (dag.is_thread_op False): per-request state on self is safe.
        self.raw_im = base64.b64decode(input_dict["image"].encode("utf8"))
        image = decode_image(self.raw_im)
        self.ori_h, self.ori_w = image.shape[:2]
        det_img = self.det_preprocess(image)
        self.new_h, self.new_w = det_img.shape[1:]
        return {"x": det_img[np.newaxis, :].copy()}, False, None, ""

    def postprocess(self, input_dicts, fetch_dict, data_id, log_id):
        probability_map = list(fetch_dict.values())[0]
        ratios = [float(self.new_h) / self.ori_h, float(self.new_w) / self.ori_w]
        boxes = self.post_func(probability_map, [ratios])[0]
        boxes = self.filter_func(boxes, [self.ori_h, self.ori_w])
        return {"dt_boxes": boxes, "image": self.raw_im}, None, ""


class RecOp(Op):
    def init_op(self):
        self.ocr_reader = OCRReader(char_dict_path="../../ppocr/utils/ppocr_keys_v1.txt")
        self.get_rotate_crop_image = GetRotateCropImage()
        self.sorted_boxes = SortedBoxes()

    def preprocess(self, input_dicts, data_id, log_id):
        (_, input_dict), = input_dicts.items()
        image = decode_image(input_dict["image"])
        self.dt_list = self.sorted_boxes(input_dict["dt_boxes"])
        boxes = copy.deepcopy(self.dt_list)
        # One feed per batch of crops; the widest crop so far sets the padded width (not reset per batch).
        max_wh_ratio = 320 / 48.0
        feeds = []
        for start in range(0, len(boxes), REC_BATCH):
            crops = [self.get_rotate_crop_image(image, box) for box in boxes[start:start + REC_BATCH]]
            for crop in crops:
                max_wh_ratio = max(max_wh_ratio, crop.shape[1] * 1.0 / crop.shape[0])
            batch = np.stack([self.ocr_reader.resize_norm_img(crop, max_wh_ratio) for crop in crops])
            feeds.append({"x": batch.astype("float32")})
        return feeds, False, None, ""

    def postprocess(self, input_dicts, fetch_data, data_id, log_id):
        batches = fetch_data if isinstance(fetch_data, list) else [fetch_data] if fetch_data else []
        texts = [text for batch in batches for text in self.ocr_reader.postprocess(batch, with_score=True)]
        result = [[text, box.tolist()] for text, box in zip(texts, self.dt_list) if text[1] >= REC_MIN_SCORE]
        return {"result": str(result)}, None, ""


class OcrService(WebService):
    def get_pipeline_response(self, read_op):
        det_op = DetOp(name="det", input_ops=[read_op])
        return RecOp(name="rec", input_ops=[det_op])


ocr_service = OcrService(name="ocr")
FLAGS = ArgsParser().parse_args()
ocr_service.prepare_pipeline_config(yml_dict=FLAGS.conf_dict)
ocr_service.run_service()
