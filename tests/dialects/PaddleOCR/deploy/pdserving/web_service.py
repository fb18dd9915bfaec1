"""Stand-in for PaddleOCR's deploy/pdserving/web_service.py: Paddle Serving's ArgsParser (-c/--config,
-o/--opt KEY=VALUE ...), two ops, the service "ocr" (so the URL is /ocr/prediction, not /<op>/...)."""
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

args = standin.serving_args()
standin.serve(standin.load_config(args.config, args.opt or []), "ocr",
              lambda body: (["res"], [str([["stand-in text", 0.99]] * len(body["value"]))]))
