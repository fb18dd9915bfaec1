"""Stand-in for PaddleOCR's tools/infer/predict_system.py, written for the tests: the text detector, then the
recogniser on each detected line, with Paddle Inference, on the models the serving config converts. It processes
as the real script does (its flags, tools/infer/utility.py, predict_det's TextDetector and predict_rec's
TextRecognizer, which it imports as the real one does), where that differs from the stand-in service
(deploy/pdserving/web_service.py): the detector's input is limited to --det_limit_side_len (--det_limit_type max:
only shrunk) in steps of 32, boxes of 3 pixels or less are dropped,
the crops are recognised in batches of --rec_batch_num sorted by width, and lines scoring under --drop_score are
dropped. The pieces both share come from the stand-in service's ocr_reader.py and paddle_serving_app, as the real
script and service share ppocr's. It answers as the real one does where the harness reads it: per image a
`<n>  Predict time of <image>: <s>s` line and a `<text>, <score>` line per text (ppocr's logger), and
<draw_img_save_dir>/system_results.txt, a line per image: `<name>\\t[{"transcription", "points"}]`."""
import json
import os
import sys
import time

import cv2
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.join(ROOT, "deploy", "pdserving"))

import tools.infer.predict_det as predict_det  # noqa: E402
import tools.infer.predict_rec as predict_rec  # noqa: E402
import tools.infer.utility as utility  # noqa: E402
from paddle_serving_app.reader import GetRotateCropImage, SortedBoxes  # noqa: E402
from ppocr.utils.logging import get_logger  # noqa: E402
from ppocr.utils.utility import get_image_file_list  # noqa: E402

logger = get_logger()


class TextSystem(object):
    def __init__(self, args):
        self.text_detector = predict_det.TextDetector(args)
        self.text_recognizer = predict_rec.TextRecognizer(args)
        self.sorted_boxes, self.crop = SortedBoxes(), GetRotateCropImage()
        self.drop_score = args.drop_score

    def __call__(self, img):
        dt_boxes, elapse = self.text_detector(img)
        logger.debug("dt_boxes num : {}, elapsed : {}".format(len(dt_boxes), elapse))
        dt_boxes = self.sorted_boxes(dt_boxes) if len(dt_boxes) else []
        # the crop moves the corners it is given (the service crops a deep copy too)
        rec_res, elapse = self.text_recognizer([self.crop(img, box.copy()) for box in dt_boxes]) \
            if len(dt_boxes) else ([], 0.0)
        logger.debug("rec_res num  : {}, elapsed : {}".format(len(rec_res), elapse))
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
