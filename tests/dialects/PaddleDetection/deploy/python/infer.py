"""Stand-in for PaddleDetection's deploy/python/infer.py, written for the tests: an exported detector
(model.pdmodel, model.pdiparams, infer_cfg.yml in --model_dir) run by Paddle Inference on --image_file (or the
images of --image_dir), as the real script does where its answers come from: the image decoded by cv2 and turned
to RGB, infer_cfg.yml's Preprocess, the model's NMS boxes [class, score, x1, y1, x2, y2]; with --save_images (its
default) each box above --threshold printed (`class_id:..., confidence:..., left_top:[...],right_bottom:[...]`)
and drawn, then `save result to: <output_dir>/<image name>`."""
import glob
import math
import os
import sys

import numpy as np
import paddle
import yaml
from paddle.inference import Config, create_predictor

# add deploy path of PaddleDetection to sys.path
sys.path.insert(0, os.path.abspath(os.path.join(__file__, "..")))

from preprocess import preprocess, Resize, NormalizeImage, Permute  # noqa: E402,F401 (eval'd by name)
from utils import argsparser, Timer  # noqa: E402
from visualize import visualize_box_mask  # noqa: E402


class PredictConfig(object):
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "infer_cfg.yml")) as f:
            yml_conf = yaml.safe_load(f)
        self.arch = yml_conf["arch"]
        self.preprocess_infos = yml_conf["Preprocess"]
        self.labels = yml_conf["label_list"]
        self.print_config()

    def print_config(self):
        print("-----------  Model Configuration -----------")
        print("%s: %s" % ("Model Arch", self.arch))
        print("%s: " % ("Transform Order"))
        for op_info in self.preprocess_infos:
            print("--%s: %s" % ("transform op", op_info["type"]))
        print("--------------------------------------------")


def load_predictor(model_dir, device="CPU", cpu_threads=1, enable_mkldnn=False):
    config = Config(os.path.join(model_dir, "model.pdmodel"), os.path.join(model_dir, "model.pdiparams"))
    if device == "GPU":
        config.enable_use_gpu(200, 0)
        config.switch_ir_optim(True)
    else:
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(cpu_threads)
        if enable_mkldnn:
            config.set_mkldnn_cache_capacity(10)
            config.enable_mkldnn()
    config.disable_glog_info()
    config.enable_memory_optim()
    config.switch_use_feed_fetch_ops(False)
    return create_predictor(config), config


class Detector(object):
    def __init__(self, model_dir, device="CPU", run_mode="paddle", batch_size=1, cpu_threads=1, enable_mkldnn=False,
                 output_dir="output", threshold=0.5):
        if device != "GPU" and run_mode != "paddle":
            raise ValueError("Predict by TensorRT mode: {}, expect device=='GPU', but device == {}".format(
                run_mode, device))
        self.pred_config = PredictConfig(model_dir)
        self.predictor, self.config = load_predictor(model_dir, device, cpu_threads, enable_mkldnn)
        self.det_times = Timer()
        self.batch_size, self.output_dir, self.threshold = batch_size, output_dir, threshold

    def preprocess(self, image_list):
        ops = []
        for op_info in self.pred_config.preprocess_infos:
            info = dict(op_info)
            ops.append(eval(info.pop("type"))(**info))
        ims, infos = zip(*[preprocess(path, ops) for path in image_list])
        inputs = {"image": np.stack(ims).astype("float32"),
                  "im_shape": np.stack([i["im_shape"] for i in infos]).astype("float32"),
                  "scale_factor": np.stack([i["scale_factor"] for i in infos]).astype("float32")}
        for name in self.predictor.get_input_names():
            self.predictor.get_input_handle(name).copy_from_cpu(inputs[name])
        return inputs

    def predict(self):
        self.predictor.run()
        names = self.predictor.get_output_names()
        boxes = self.predictor.get_output_handle(names[0]).copy_to_cpu()
        boxes_num = self.predictor.get_output_handle(names[1]).copy_to_cpu() if len(names) > 1 else \
            np.array([len(boxes)])
        return {"boxes": boxes, "boxes_num": boxes_num}

    def predict_image(self, image_list, visual=True):
        for i in range(math.ceil(float(len(image_list)) / self.batch_size)):
            batch = image_list[i * self.batch_size:(i + 1) * self.batch_size]
            self.det_times.start()
            self.preprocess(batch)
            result = self.predict()
            self.det_times.end()
            self.det_times.img_num += len(batch)
            if visual:
                visualize(batch, result, self.pred_config.labels, self.output_dir, self.threshold)
            print("Test iter {}".format(i))


def get_test_images(infer_dir, infer_img):
    assert infer_img is not None or infer_dir is not None, "--image_file or --image_dir should be set"
    assert infer_img is None or os.path.isfile(infer_img), "{} is not a file".format(infer_img)
    if infer_img and os.path.isfile(infer_img):
        return [infer_img]
    images = set()
    for ext in ["jpg", "jpeg", "png", "bmp", "JPG", "JPEG", "PNG", "BMP"]:
        images.update(glob.glob("{}/*.{}".format(os.path.abspath(infer_dir), ext)))
    images = list(images)
    assert len(images) > 0, "no image found in {}".format(infer_dir)
    print("Found {} inference images in total.".format(len(images)))
    return images


def visualize(image_list, result, labels, output_dir="output/", threshold=0.5):
    start_idx = 0
    for idx, image_file in enumerate(image_list):
        count = result["boxes_num"][idx]
        im = visualize_box_mask(image_file, {"boxes": result["boxes"][start_idx:start_idx + count, :]}, labels,
                                threshold=threshold)
        start_idx += count
        if not os.path.exists(output_dir):
            os.makedirs(output_dir)
        out_path = os.path.join(output_dir, os.path.split(image_file)[-1])
        im.save(out_path, quality=95)
        print("save result to: " + out_path)


def print_arguments(args):
    print("-----------  Running Arguments -----------")
    for arg, value in sorted(vars(args).items()):
        print("%s: %s" % (arg, value))
    print("------------------------------------------")


def main():
    detector = Detector(FLAGS.model_dir, device=FLAGS.device, run_mode=FLAGS.run_mode, batch_size=FLAGS.batch_size,
                        cpu_threads=FLAGS.cpu_threads, enable_mkldnn=FLAGS.enable_mkldnn, output_dir=FLAGS.output_dir,
                        threshold=FLAGS.threshold)
    if FLAGS.image_dir is None and FLAGS.image_file is not None:
        assert FLAGS.batch_size == 1, "batch_size should be 1, when image_file is not None"
    img_list = get_test_images(FLAGS.image_dir, FLAGS.image_file)
    detector.predict_image(img_list, visual=FLAGS.save_images)
    detector.det_times.info(average=True)


if __name__ == "__main__":
    paddle.enable_static()
    parser = argsparser()
    FLAGS = parser.parse_args()
    print_arguments(FLAGS)
    FLAGS.device = FLAGS.device.upper()
    assert FLAGS.device in ["CPU", "GPU", "XPU", "NPU", "MLU"], "device should be CPU, GPU, XPU, MLU or NPU"
    assert not FLAGS.use_gpu, "use_gpu has been deprecated, please use --device"
    main()
