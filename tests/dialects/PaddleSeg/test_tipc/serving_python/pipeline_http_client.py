"""Stand-in for PaddleSeg's test_tipc/serving_python/pipeline_http_client.py (written for these tests):
--img_path, --input_name (x, the request's key); it posts the image with logid 10000 to
http://127.0.0.1:18080/seg/prediction and prints the reply as a dict (`print(r.json())`)."""
import argparse
import base64
import json

import cv2  # noqa: F401  (the real client imports it)
import requests


def parse_args():
    parser = argparse.ArgumentParser(description="Test")
    parser.add_argument("--img_path", type=str, help="the image to send")
    parser.add_argument("--input_name", type=str, default="x", help="the request's key")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    with open(args.img_path, "rb") as image:
        encoded = base64.b64encode(image.read()).decode("utf8")
    payload = {"key": [args.input_name], "value": [encoded], "logid": 10000}
    print(requests.post(url="http://127.0.0.1:18080/seg/prediction", data=json.dumps(payload)).json())
