"""Stand-in for PaddleSeg's pipeline_http_client.py: --img_path and --input_name."""
import argparse
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--img_path")
parser.add_argument("--input_name", default="x")
args = parser.parse_args()
print(standin.post(standin.load_config("config.yml")["http_port"], "seg", [args.img_path], key=args.input_name))
