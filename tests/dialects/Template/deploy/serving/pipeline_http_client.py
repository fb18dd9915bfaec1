"""Stand-in for the models template's pipeline_http_client.py: --img_dir."""
import argparse
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--img_dir")
args = parser.parse_args()
print(standin.post(standin.load_config("config.yml")["http_port"], "tipc_example", standin.files(args.img_dir)))
