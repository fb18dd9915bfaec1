"""Stand-in for PaddleOCR's tools/infer/predict_det.py, written for the tests: the DB text detector alone, with
Paddle Inference, processing as the real script does where that differs from the stand-in service
(deploy/pdserving/web_service_det.py): the input is limited to --det_limit_side_len (--det_limit_type max: only
shrunk) in steps of 32, the thresholds are the flags' (--det_db_thresh, --det_db_box_thresh,
--det_db_unclip_ratio), boxes of 3 pixels or less are dropped. TextDetector is what predict_system.py runs. It
answers as the real one does where the harness reads it: <draw_img_save_dir>/det_results.txt, a line per image
`<name>\\t<json of [[x, y] * 4] boxes>`, and ppocr's log lines (`<n> The predict time of <image>: <s>`); its log
goes to --save_log_path as well (a folder: benchmark_detection.log in it)."""
import json
import os
import sys
import time

import cv2
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.join(ROOT, "deploy", "pdserving"))

import tools.infer.utility as utility  # noqa: E402
from paddle_serving_app.reader import DBPostProcess, FilterBoxes  # noqa: E402
from ppocr.utils.logging import get_logger  # noqa: E402
from ppocr.utils.utility import check_and_read, get_image_file_list  # noqa: E402

MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


class TextDetector(object):
    def __init__(self, args, logger=None):
        self.limit_side_len, self.limit_type = args.det_limit_side_len, args.det_limit_type
        self.postprocess = DBPostProcess({"thresh": args.det_db_thresh, "box_thresh": args.det_db_box_thresh,
                                          "max_candidates": 1000, "unclip_ratio": args.det_db_unclip_ratio,
                                          "min_size": 3})
        self.filter = FilterBoxes(3, 3)  # filter_tag_det_res: width or height <= 3 dropped
        self.predictor, self.input, self.outputs = utility.create_predictor(args, args.det_model_dir)

    def resize(self, img):
        """ppocr's DetResizeForTest, resize_image_type0: a side limit, both sides rounded to a multiple of 32."""
        h, w = img.shape[:2]
        ratio = 1.0
        if self.limit_type == "max" and max(h, w) > self.limit_side_len:
            ratio = float(self.limit_side_len) / max(h, w)
        elif self.limit_type == "min" and min(h, w) < self.limit_side_len:
            ratio = float(self.limit_side_len) / min(h, w)
        elif self.limit_type == "resize_long":
            ratio = float(self.limit_side_len) / max(h, w)
        resize_h = max(int(round(int(h * ratio) / 32) * 32), 32)
        resize_w = max(int(round(int(w * ratio) / 32) * 32), 32)
        return cv2.resize(img, (resize_w, resize_h)), [resize_h / float(h), resize_w / float(w)]

    def __call__(self, img):
        """(boxes [N, 4, 2], seconds)."""
        start = time.time()
        resized, ratios = self.resize(img)
        data = ((resized.astype("float32") / 255.0 - MEAN) / STD).astype("float32").transpose((2, 0, 1))
        self.input.copy_from_cpu(data[np.newaxis].copy())
        self.predictor.run()
        probability_map = self.outputs[0].copy_to_cpu()
        boxes = self.postprocess(probability_map, [ratios])[0]
        boxes = self.filter(boxes, img.shape) if len(boxes) else np.zeros((0, 4, 2), "float32")
        return boxes, time.time() - start


if __name__ == "__main__":
    args = utility.parse_args()
    image_file_list = get_image_file_list(args.image_dir)
    draw_img_save_dir = args.draw_img_save_dir
    os.makedirs(draw_img_save_dir, exist_ok=True)
    log_file = args.save_log_path
    if os.path.isdir(args.save_log_path) or (not os.path.exists(args.save_log_path)
                                             and args.save_log_path.endswith("/")):
        log_file = os.path.join(log_file, "benchmark_detection.log")
    logger = get_logger(log_file=log_file)
    text_detector = TextDetector(args, logger)
    save_results = []
    for idx, image_file in enumerate(image_file_list):
        img, flag_gif, flag_pdf = check_and_read(image_file)
        img = cv2.imread(image_file)
        if img is None:
            logger.debug("error in loading image:{}".format(image_file))
            continue
        dt_boxes, elapse = text_detector(img)
        save_pred = os.path.basename(image_file) + "\t" + str(json.dumps([x.tolist() for x in dt_boxes])) + "\n"
        save_results.append(save_pred)
        logger.info(save_pred)
        logger.info("{} The predict time of {}: {}".format(idx, image_file, elapse))
    with open(os.path.join(draw_img_save_dir, "det_results.txt"), "w") as f:
        f.writelines(save_results)
