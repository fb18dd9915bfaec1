"""Stand-in for PaddleSeg's deploy/python/infer.py, written for the tests: the exported model with Paddle
Inference, its preprocessing read from the export's deploy.yaml (Deploy: model, params, transforms; Normalize
with mean and std, on the RGB image scaled to [0, 1], as PaddleSeg's Compose does), and each image's label map
written as the real one writes it: <save_dir>/<image stem>.png, a palette image whose indices are the labels."""
import argparse
import os

import numpy as np
import yaml
from PIL import Image

from paddle import inference


def parse_args():
    parser = argparse.ArgumentParser(description="Test")
    parser.add_argument("--config", dest="cfg", type=str, required=True, help="the export's deploy.yaml")
    parser.add_argument("--image_path", type=str, required=True, help="an image, or a folder of images")
    parser.add_argument("--save_dir", type=str, default="./output")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="gpu")
    parser.add_argument("--enable_mkldnn", type=eval, choices=[True, False], default=False)
    parser.add_argument("--cpu_threads", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=1)
    parser.add_argument("--use_trt", type=eval, choices=[True, False], default=False)
    parser.add_argument("--precision", type=str, default="fp32")
    parser.add_argument("--benchmark", type=eval, choices=[True, False], default=False)
    parser.add_argument("--save_log_path", type=str, default="./log_output/")
    parser.add_argument("--model_name", type=str, default="")
    return parser.parse_args()


def transforms_of(deploy):
    def apply(image):
        data = image.astype("float32") / 255.0
        for step in deploy.get("transforms") or []:
            if step.get("type") == "Normalize":
                data = (data - np.array(step.get("mean", [0.5] * 3))) / np.array(step.get("std", [0.5] * 3))
            else:
                raise ValueError("this stand-in knows Normalize only, not {}".format(step.get("type")))
        return data.transpose((2, 0, 1)).astype("float32")
    return apply


def palette():
    colours = np.zeros((256, 3), np.uint8)
    for label in range(256):
        value, shift = label, 7
        while value:
            for channel in range(3):
                colours[label, channel] |= ((value >> channel) & 1) << shift
            value, shift = value >> 3, shift - 1
    return colours.flatten().tolist()


def main(args):
    folder = os.path.dirname(os.path.abspath(args.cfg))
    with open(args.cfg) as stream:
        deploy = yaml.safe_load(stream)["Deploy"]
    config = inference.Config(os.path.join(folder, deploy["model"]), os.path.join(folder, deploy["params"]))
    config.disable_gpu()
    config.set_cpu_math_library_num_threads(args.cpu_threads)
    if args.enable_mkldnn:
        config.enable_mkldnn()
    config.disable_glog_info()
    config.switch_ir_optim(True)
    predictor = inference.create_predictor(config)
    images = ([args.image_path] if os.path.isfile(args.image_path) else
              sorted(os.path.join(args.image_path, name) for name in os.listdir(args.image_path)))
    transform = transforms_of(deploy)
    os.makedirs(args.save_dir, exist_ok=True)
    for path in images:
        data = transform(np.array(Image.open(path).convert("RGB")))[np.newaxis].copy()
        predictor.get_input_handle(predictor.get_input_names()[0]).copy_from_cpu(data)
        predictor.run()
        label_map = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()[0]
        result = Image.fromarray(label_map.astype(np.uint8), mode="P")
        result.putpalette(palette())
        name = os.path.splitext(os.path.basename(path))[0] + ".png"
        result.save(os.path.join(args.save_dir, name))
        print("{}: label map saved as {}".format(path, os.path.join(args.save_dir, name)))


if __name__ == "__main__":
    main(parse_args())
