"""Stand-in for PaddleClas's classification_web_service.py: no options at all; it reads config.yml from its
folder, which PaddleClas's TIPC script edits in place."""
import argparse
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

argparse.ArgumentParser().parse_args()
standin.serve(standin.load_config("config.yml"), "imagenet",
              lambda body: (["label", "prob"], [str(["daisy"] * len(body["value"])), str([0.93] * len(body["value"]))]))
