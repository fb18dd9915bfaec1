"""Stand-in for PaddleDetection's tools/export_model.py, written for the tests. The same command line
(-c CONFIG, -o KEY=VALUE ... with weights= and filename=, --output_dir, --export_serving_model, --slim_config)
and the same output: <output_dir>/<filename's stem>/ with model.pdmodel, model.pdiparams and infer_cfg.yml,
and with --export_serving_model True also serving_server/ and serving_client/, converted by
paddle_serving_client.io.inference_model_to_serving as the real export converts them. The model is the tiny
detector of ppdet/tiny_yolo.py with the weights file loaded (path with or without .pdparams), exported with
paddle.jit.to_static and paddle.jit.save on the CPU: feeds image, im_shape and scale_factor; fetches the NMS
boxes [N, 6] and the box count."""
import argparse
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# infer_cfg.yml's arch for an architecture, and its TensorRT minimum subgraph size (as the real export's table).
TRT_MIN_SUBGRAPH = {"YOLO": 3}


def parse_args():
    parser = argparse.ArgumentParser(formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", help="configuration file to use")
    parser.add_argument("-o", "--opt", nargs="*", help="set configuration options")
    parser.add_argument("--output_dir", type=str, default="output_inference")
    parser.add_argument("--export_serving_model", type=bool, default=False)  # any non-empty word is True
    parser.add_argument("--slim_config", default=None, type=str)
    parser.add_argument("--for_fd", action="store_true")
    args = parser.parse_args()
    assert args.config is not None, "Please specify --config=configure_file_path."
    return args


def load_config(path, options):
    with open(path) as handle:
        config = yaml.safe_load(handle)
    config["filename"] = path
    for option in options or []:
        key, value = option.strip().split("=", 1)
        config[key] = yaml.safe_load(value)
    return config


def load_weights(model, path):
    import paddle

    path = path[:-len(".pdparams")] if path.endswith(".pdparams") else path
    if not os.path.isfile(path + ".pdparams"):
        raise ValueError("Model pretrain path {}.pdparams does not exists.".format(path))
    model.set_state_dict(paddle.load(path + ".pdparams"))


def infer_config(config):
    """infer_cfg.yml: what deploy/serving/python/web_service.py reads (arch, Preprocess, label_list...)."""
    arch = next(name for name in TRT_MIN_SUBGRAPH if name in config["architecture"])
    reader = config["TestReader"]
    preprocess = [dict(transform, type=name) for step in reader["sample_transforms"]
                  for name, transform in step.items() if name != "Decode"]
    return {"mode": "paddle", "draw_threshold": 0.5, "metric": config["metric"], "use_dynamic_shape": False,
            "arch": arch, "min_subgraph_size": TRT_MIN_SUBGRAPH[arch], "Preprocess": preprocess,
            "label_list": config["label_list"]}


def main():
    import paddle
    from paddle.static import InputSpec
    from ppdet.tiny_yolo import build

    paddle.set_device("cpu")
    args = parse_args()
    config = load_config(args.config, args.opt)
    model = build(config)
    load_weights(model, config["weights"])
    model.eval()
    model_name = os.path.splitext(os.path.split(config["filename"])[-1])[0]
    save_dir = os.path.join(args.output_dir, model_name)
    os.makedirs(save_dir, exist_ok=True)
    shape = config["TestReader"]["inputs_def"]["image_shape"]
    spec = [InputSpec([None] + shape, "float32", name="image"), InputSpec([None, 2], "float32", name="im_shape"),
            InputSpec([None, 2], "float32", name="scale_factor")]
    paddle.jit.save(paddle.jit.to_static(model, input_spec=spec), os.path.join(save_dir, "model"))
    with open(os.path.join(save_dir, "infer_cfg.yml"), "w") as handle:
        yaml.safe_dump(infer_config(config), handle, default_flow_style=None, sort_keys=False)
    print("Export model and saved in {}".format(save_dir))
    if args.export_serving_model:
        from paddle_serving_client.io import inference_model_to_serving

        inference_model_to_serving(dirname=save_dir, serving_server=os.path.join(save_dir, "serving_server"),
                                   serving_client=os.path.join(save_dir, "serving_client"),
                                   model_filename="model.pdmodel", params_filename="model.pdiparams")


if __name__ == "__main__":
    main()
