"""Stand-ins for the serving scripts of PaddlePaddle's model repositories, for the dialect tests.

Each repository's web service and client take their own command line (tests/dialects/<dialect>/): the
stand-ins there parse it with argparse exactly as far as the real ones do, so that an argument the real
script would refuse (such as the harness's --name or --url) fails them too. What they share is here: a
pipeline-like service on loopback (POST /<service>/prediction answers a pipeline reply, a wrong name
gets err_no 10000 like Paddle Serving's NO_SERVICE), which first checks that every op's model_config
is a converted model, and a client that posts images and prints the replies its repository prints.
"""
import base64
import json
import os
import signal
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

NO_SERVICE = 10000


def serving_args(*extra):
    """Paddle Serving's own ArgsParser, as PaddleOCR's and Step6's web services copy it: -c/--config and
    -o/--opt KEY=VALUE ... (one --opt, many words); extra: (flags, keyword arguments) of a repository's own."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config")
    parser.add_argument("-o", "--opt", nargs="+")
    for flags, options in extra:
        parser.add_argument(*flags, **options)
    return parser.parse_args()


def load_config(path, options=()):
    """config.yml with `dotted.key=value` options applied, as Paddle Serving's --opt does."""
    config = yaml.safe_load(Path(path).read_text())
    for option in options:
        key, _, value = option.partition("=")
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value) if value else ""
    return config


def check_models(config, base="."):
    """Every op's model_config must be a converted serving model (the conversion ran, the edit was made)."""
    for name, op in config["op"].items():
        model = (op.get("local_service_conf") or {}).get("model_config")
        if model and not (Path(base) / model / "serving_server_conf.prototxt").is_file():
            sys.exit("standin: op {}: model_config {} is not a converted model".format(name, model))


def serve(config, service_name, reply):
    """Serve until SIGTERM: reply(request) -> (key, value) for a request with images."""
    check_models(config)
    for name, op in config["op"].items():
        conf = op.get("local_service_conf") or {}
        print("standin: op {} device_type={!r} devices={!r} use_mkldnn={!r} thread_num={!r}".format(
            name, conf.get("device_type"), conf.get("devices"), conf.get("use_mkldnn"), conf.get("thread_num")),
            flush=True)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            if self.path != "/{}/prediction".format(service_name):
                answer = {"err_no": NO_SERVICE, "err_msg": "Failed to inference: Service name error."}
            elif not body.get("value"):
                answer = {"err_no": 5, "err_msg": "(log_id=0) no input"}
            else:
                key, value = reply(body)
                answer = {"err_no": 0, "err_msg": "", "key": key, "value": value, "tensors": []}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(config["http_port"])), Handler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("standin: {} answers on 127.0.0.1:{}/{}/prediction".format(Path(sys.argv[0]).name, config["http_port"],
                                                                      service_name), flush=True)
    server.serve_forever()


def post(port, service_name, paths, key="image"):
    """The reply to one request carrying the files at paths (base64), as the repositories' clients send."""
    values = [base64.b64encode(Path(p).read_bytes()).decode() for p in paths]
    data = json.dumps({"key": [key] * len(values), "value": values}).encode()
    request = urllib.request.Request("http://127.0.0.1:{}/{}/prediction".format(port, service_name), data=data)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        return json.loads(response.read())


def files(path, suffixes=(".jpg", ".jpeg", ".png", ".avi", ".mp4")):
    """A file, or the files of a folder with one of the suffixes, sorted."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes)
    return [path]
