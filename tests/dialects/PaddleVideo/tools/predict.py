"""Stand-in for PaddleVideo's tools/predict.py (written for these tests): Paddle Inference on videos, as the real
script runs a recognition model (its other models' branches are left out).

Options as the real one's: -c/--config (the yaml whose INFERENCE section names the helper, tools/utils.py),
-o/--override, -i/--input_file (a video, or a folder's .avi and .mp4 files in os.listdir order), --model_file,
--params_file, -b/--batch_size, --use_gpu (default True), --precision, --ir_optim, --use_tensorrt, --gpu_mem,
--enable_benchmark (imports auto_log and runs the input 15 times without printing, as the real one does),
--enable_mkldnn, --cpu_threads, --disable_glog. It prints `Inference model(<model_name>)...`, then for each
video the helper's `Current video file:` and top-1 lines.
"""
import argparse
import os
from os import path as osp

from paddle.inference import Config, create_predictor

from utils import build_inference_helper
from paddlevideo.utils import get_config


def str2bool(text):
    return text.lower() in ("true", "t", "1")


def parse_args():
    parser = argparse.ArgumentParser("PaddleVideo Inference model script")
    parser.add_argument("-c", "--config", type=str, default="configs/example.yaml", help="config file path")
    parser.add_argument("-o", "--override", action="append", default=[], help="config options to be overridden")
    parser.add_argument("-i", "--input_file", type=str, help="input file path")
    parser.add_argument("--time_test_file", type=str2bool, default=False)
    parser.add_argument("--model_file", type=str)
    parser.add_argument("--params_file", type=str)
    parser.add_argument("-b", "--batch_size", type=int, default=1)
    parser.add_argument("--use_gpu", type=str2bool, default=True)
    parser.add_argument("--use_xpu", type=str2bool, default=False)
    parser.add_argument("--use_npu", type=str2bool, default=False)
    parser.add_argument("--precision", type=str, default="fp32")
    parser.add_argument("--ir_optim", type=str2bool, default=True)
    parser.add_argument("--use_tensorrt", type=str2bool, default=False)
    parser.add_argument("--gpu_mem", type=int, default=8000)
    parser.add_argument("--enable_benchmark", type=str2bool, default=False)
    parser.add_argument("--enable_mkldnn", type=str2bool, default=False)
    parser.add_argument("--cpu_threads", type=int, default=None)
    parser.add_argument("--disable_glog", type=str2bool, default=False)
    return parser.parse_args()


def create_paddle_predictor(args):
    config = Config(args.model_file, args.params_file)
    if args.use_gpu:
        config.enable_use_gpu(args.gpu_mem, 0)
    else:
        config.disable_gpu()
        if args.cpu_threads:
            config.set_cpu_math_library_num_threads(args.cpu_threads)
        if args.enable_mkldnn:
            config.set_mkldnn_cache_capacity(10)
            config.enable_mkldnn()
    config.switch_ir_optim(args.ir_optim)
    config.enable_memory_optim()
    config.switch_use_feed_fetch_ops(False)
    if args.disable_glog:
        config.disable_glog_info()
    return config, create_predictor(config)


def parse_file_paths(input_path):
    if osp.isfile(input_path):
        return [input_path]
    return [osp.join(input_path, name) for name in os.listdir(input_path) if name.endswith((".avi", ".mp4"))]


def main():
    args = parse_args()
    cfg = get_config(args.config, overrides=args.override, show=False)
    print(f"Inference model({cfg.model_name})...")
    helper = build_inference_helper(cfg.INFERENCE)
    _, predictor = create_paddle_predictor(args)
    inputs = [predictor.get_input_handle(name) for name in predictor.get_input_names()]
    outputs = [predictor.get_output_handle(name) for name in predictor.get_output_names()]
    files = parse_file_paths(args.input_file)
    if args.enable_benchmark:
        import auto_log  # noqa: F401  (the real script's benchmark logger; not installed here)
        files = [args.input_file for _ in range(15)]
    for start in range(0, len(files), args.batch_size):
        batch = helper.preprocess_batch(files[start:start + args.batch_size])
        for tensor, data in zip(inputs, batch):
            tensor.copy_from_cpu(data)
        predictor.run()
        helper.postprocess([tensor.copy_to_cpu() for tensor in outputs], not args.enable_benchmark)


if __name__ == "__main__":
    main()
