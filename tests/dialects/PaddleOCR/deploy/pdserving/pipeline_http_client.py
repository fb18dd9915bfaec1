"""Stand-in for PaddleOCR's deploy/pdserving/pipeline_http_client.py, written for the tests: --image_dir (an
image file, or a folder whose image files are all sent), --det and --rec, one request per image, and the
real client's output line for line: "**********<path>**********", then "erro_no:<n>, err_msg:<text>", then
one "<(text, score)>, <box>" line per text read (or the raw value and "No results" when it is not a list),
and at the end "==> total number of test imgs:  <n>". One difference: the real client posts to port 9998
(its config.yml's http_port); this one reads http_port from config.yml, whose port the tests choose."""
import argparse
import ast
import base64
import json
import os

import requests
import yaml

IMAGE_ENDINGS = ("jpg", "bmp", "png", "jpeg", "rgb", "tif", "tiff", "gif")


def str2bool(text):
    return text.lower() in ("true", "t", "1")


def is_image(path):
    return os.path.isfile(path) and path.lower().endswith(IMAGE_ENDINGS)


parser = argparse.ArgumentParser(description="args for paddleserving")
parser.add_argument("--image_dir", type=str, default="../../doc/imgs/")
parser.add_argument("--det", type=str2bool, default=True)
parser.add_argument("--rec", type=str2bool, default=True)
args = parser.parse_args()

with open("config.yml") as handle:
    url = "http://127.0.0.1:{}/ocr/prediction".format(yaml.safe_load(handle)["http_port"])

if is_image(args.image_dir):
    images = [args.image_dir]
elif os.path.isdir(args.image_dir):
    images = [path for path in (os.path.join(args.image_dir, name) for name in os.listdir(args.image_dir))
              if is_image(path)]
else:
    images = []
if not images:
    raise Exception("not found any img file in {}".format(args.image_dir))

for path in images:
    print("{}{}{}".format("*" * 10, path, "*" * 10))
    with open(path, "rb") as handle:
        payload = {"key": ["image"], "value": [base64.b64encode(handle.read()).decode("utf8")]}
    result = requests.post(url=url, data=json.dumps(payload)).json()
    print("erro_no:{}, err_msg:{}".format(result["err_no"], result["err_msg"]))
    if result["err_no"] != 0:
        print("For details about error message, see PipelineServingLogs/pipeline.log")
        continue
    value = result["value"][0]
    if not args.det:
        print(value)
        continue
    try:
        # The real client eval()s the reply; a literal parse reads the same text.
        items = ast.literal_eval(value)
        for item in items:
            print("{}, {}".format(item[0], item[1]))
    except Exception:
        print(value)
        print("No results")
print("==> total number of test imgs: ", len(images))
