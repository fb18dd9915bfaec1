"""Stand-in for PaddleOCR's deploy/pdserving/web_service_det.py, written for the tests: a Paddle Serving pipeline
service "ocr" (POST /ocr/prediction) of one op, det (the DB text detector), served by the pipeline's local
predictor from config.yml's op.det.local_service_conf (config.yml lists rec too; this service's DAG runs det
alone). It imports what the real one imports, takes the same command line (ocr_reader.ArgsParser) and answers the
same reply: value[0] is str() of the boxes' numpy array (N x 4 x 2), which the real client cannot eval and so
prints as it is, over several lines, then "No results". Its thresholds are the real one's (box_thresh 0.5, where
predict_det.py's default is 0.6)."""
import base64
import logging

import cv2
import numpy as np
from ocr_reader import ArgsParser, DetResizeForTest, OCRReader  # noqa: F401 (the real one imports OCRReader too)
from paddle_serving_app.reader import DBPostProcess, Div, FilterBoxes, Normalize, Sequential, Transpose
from paddle_serving_server.web_service import Op, WebService

_LOGGER = logging.getLogger()


class DetOp(Op):
    def init_op(self):
        self.det_preprocess = Sequential([DetResizeForTest(), Div(255),
                                          Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                                          Transpose((2, 0, 1))])
        self.filter_func = FilterBoxes(10, 10)
        self.post_func = DBPostProcess({"thresh": 0.3, "box_thresh": 0.5, "max_candidates": 1000,
                                        "unclip_ratio": 1.5, "min_size": 3})

    def preprocess(self, input_dicts, data_id, log_id):
        (_, input_dict), = input_dicts.items()
        data = base64.b64decode(input_dict["image"].encode("utf8"))
        # Process ops (dag.is_thread_op False): per-request state on self is safe.
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        self.ori_h, self.ori_w = image.shape[:2]
        det_img = self.det_preprocess(image)
        self.new_h, self.new_w = det_img.shape[1:]
        return {"x": det_img[np.newaxis, :].copy()}, False, None, ""

    def postprocess(self, input_dicts, fetch_dict, data_id, log_id):
        det_out = list(fetch_dict.values())[0]
        ratio_list = [float(self.new_h) / self.ori_h, float(self.new_w) / self.ori_w]
        dt_boxes_list = self.post_func(det_out, [ratio_list])
        dt_boxes = self.filter_func(dt_boxes_list[0], [self.ori_h, self.ori_w])
        return {"dt_boxes": str(dt_boxes)}, None, ""


class OcrService(WebService):
    def get_pipeline_response(self, read_op):
        return DetOp(name="det", input_ops=[read_op])


uci_service = OcrService(name="ocr")
FLAGS = ArgsParser().parse_args()
uci_service.prepare_pipeline_config(yml_dict=FLAGS.conf_dict)
uci_service.run_service()
