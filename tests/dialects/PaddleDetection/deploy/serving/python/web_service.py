"""Stand-in for PaddleDetection's deploy/serving/python/web_service.py: -c/--config, --model_dir (required),
-o/--opt KEY=VALUE ...; model_config becomes <model_dir>/serving_server; the service "ppdet"."""
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

args = standin.serving_args((["--model_dir"], {"required": True}))
config = standin.load_config(args.config or "deploy/serving/python/config.yml", args.opt or [])
config["op"]["ppdet"]["local_service_conf"]["model_config"] = os.path.join(args.model_dir, "serving_server")
standin.serve(config, "ppdet", lambda body: (["bbox_result"], [str([[0, 0.9, 10, 10, 50, 50]])] * len(body["value"])))
