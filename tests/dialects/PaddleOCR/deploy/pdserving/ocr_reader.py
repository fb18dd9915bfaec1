"""Stand-in for PaddleOCR's deploy/pdserving/ocr_reader.py, written for the tests: what web_service.py takes
from it (DetResizeForTest, OCRReader, ArgsParser), with the real one's behaviour where it shapes the answers:
the detector's long-side resize to 960 in steps of 128, the recogniser's 48-pixel-high crops normalised to
[-1, 1], a CTC decode whose score is the mean of the kept characters' probabilities, and Paddle Serving's
-c/--config -o/--opt command line (values "True"/"False" and digits typed, everything else a string)."""
import math
from argparse import ArgumentParser, RawDescriptionHelpFormatter

import cv2
import numpy as np
import yaml


class DetResizeForTest(object):
    """DetResizeForTest() as the web service builds it, without arguments: the longer side becomes
    resize_long, then both sides are rounded up to a multiple of 128."""

    STRIDE = 128

    def __init__(self, resize_long=960):
        self.resize_long = resize_long

    def __call__(self, image):
        height, width = image.shape[:2]
        ratio = float(self.resize_long) / max(height, width)
        new_h = self._stride_up(int(height * ratio))
        new_w = self._stride_up(int(width * ratio))
        return cv2.resize(image, (new_w, new_h))

    def _stride_up(self, size):
        return (size + self.STRIDE - 1) // self.STRIDE * self.STRIDE


class OCRReader(object):
    """The recogniser's crop normalisation and its CTC decode over the character list: index 0 is the CTC
    blank, the list's characters follow, then a space."""

    def __init__(self, algorithm="CRNN", image_shape=(3, 48, 320), char_type="ch", batch_num=1,
                 char_dict_path="./ppocr_keys_v1.txt"):
        self.rec_image_shape = list(image_shape)
        self.character_type = char_type
        with open(char_dict_path, "rb") as handle:
            characters = [line.decode("utf-8").strip("\r\n") for line in handle]
        self.characters = ["blank"] + list("".join(characters) + " ")

    def resize_norm_img(self, img, max_wh_ratio):
        channels, height, width = self.rec_image_shape
        if self.character_type == "ch":
            width = int(height * max_wh_ratio)
        resized_w = min(width, int(math.ceil(height * img.shape[1] / float(img.shape[0]))))
        resized = cv2.resize(img, (resized_w, height)).astype("float32")
        resized = (resized.transpose((2, 0, 1)) / 255 - 0.5) / 0.5
        padded = np.zeros((channels, height, width), dtype=np.float32)
        padded[:, :, :resized_w] = resized
        return padded

    def postprocess(self, outputs, with_score=False):
        """[(text, score)] per crop, from the first fetch ([crops, steps, classes] probabilities)."""
        preds = list(outputs.values())[0]
        if hasattr(preds, "numpy"):
            preds = preds.numpy()
        results = []
        for indices, probs in zip(preds.argmax(axis=2), preds.max(axis=2)):
            text, scores = [], []
            for step, index in enumerate(indices):
                if index == 0 or (step > 0 and indices[step - 1] == index):
                    continue  # the blank, or a repeat CTC collapses
                text.append(self.characters[int(index)])
                scores.append(probs[step])
            results.append(("".join(text), np.mean(scores)))
        return results


class ArgsParser(ArgumentParser):
    """-c/--config FILE and -o/--opt KEY=VALUE ...; parse_args() adds conf_dict, the config with the options
    applied, and prints each option and the result as the real one does."""

    def __init__(self):
        super(ArgsParser, self).__init__(formatter_class=RawDescriptionHelpFormatter)
        self.add_argument("-c", "--config", help="configuration file to use")
        self.add_argument("-o", "--opt", nargs="+", help="set configuration options")

    def parse_args(self, argv=None):
        args = super(ArgsParser, self).parse_args(argv)
        assert args.config is not None, "Please specify --config=configure_file_path."
        args.conf_dict = self._apply(args.opt or [], args.config)
        print("args config:", args.conf_dict)
        return args

    @staticmethod
    def _typed(value):
        if value.isnumeric():  # digits only: "1.5" stays a string, as in the real parser
            return int(value)
        if value in ("True", "False"):
            return value == "True"
        return value

    def _apply(self, options, path):
        with open(path) as handle:
            config = yaml.load(handle, Loader=yaml.Loader)
        for option in options:
            key, value = option.strip().split("=")
            value = self._typed(value)
            print(key, value, type(value))
            *parents, leaf = key.split(".")
            node = config
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return config
