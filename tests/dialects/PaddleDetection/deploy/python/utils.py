"""Stand-in for PaddleDetection's deploy/python/utils.py, written for the tests: the flags infer.py takes (those
TIPC's inference config passes and those that change its answers, with the real defaults) and its timer."""
import argparse
import ast
import time


def argsparser():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model_dir", type=str, default=None, required=True,
                        help="Directory with model.pdmodel, model.pdiparams and infer_cfg.yml (tools/export_model.py).")
    parser.add_argument("--image_file", type=str, default=None, help="Path of image file.")
    parser.add_argument("--image_dir", type=str, default=None, help="Dir of image file, `image_file` has a higher priority.")
    parser.add_argument("--batch_size", type=int, default=1, help="batch_size for inference.")
    parser.add_argument("--threshold", type=float, default=0.5, help="Threshold of score.")
    parser.add_argument("--output_dir", type=str, default="output", help="Directory of output visualization files.")
    parser.add_argument("--run_mode", type=str, default="paddle", help="mode of running(paddle/trt_fp32/trt_fp16/trt_int8)")
    parser.add_argument("--device", type=str, default="cpu", help="CPU/GPU/XPU/NPU, default is CPU.")
    parser.add_argument("--use_gpu", type=ast.literal_eval, default=False, help="Deprecated, please use `--device`.")
    parser.add_argument("--run_benchmark", type=ast.literal_eval, default=False, help="predict repeatedly for benchmark")
    parser.add_argument("--enable_mkldnn", type=ast.literal_eval, default=False, help="Whether use mkldnn with CPU.")
    parser.add_argument("--enable_mkldnn_bfloat16", type=ast.literal_eval, default=False, help="mkldnn bfloat16 on CPU.")
    parser.add_argument("--cpu_threads", type=int, default=1, help="Num of threads with CPU.")
    parser.add_argument("--save_images", type=ast.literal_eval, default=True, help="Save visualization image results.")
    parser.add_argument("--save_results", action="store_true", default=False, help="save results in coco format")
    return parser


class Timer(object):
    def __init__(self):
        self.start_time, self.total, self.img_num = 0.0, 0.0, 0

    def start(self):
        self.start_time = time.time()

    def end(self):
        self.total += time.time() - self.start_time

    def info(self, average=False):
        print("------------------ Inference Time Info ----------------------")
        print("total_time(ms): {}, img_num: {}".format(round(self.total * 1000, 1), self.img_num))
