"""Stand-in for PaddleSeg's test_tipc/serving_python/web_service.py: plain argparse, and --opt takes ONE
string, which must set op.seg.local_service_conf.devices (a second --opt word is refused)."""
import argparse
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--config", type=str)
parser.add_argument("--opt", type=str)
parser.add_argument("--input_name", default="x")
parser.add_argument("--output_name", default="argmax_0.tmp_0")
args = parser.parse_args()
assert args.opt is None or args.opt.startswith("op.seg.local_service_conf.devices"), args.opt
standin.serve(standin.load_config(args.config, [args.opt] if args.opt else []), "seg",
              lambda body: (["res"], [str([[0, 1], [1, 0]])] * len(body["value"])))
