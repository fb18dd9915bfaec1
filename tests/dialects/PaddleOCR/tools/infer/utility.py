"""Stand-in for PaddleOCR's tools/infer/utility.py, written for the tests: the command line of the inference
scripts (the flags the TIPC inference config passes, with the real parser's defaults, one add_argument a line as
the real one writes them) and a Paddle Inference predictor for a model folder."""
import argparse
import os

from paddle import inference


def str2bool(value):
    return value.lower() in ("true", "yes", "t", "y", "1")


def init_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--use_gpu", type=str2bool, default=True)
    parser.add_argument("--use_tensorrt", type=str2bool, default=False)
    parser.add_argument("--precision", type=str, default="fp32")
    parser.add_argument("--enable_mkldnn", type=str2bool, default=False)
    parser.add_argument("--cpu_threads", type=int, default=10)
    parser.add_argument("--benchmark", type=str2bool, default=False)
    parser.add_argument("--warmup", type=str2bool, default=False)
    parser.add_argument("--image_dir", type=str)
    parser.add_argument("--det_model_dir", type=str)
    parser.add_argument("--det_limit_side_len", type=float, default=960)
    parser.add_argument("--det_limit_type", type=str, default="max")
    parser.add_argument("--det_box_type", type=str, default="quad")
    parser.add_argument("--det_db_thresh", type=float, default=0.3)
    parser.add_argument("--det_db_box_thresh", type=float, default=0.6)
    parser.add_argument("--det_db_unclip_ratio", type=float, default=1.5)
    parser.add_argument("--max_batch_size", type=int, default=10)
    parser.add_argument("--rec_model_dir", type=str)
    parser.add_argument("--rec_image_shape", type=str, default="3, 48, 320")
    parser.add_argument("--rec_batch_num", type=int, default=6)
    parser.add_argument("--rec_char_dict_path", type=str, default="./ppocr/utils/ppocr_keys_v1.txt")
    parser.add_argument("--use_space_char", type=str2bool, default=True)
    parser.add_argument("--drop_score", type=float, default=0.5)
    parser.add_argument("--use_angle_cls", type=str2bool, default=False)
    parser.add_argument("--draw_img_save_dir", type=str, default="./inference_results")
    parser.add_argument("--save_log_path", type=str, default="./log_output/")
    return parser


def parse_args():
    return init_args().parse_args()


def create_predictor(args, model_dir):
    """(predictor, input handle, output handles) of model_dir/inference.pdmodel on the CPU (no GPU here)."""
    config = inference.Config(os.path.join(model_dir, "inference.pdmodel"),
                              os.path.join(model_dir, "inference.pdiparams"))
    config.disable_gpu()
    config.set_cpu_math_library_num_threads(args.cpu_threads)
    if args.enable_mkldnn:
        config.enable_mkldnn()
    config.enable_memory_optim()
    config.disable_glog_info()
    config.switch_use_feed_fetch_ops(False)
    config.switch_ir_optim(True)
    predictor = inference.create_predictor(config)
    inputs = predictor.get_input_handle(predictor.get_input_names()[0])
    outputs = [predictor.get_output_handle(name) for name in predictor.get_output_names()]
    return predictor, inputs, outputs
