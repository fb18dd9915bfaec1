"""Stand-in for PaddleClas's deploy/python/predict_cls.py, written for the tests: run from deploy/ as
`python python/predict_cls.py -c configs/inference_cls.yaml -o Key.sub=value ...`. As the real one: each image
read with cv2 and turned to RGB (img[:, :, ::-1]), the yaml's PreProcess transform_ops (ResizeImage
resize_short with cv2's bilinear resize, CropImage from the centre, NormalizeImage with scale, mean, std in HWC
order, ToCHWImage), Paddle Inference on <inference_model_dir>/inference.pdmodel and .pdiparams, PostProcess
Topk (scores rounded to 5 decimals, labels from class_id_map_file's `<id> <label>` lines) and one line per image:
`<name>:\tclass id(s): [...], score(s): [...], label_name(s): [...]`, the scores printed with 2 decimals."""
import argparse
import os

import cv2
import numpy as np
import yaml

from paddle.inference import Config, create_predictor


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", type=str, default="configs/inference_cls.yaml")
    parser.add_argument("-o", "--override", action="append", default=[], help="Key.sub=value")
    return parser.parse_args()


def get_config(path, overrides):
    with open(path) as stream:
        config = yaml.safe_load(stream)
    for item in overrides:
        keys, value = item.split("=", 1)
        node = config
        for key in keys.split(".")[:-1]:
            node = node.setdefault(key, {})
        node[keys.split(".")[-1]] = yaml.safe_load(value) if value else value
    return config


class ResizeImage(object):
    def __init__(self, resize_short=None, size=None, interpolation=None, backend="cv2"):
        self.resize_short, self.size = resize_short, size

    def __call__(self, img):
        img_h, img_w = img.shape[:2]
        if self.resize_short:
            percent = float(self.resize_short) / min(img_w, img_h)
            w, h = int(round(img_w * percent)), int(round(img_h * percent))
        else:
            w, h = (self.size, self.size) if isinstance(self.size, int) else self.size
        return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)


class CropImage(object):
    def __init__(self, size):
        self.size = (size, size) if isinstance(size, int) else size

    def __call__(self, img):
        w, h = self.size
        img_h, img_w = img.shape[:2]
        w_start, h_start = (img_w - w) // 2, (img_h - h) // 2
        return img[h_start:h_start + h, w_start:w_start + w, :]


class NormalizeImage(object):
    def __init__(self, scale=None, mean=None, std=None, order="chw", channel_num=3):
        self.scale = np.float32(eval(scale) if isinstance(scale, str) else (scale or 1.0 / 255.0))
        shape = (3, 1, 1) if order == "chw" else (1, 1, 3)
        self.mean = np.array(mean or [0.485, 0.456, 0.406]).reshape(shape).astype("float32")
        self.std = np.array(std or [0.229, 0.224, 0.225]).reshape(shape).astype("float32")

    def __call__(self, img):
        return ((img.astype("float32") * self.scale - self.mean) / self.std).astype("float32")


class ToCHWImage(object):
    def __call__(self, img):
        return img.transpose((2, 0, 1))


def create_operators(params):
    return [globals()[name](**(args or {})) for op in params for name, args in op.items()]


class Topk(object):
    def __init__(self, topk=1, class_id_map_file=None, delimiter=None):
        self.topk, self.class_id_map = topk, None
        if class_id_map_file and os.path.exists(class_id_map_file):
            with open(class_id_map_file) as labels:
                partitions = (line.split("\n")[0].partition(delimiter or " ") for line in labels)
                self.class_id_map = {int(p[0]): str(p[-1]) for p in partitions}

    def __call__(self, x):
        results = []
        for probs in x:
            index = probs.argsort(axis=0)[-self.topk:][::-1].astype("int32")
            result = {"class_ids": [i.item() for i in index],
                      "scores": np.around([probs[i].item() for i in index], decimals=5).tolist()}
            if self.class_id_map is not None:
                result["label_names"] = [self.class_id_map[i.item()] for i in index]
            results.append(result)
        return results


def create_predictor_of(args):
    model_dir = args["inference_model_dir"]
    config = Config(os.path.join(model_dir, "inference.pdmodel"), os.path.join(model_dir, "inference.pdiparams"))
    if args.get("use_gpu", False):
        config.enable_use_gpu(args.get("gpu_mem", 8000), 0)
    else:
        config.disable_gpu()
        if args.get("enable_mkldnn", False):
            config.set_mkldnn_cache_capacity(10)
            config.enable_mkldnn()
    config.set_cpu_math_library_num_threads(args.get("cpu_num_threads", 1))
    config.disable_glog_info()
    config.switch_ir_optim(args.get("ir_optim", True))
    config.enable_memory_optim()
    config.switch_use_feed_fetch_ops(False)
    return create_predictor(config)


def image_list(path):
    ends = ("jpg", "png", "jpeg", "JPEG", "JPG", "bmp")
    if os.path.isfile(path) and path.split(".")[-1] in ends:
        return [path]
    found = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names
             if name.split(".")[-1] in ends]
    if not found:
        raise Exception("not found any img file in {}".format(path))
    return sorted(found)


def main(config):
    predictor = create_predictor_of(config["Global"])
    ops = create_operators(config["PreProcess"]["transform_ops"])
    topk = Topk(**config["PostProcess"]["Topk"])
    feed = predictor.get_input_handle(predictor.get_input_names()[0])
    fetch = predictor.get_output_handle(predictor.get_output_names()[0])
    for path in image_list(config["Global"]["infer_imgs"]):
        img = cv2.imread(path)[:, :, ::-1]
        for op in ops:
            img = op(img)
        feed.copy_from_cpu(np.array([img]))
        predictor.run()
        result = topk(fetch.copy_to_cpu())[0]
        scores_str = "[{}]".format(", ".join("{:.2f}".format(r) for r in result["scores"]))
        print("{}:\tclass id(s): {}, score(s): {}, label_name(s): {}".format(
            os.path.basename(path), result["class_ids"], scores_str, result.get("label_names", [])))


if __name__ == "__main__":
    args = parse_args()
    main(get_config(args.config, args.override))
