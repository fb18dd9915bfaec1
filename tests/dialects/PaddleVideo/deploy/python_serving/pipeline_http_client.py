"""Stand-in for PaddleVideo's pipeline_http_client.py: -c/--config, -ptn/--port_number, -i/--input_file."""
import argparse
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("-c", "--config", default="configs/PP-TSM.yaml")
parser.add_argument("-ptn", "--port_number", type=int)
parser.add_argument("-i", "--input_file")
args = parser.parse_args()
port = args.port_number or standin.load_config(args.config)["http_port"]
print(standin.post(port, "video", standin.files(args.input_file), key="video"))
