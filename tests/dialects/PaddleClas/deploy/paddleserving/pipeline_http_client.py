"""Stand-in for PaddleClas's pipeline_http_client.py: no options; it sends its built-in image (./daisy.jpg)
and prints the reply dict: labels and scores. (The real one has port 18080 built in; this one reads
config.yml, so that the tests can use free ports.)"""
import argparse
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

argparse.ArgumentParser().parse_args()
port = standin.load_config("config.yml")["http_port"]
for _ in range(2):
    print(standin.post(port, "imagenet", ["./daisy.jpg"]))
