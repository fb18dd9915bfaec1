"""Stand-in for PaddleClas's deploy/paddleserving/pipeline_http_client.py (written for these tests): no
options; it posts its built-in image ./daisy.jpg to http://127.0.0.1:18080/imagenet/prediction once and
prints the reply as a dict (`print(r.json())`)."""
import base64
import json

import requests

URL = "http://127.0.0.1:18080/imagenet/prediction"

if __name__ == "__main__":
    with open("./daisy.jpg", "rb") as image:
        payload = {"key": ["image"], "value": [base64.b64encode(image.read()).decode("utf8")]}
    reply = requests.post(url=URL, data=json.dumps(payload))
    print(reply.json())
