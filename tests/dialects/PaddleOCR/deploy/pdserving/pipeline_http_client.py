"""Stand-in for PaddleOCR's pipeline_http_client.py: --image_dir (a file or a folder), one request per
image, each reply printed."""
import argparse
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--image_dir", default="../../doc/imgs/")
args = parser.parse_args()
port = standin.load_config("config.yml")["http_port"]
for path in standin.files(args.image_dir):
    print(standin.post(port, "ocr", [path]))
