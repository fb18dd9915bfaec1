"""Stand-in for PaddleDetection's deploy/serving/python/pipeline_http_client.py, written for the tests:
--image_file or --image_dir (every jpg/jpeg/png/bmp in it, after a "Found N inference images in total."
line), --http_port, --service_name (ppdet); one request per image under the key "image_0", and the reply
printed as the real client prints it: print(r.json()), a Python dict. One difference: the real client's
default --http_port is 18093 (its config.yml's http_port); this one's default is deploy/serving/python/
config.yml's http_port, whose port the tests choose."""
import argparse
import base64
import glob
import json
import os

import requests
import yaml

parser = argparse.ArgumentParser(description="args for paddleserving")
parser.add_argument("--image_dir", type=str)
parser.add_argument("--image_file", type=str)
parser.add_argument("--http_port", type=int, default=None)
parser.add_argument("--service_name", type=str, default="ppdet")
args = parser.parse_args()


def get_test_images(infer_dir, infer_img):
    assert infer_img is not None or infer_dir is not None, "--image_file or --image_dir should be set"
    assert infer_img is None or os.path.isfile(infer_img), "{} is not a file".format(infer_img)
    assert infer_dir is None or os.path.isdir(infer_dir), "{} is not a directory".format(infer_dir)
    if infer_img:
        return [infer_img]
    infer_dir = os.path.abspath(infer_dir)
    images = set()
    for ext in ("jpg", "jpeg", "png", "bmp"):
        for case in (ext, ext.upper()):
            images.update(glob.glob("{}/*.{}".format(infer_dir, case)))
    assert images, "no image found in {}".format(infer_dir)
    print("Found {} inference images in total.".format(len(images)))
    return list(images)


if __name__ == "__main__":
    if args.http_port is None:
        with open("deploy/serving/python/config.yml") as handle:
            args.http_port = yaml.safe_load(handle)["http_port"]
    url = "http://127.0.0.1:{}/{}/prediction".format(args.http_port, args.service_name)
    for img_file in get_test_images(args.image_dir, args.image_file):
        with open(img_file, "rb") as handle:
            image = base64.b64encode(handle.read()).decode("utf8")
        data = {"key": ["image_0"], "value": [image], "logid": 10000}
        print(requests.post(url=url, data=json.dumps(data)).json())
