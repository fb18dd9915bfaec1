"""Stand-in for PaddleOCR's tools/infer/predict_system.py, written for the tests: the text detector, then the
recogniser on each detected line, with Paddle Inference, on the models the serving config converts. It processes
as the real script does (its flags, tools/infer/utility.py, and what its predict_det/predict_rec do), where that
differs from the stand-in service (deploy/pdserving/web_service.py): the detector's input is limited to
--det_limit_side_len (--det_limit_type max: only shrunk) in steps of 32, boxes of 3 pixels or less are dropped,
the crops are recognised in batches of --rec_batch_num sorted by width, and lines scoring under --drop_score are
dropped. The pieces both share come from the stand-in service's ocr_reader.py and paddle_serving_app, as the real
script and service share ppocr's. It answers as the real one does where the harness reads it: per image a
`<n>  Predict time of <image>: <s>s` line and a `<text>, <score>` line per text (ppocr's logger), and
<draw_img_save_dir>/system_results.txt, a line per image: `<name>\\t[{"transcription", "points"}]`."""
import json
import logging
import math
import os
import sys
import time

import cv2
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.join(ROOT, "deploy", "pdserving"))

import tools.infer.utility as utility  # noqa: E402
from ocr_reader import OCRReader  # noqa: E402
from paddle_serving_app.reader import DBPostProcess, FilterBoxes, GetRotateCropImage, SortedBoxes  # noqa: E402

IMAGE_EXTS = {"jpg", "bmp", "png", "jpeg", "rgb", "tif", "tiff", "gif"}
MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def get_logger():
    logger = logging.getLogger("ppocr")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(name)s %(levelname)s: %(message)s", "%Y/%m/%d %H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # paddle_serving_app's root handler would print each line twice
    return logger


logger = get_logger()


def get_image_file_list(path):
    if os.path.isfile(path):
        return [path]
    return sorted(os.path.join(path, name) for name in os.listdir(path)
                  if name.rsplit(".", 1)[-1].lower() in IMAGE_EXTS)


class TextDetector(object):
    def __init__(self, args):
        self.limit_side_len, self.limit_type = args.det_limit_side_len, args.det_limit_type
        self.postprocess = DBPostProcess({"thresh": args.det_db_thresh, "box_thresh": args.det_db_box_thresh,
                                          "max_candidates": 1000, "unclip_ratio": args.det_db_unclip_ratio,
                                          "min_size": 3})
        self.filter = FilterBoxes(3, 3)  # predict_det's filter_tag_det_res: width or height <= 3 dropped
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
        resized, ratios = self.resize(img)
        data = ((resized.astype("float32") / 255.0 - MEAN) / STD).astype("float32").transpose((2, 0, 1))
        self.input.copy_from_cpu(data[np.newaxis].copy())
        self.predictor.run()
        probability_map = self.outputs[0].copy_to_cpu()
        boxes = self.postprocess(probability_map, [ratios])[0]
        return self.filter(boxes, img.shape) if len(boxes) else np.zeros((0, 4, 2), "float32")


class TextRecognizer(object):
    def __init__(self, args):
        self.image_shape = [int(v) for v in args.rec_image_shape.split(",")]
        self.batch_num = args.rec_batch_num
        self.reader = OCRReader(image_shape=self.image_shape, char_dict_path=args.rec_char_dict_path)
        self.predictor, self.input, self.outputs = utility.create_predictor(args, args.rec_model_dir)

    def __call__(self, crops):
        """[(text, score)] per crop: batches of rec_batch_num crops sorted by width, each padded to its widest."""
        results = [("", 0.0)] * len(crops)
        order = np.argsort(np.array([crop.shape[1] / float(crop.shape[0]) for crop in crops]))
        _, height, width = self.image_shape
        for start in range(0, len(crops), self.batch_num):
            batch = order[start:start + self.batch_num]
            max_wh_ratio = width / float(height)
            for index in batch:
                max_wh_ratio = max(max_wh_ratio, crops[index].shape[1] / float(crops[index].shape[0]))
            data = np.stack([self.reader.resize_norm_img(crops[index], max_wh_ratio) for index in batch])
            self.input.copy_from_cpu(data.astype("float32"))
            self.predictor.run()
            decoded = self.reader.postprocess({"x": self.outputs[0].copy_to_cpu()}, with_score=True)
            for index, answer in zip(batch, decoded):
                results[index] = (answer[0], float(answer[1]))
        return results


class TextSystem(object):
    def __init__(self, args):
        self.text_detector, self.text_recognizer = TextDetector(args), TextRecognizer(args)
        self.sorted_boxes, self.crop = SortedBoxes(), GetRotateCropImage()
        self.drop_score = args.drop_score

    def __call__(self, img):
        start = time.time()
        dt_boxes = self.text_detector(img)
        logger.debug("dt_boxes num : {}, elapsed : {}".format(len(dt_boxes), time.time() - start))
        dt_boxes = self.sorted_boxes(dt_boxes) if len(dt_boxes) else []
        # the crop moves the corners it is given (the service crops a deep copy too)
        start = time.time()
        rec_res = self.text_recognizer([self.crop(img, box.copy()) for box in dt_boxes]) if len(dt_boxes) else []
        logger.debug("rec_res num  : {}, elapsed : {}".format(len(rec_res), time.time() - start))
        kept = [(box, res) for box, res in zip(dt_boxes, rec_res) if res[1] >= self.drop_score]
        return [box for box, _ in kept], [res for _, res in kept]


def main(args):
    text_sys = TextSystem(args)
    os.makedirs(args.draw_img_save_dir, exist_ok=True)
    save_results = []
    start_all = time.time()
    for idx, image_file in enumerate(get_image_file_list(args.image_dir)):
        img = cv2.imread(image_file)
        if img is None:
            logger.debug("error in loading image:{}".format(image_file))
            continue
        start = time.time()
        dt_boxes, rec_res = text_sys(img)
        logger.debug(str(idx) + "  Predict time of %s: %.3fs" % (image_file, time.time() - start))
        for text, score in rec_res:
            logger.debug("{}, {:.3f}".format(text, score))
        res = [{"transcription": rec_res[i][0], "points": np.array(dt_boxes[i]).astype(np.int32).tolist()}
               for i in range(len(dt_boxes))]
        save_results.append(os.path.basename(image_file) + "\t" + json.dumps(res, ensure_ascii=False) + "\n")
    logger.info("The predict total time is {}".format(time.time() - start_all))
    with open(os.path.join(args.draw_img_save_dir, "system_results.txt"), "w", encoding="utf-8") as handle:
        handle.writelines(save_results)


if __name__ == "__main__":
    main(utility.parse_args())
