"""Stand-in for the models repository's tutorials/mobilenetv3_prod/Step6/deploy/inference_python/infer.py
(written for these tests): Paddle Inference on one image, as the real script runs it.

Options as the real one's (argparse, `--flag=value` or `--flag value`): --model-dir (it loads
<model-dir>/inference.pdmodel and inference.pdiparams), --use-gpu, --batch-size (1 only), --resize-size (256),
--crop-size (224), --img-path (./images/demo.jpg), --benchmark (imports auto_log, as the real one does),
--warmup. It reads the image with PIL as RGB, resizes, crops, normalises (preprocess_ops.py beside it), runs the
first output and prints `image_name: <img-path>, class_id: <argmax>, prob: <its score>`.
"""
import argparse
import os

import numpy as np
from paddle import inference
from PIL import Image

from preprocess_ops import CenterCropImage, Compose, NormalizeImage, ResizeImage, ToCHW


def str2bool(text):
    return text.lower() in ("true", "t", "1")


def get_args():
    parser = argparse.ArgumentParser(description="PaddlePaddle Classification Training")
    parser.add_argument("--model-dir", default=None, help="inference model dir")
    parser.add_argument("--use-gpu", default=False, type=str2bool, help="use_gpu")
    parser.add_argument("--max-batch-size", default=16, type=int, help="max_batch_size")
    parser.add_argument("--batch-size", default=1, type=int, help="batch size")
    parser.add_argument("--resize-size", default=256, type=int, help="resize_size")
    parser.add_argument("--crop-size", default=224, type=int, help="crop_szie")
    parser.add_argument("--img-path", default="./images/demo.jpg")
    parser.add_argument("--benchmark", default=False, type=str2bool, help="benchmark")
    parser.add_argument("--warmup", default=0, type=int, help="warmup iter")
    return parser.parse_args()


def predictor_of(args):
    config = inference.Config(os.path.join(args.model_dir, "inference.pdmodel"),
                              os.path.join(args.model_dir, "inference.pdiparams"))
    if args.use_gpu:
        config.enable_use_gpu(1000, 0)
    else:
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(4)
    config.enable_memory_optim()
    config.disable_glog_info()
    config.switch_use_feed_fetch_ops(False)
    config.switch_ir_optim(True)
    return inference.create_predictor(config)


def infer_main(args):
    predictor = predictor_of(args)
    if args.benchmark:
        import auto_log  # noqa: F401  (the real script's benchmark logger; not installed here)
    assert args.batch_size == 1, "batch size just supports 1 now."
    transforms = Compose([ResizeImage(args.resize_size), CenterCropImage(args.crop_size), NormalizeImage(), ToCHW()])
    with open(args.img_path, "rb") as stream:
        image = Image.open(stream).convert("RGB")
    batch = np.expand_dims(transforms(image), axis=0).astype("float32")
    predictor.get_input_handle(predictor.get_input_names()[0]).copy_from_cpu(batch)
    predictor.run()
    scores = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu().flatten()
    class_id = scores.argmax()
    prob = scores[class_id]
    print(f"image_name: {args.img_path}, class_id: {class_id}, prob: {prob}")
    return class_id, prob


if __name__ == "__main__":
    infer_main(get_args())
