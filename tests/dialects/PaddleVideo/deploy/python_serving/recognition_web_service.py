"""Stand-in for PaddleVideo's recognition_web_service.py: -n/--name (the model), -c/--config; the service
"video"."""
import argparse
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("-n", "--name", default="PPTSM")
parser.add_argument("-c", "--config", default="configs/PP-TSM.yaml")
args = parser.parse_args()
standin.serve(standin.load_config(args.config), "video",
              lambda body: (["label", "prob"], ["['archery']", "[0.99]"]))
