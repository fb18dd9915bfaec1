"""Stand-in for PaddleOCR's tools/infer/predict_rec.py, written for the tests: the CTC text recogniser alone, with
Paddle Inference, processing as the real script does where that differs from the stand-in service
(deploy/pdserving/web_service_rec.py): --rec_image_shape, the images recognised in batches of --rec_batch_num
sorted by width, each batch padded to its widest (at least the shape's width), the character list
--rec_char_dict_path. TextRecognizer is what predict_system.py runs. It answers as the real one does where the
harness reads it: no file, a ppocr log line per image, `Predicts of <image>:('<text>', <score>)`."""
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
from ppocr.utils.logging import get_logger  # noqa: E402
from ppocr.utils.utility import check_and_read, get_image_file_list  # noqa: E402


class TextRecognizer(object):
    def __init__(self, args):
        self.image_shape = [int(v) for v in args.rec_image_shape.split(",")]
        self.batch_num = args.rec_batch_num
        self.reader = OCRReader(image_shape=self.image_shape, char_dict_path=args.rec_char_dict_path)
        self.predictor, self.input, self.outputs = utility.create_predictor(args, args.rec_model_dir)

    def __call__(self, img_list):
        """([(text, score)] per image, seconds): batches of rec_batch_num sorted by width, each padded to its widest."""
        start = time.time()
        results = [("", 0.0)] * len(img_list)
        order = np.argsort(np.array([img.shape[1] / float(img.shape[0]) for img in img_list]))
        _, height, width = self.image_shape
        for begin in range(0, len(img_list), self.batch_num):
            batch = order[begin:begin + self.batch_num]
            max_wh_ratio = width / float(height)
            for index in batch:
                max_wh_ratio = max(max_wh_ratio, img_list[index].shape[1] / float(img_list[index].shape[0]))
            data = np.stack([self.reader.resize_norm_img(img_list[index], max_wh_ratio) for index in batch])
            self.input.copy_from_cpu(data.astype("float32"))
            self.predictor.run()
            decoded = self.reader.postprocess({"x": self.outputs[0].copy_to_cpu()}, with_score=True)
            for index, answer in zip(batch, decoded):
                results[index] = (answer[0], float(answer[1]))
        return results, time.time() - start


def main(args):
    image_file_list = get_image_file_list(args.image_dir)
    log_file = args.save_log_path
    if os.path.isdir(args.save_log_path) or (not os.path.exists(args.save_log_path)
                                             and args.save_log_path.endswith("/")):
        log_file = os.path.join(log_file, "benchmark_recognition.log")
    logger = get_logger(log_file=log_file)
    text_recognizer = TextRecognizer(args)
    valid_image_file_list, img_list = [], []
    for image_file in image_file_list:
        img, flag, _ = check_and_read(image_file)
        img = cv2.imread(image_file)
        if img is None:
            logger.info("error in loading image:{}".format(image_file))
            continue
        valid_image_file_list.append(image_file)
        img_list.append(img)
    rec_res, _ = text_recognizer(img_list)
    for ino in range(len(img_list)):
        logger.info("Predicts of {}:{}".format(valid_image_file_list[ino], rec_res[ino]))


if __name__ == "__main__":
    main(utility.parse_args())
