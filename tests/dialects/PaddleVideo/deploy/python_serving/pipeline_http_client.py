"""Stand-in for PaddleVideo's deploy/python_serving/pipeline_http_client.py (written for these tests):
-c/--config (unused, as in the real one), -ptn/--port_number (18080), -i/--input_file (a video or a folder
of .avi/.mp4). Each video is decoded to frames and posted as "frames" and "frames_shape" to
/video/prediction; each reply is printed as a dict (`print(r.json())`)."""
import argparse
import json

import requests

from utils import numpy_to_base64, parse_file_paths, video_to_numpy


def parse_args():
    parser = argparse.ArgumentParser("PaddleVideo Web Serving model script")
    parser.add_argument("-c", "--config", type=str, default="configs/PP-TSM.yaml", help="serving config file")
    parser.add_argument("-ptn", "--port_number", type=int, default=18080, help="http port number")
    parser.add_argument("-i", "--input_file", type=str, help="input file path or directory path")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    url = "http://127.0.0.1:{}/video/prediction".format(args.port_number)
    for path in parse_file_paths(args.input_file):
        frames = video_to_numpy(file_path=path)
        payload = {"key": ["frames", "frames_shape"], "value": [numpy_to_base64(frames), str(frames.shape)]}
        print(requests.post(url=url, data=json.dumps(payload), timeout=100).json())
