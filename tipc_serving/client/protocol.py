"""The classifier service's wire format, shared by the service, both clients, the probe and the tests.

Request  (HTTP JSON, or the same fields over gRPC):
    {"key": ["image", ...], "value": [<base64 of an encoded image>, ...], "logid": N}
    Several keys form one batch; the answer lists the images in the request's order.
Response:
    {"err_no": 0, "err_msg": "", "key": ["class_id", "prob", "topk_class_ids", "topk_probs"],
     "value": ["[136]", "[0.0136]", "[[136, 548, ...]]", "[[0.0136, 0.0123, ...]]"]}
    Values are JSON text, as Paddle Serving requires strings; class_id and prob are the seed's fields.
"""
import base64
import json

from ..verdict.result_lines import ImageResult

# err_no values of this service (Paddle Serving's own: 0 ok, 3002 unknown service, 5000 feed/fetch
# mismatch, 6000 timeout, 7000 wrong output type, 10000 an exception in pre/postprocess).
ERR_NO_IMAGES = 4001
ERR_KEY_VALUE_MISMATCH = 4002
ERR_NOT_BASE64 = 4003
ERR_BAD_IMAGE = 4004
ERR_TOO_LARGE = 4005

def encode_image(data):
    return base64.b64encode(data).decode("ascii")


def request_body(images, logid=0):
    """images: list of (key, encoded image bytes). Returns the JSON-ready request dict."""
    return {"key": [key for key, _ in images], "value": [encode_image(data) for _, data in images], "logid": logid}


def response_values(results):
    """The service's answer fields for a list of (class_ids, probs), one per image."""
    return {
        "class_id": json.dumps([ids[0] for ids, _ in results]),
        "prob": json.dumps([probs[0] for _, probs in results]),
        "topk_class_ids": json.dumps([ids for ids, _ in results]),
        "topk_probs": json.dumps([probs for _, probs in results]),
    }


class ResponseError(Exception):
    """The service answered, but with an error or in an unexpected shape."""

    def __init__(self, err_no, err_msg):
        super().__init__("err_no {}: {}".format(err_no, err_msg))
        self.err_no, self.err_msg = err_no, err_msg


def parse_response(keys, values, err_no, err_msg, image_names):
    """ImageResults for image_names from a response's fields; raises ResponseError on an error reply."""
    if err_no != 0:
        raise ResponseError(err_no, err_msg or "(no message)")
    fields = dict(zip(keys, values))
    try:
        if "topk_class_ids" in fields:
            ids = json.loads(fields["topk_class_ids"])
            probs = json.loads(fields["topk_probs"])
        else:  # a service that only answers the seed's fields
            ids = [[c] for c in json.loads(fields["class_id"])]
            probs = [[p] for p in json.loads(fields["prob"])]
    except (KeyError, ValueError, TypeError) as err:
        raise ResponseError(-1, "malformed answer {}: {}".format(fields, err)) from None
    if len(ids) != len(image_names) or len(probs) != len(image_names):
        raise ResponseError(-1, "answer has {} results for {} images".format(len(ids), len(image_names)))
    return [ImageResult(name, [int(c) for c in i], [float(p) for p in p_list])
            for name, i, p_list in zip(image_names, ids, probs)]
