"""Stand-in for PaddleDetection's tools/export_model.py: -c, --export_serving_model, -o KEY=VALUE ...
(weights=, filename=) and --output_dir. Writes <output_dir>/<filename>/serving_server (and serving_client)
the way the real export does, from local weights only."""
import argparse
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("-c", "--config", required=True)
parser.add_argument("--export_serving_model", default="False")
parser.add_argument("--slim_config")
parser.add_argument("-o", "--opt", nargs="*", default=[])
parser.add_argument("--output_dir", default="output_inference")
args = parser.parse_args()
options = dict(option.split("=", 1) for option in args.opt)
assert Path(options["weights"]).is_file(), "no weights file {}".format(options["weights"])
out = Path(args.output_dir) / options["filename"]
for part in ("serving_server", "serving_client"):
    (out / part).mkdir(parents=True, exist_ok=True)
    (out / part / "{}_conf.prototxt".format(part)).write_text("feed_var { name: \"image\" }\n")
print("exported to", out)
