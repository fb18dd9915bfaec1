"""Stand-in for the Step6 pipeline_http_client.py: --image_dir only (no --url)."""
import argparse
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--image_dir", default="../../images/demo.jpg")
args = parser.parse_args()
print(standin.post(standin.load_config("config.yml")["http_port"], "imagenet", standin.files(args.image_dir)))
