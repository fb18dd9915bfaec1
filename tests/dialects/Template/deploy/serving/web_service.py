"""Stand-in for the models template's web_service.py: it reads config.yml and takes bare KEY=VALUE words
(the template's script passes `op.<name>.local_service_conf.devices=null ...` so); no options."""
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

words = sys.argv[1:]
bad = [w for w in words if w.startswith("-") or "=" not in w]
if bad:
    sys.exit("web_service.py: unexpected argument {}".format(bad[0]))
known = [w for w in words if w.startswith("op.") and not w.endswith("=null")]
standin.serve(standin.load_config("config.yml", known), "tipc_example",
              lambda body: (["class_id", "prob"], [str([1] * len(body["value"])), str([0.7] * len(body["value"]))]))
