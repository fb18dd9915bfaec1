"""Stand-in for PaddleDetection's pipeline_http_client.py: --image_file or --image_dir, --http_port (here
read from config.yml by default), --service_name (ppdet)."""
import argparse
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--image_file")
parser.add_argument("--image_dir")
parser.add_argument("--http_port", type=int)
parser.add_argument("--service_name", default="ppdet")
args = parser.parse_args()
port = args.http_port or standin.load_config("deploy/serving/python/config.yml")["http_port"]
for path in standin.files(args.image_file or args.image_dir):
    print(standin.post(port, args.service_name, [path]))
