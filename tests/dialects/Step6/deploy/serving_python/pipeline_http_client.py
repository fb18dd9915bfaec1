"""Stand-in for Step6's deploy/serving_python/pipeline_http_client.py (written for these tests):
--image_dir (default ../../images/demo.jpg), a FOLDER: it posts every file in it (os.listdir order), logid
10000, to http://127.0.0.1:18093/imagenet/prediction and prints each reply as a dict (`print(r.json())`)."""
import argparse
import base64
import json
import os

import cv2  # noqa: F401  (the real client imports it)
import requests

parser = argparse.ArgumentParser(description="args for paddleserving")
parser.add_argument("--image_dir", type=str, default="../../images/demo.jpg")
args = parser.parse_args()

if __name__ == "__main__":
    for name in os.listdir(args.image_dir):
        with open(os.path.join(args.image_dir, name), "rb") as image:
            encoded = base64.b64encode(image.read()).decode("utf8")
        payload = {"key": ["image"], "value": [encoded], "logid": 10000}
        print(requests.post(url="http://127.0.0.1:18093/imagenet/prediction", data=json.dumps(payload)).json())
