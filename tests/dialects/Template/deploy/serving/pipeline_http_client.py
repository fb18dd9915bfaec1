"""Stand-in for the TIPC template's code/pipeline_http_client.py (written for these tests): no argument
parsing (the --img_dir the template's script passes is ignored); it posts ../../images/demo.jpg with logid
10000 to http://127.0.0.1:18080/tipc_example/prediction and prints the reply as a dict (`print(r.json())`)."""
import base64
import json

import cv2  # noqa: F401  (the template's client imports it)
import numpy as np  # noqa: F401
import requests

if __name__ == "__main__":
    with open("../../images/demo.jpg", "rb") as image:
        encoded = base64.b64encode(image.read()).decode("utf8")
    payload = {"key": ["image"], "value": [encoded], "logid": 10000}
    print(requests.post(url="http://127.0.0.1:18080/tipc_example/prediction", data=json.dumps(payload)).json())
