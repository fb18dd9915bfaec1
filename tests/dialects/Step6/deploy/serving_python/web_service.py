"""Stand-in for the models tutorial's Step6 web_service.py: its own ArgsParser (-c/--config, -o/--opt
KEY=VALUE ...) and no --name; the service "imagenet"."""
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

args = standin.serving_args()
standin.serve(standin.load_config(args.config, args.opt or []), "imagenet",
              lambda body: (["class_id", "prob"], [str([3] * len(body["value"])), str([0.5] * len(body["value"]))]))
