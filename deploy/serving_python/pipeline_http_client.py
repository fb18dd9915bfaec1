"""HTTP client of the classifier service (seed step 2.8).

    python pipeline_http_client.py [--url http://127.0.0.1:18080/alexnet/prediction]
                                   [--image_dir | --img_dir | --img-path PATH] [--logid N] [--batch-size N]

Prints `image_name: X, class_id: N, prob: P, topk: ...` per image. Exit status 1 if any reply has
err_no != 0 or an HTTP error status (the server's message goes to stderr), 2 for bad arguments.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

import requests  # noqa: E402

from tipc_serving.client import protocol, runner as client  # noqa: E402
from tipc_serving.errors import cli  # noqa: E402

DEFAULT_URL = "http://127.0.0.1:18080/alexnet/prediction"


def http_transport(args):
    session = requests.Session()
    session.trust_env = False  # loopback must never go through an http_proxy from the environment

    def send(keys, values, logid):
        body = {"key": keys, "value": values, "logid": logid}
        try:
            response = session.post(args.url, json=body, timeout=(args.connect_timeout, args.read_timeout))
        except requests.RequestException as err:
            raise client.TransportError("no answer from {}: {}".format(args.url, err)) from None
        try:
            reply = response.json()
        except ValueError:
            reply = None
        if response.status_code != 200 or not isinstance(reply, dict) or "err_no" not in reply:
            detail = reply.get("error") or reply.get("message") if isinstance(reply, dict) else response.text[:200]
            raise protocol.ResponseError(-response.status_code if response.status_code != 200 else -1,
                                         "HTTP {} from {}: {}".format(response.status_code, args.url, detail))
        return reply.get("key", []), reply.get("value", []), reply["err_no"], reply.get("err_msg", "")

    return send


@cli("pipeline_http_client.py")
def main(argv=None):
    parser = client.make_parser(__doc__, "--url", DEFAULT_URL, "the service's prediction URL")
    return client.run("pipeline_http_client.py", http_transport, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
