"""Benchmark a running classifier service against direct Paddle Inference on the same machine.

    python tools/benchmark.py --url http://127.0.0.1:18080/alexnet/prediction --pgid PID \
        --model-dir inference/alexnet_infer --images images/ --out OUT_DIR \
        [--config deploy/serving_python/config.yml --name alexnet --opt KEY=VALUE ...] \
        [--concurrency 1,2,4,8] [--reference REF.json]

test_serving.sh --benchmark calls it while a case's service is up (PID is the service's process
group). The direct side runs first, while the service is idle, with the predictor settings the
service runs with (read from config.yml and the same --opt options web_service.py was given).
Writes OUT_DIR/benchmark.json, benchmark.md and benchmark.png and prints the table and both ratios.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tipc_serving.bench import benchmark as bench, load  # noqa: E402
from tipc_serving.model import images  # noqa: E402
from tipc_serving.service import pipeline_config  # noqa: E402
from tipc_serving.service.process import is_alive  # noqa: E402
from tipc_serving.errors import UserError, cli  # noqa: E402
from tipc_serving.model.inference import InferenceSettings, model_files  # noqa: E402

SERVING_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "serving_python" / "config.yml"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the service's prediction URL")
    parser.add_argument("--pgid", type=int, required=True, help="the service's process group (for its RSS)")
    parser.add_argument("--model-dir", required=True, help="the inference model the service was converted from")
    parser.add_argument("--images", required=True, help="an image file or folder")
    parser.add_argument("--out", required=True, help="folder for benchmark.json / .md / .png")
    parser.add_argument("--config", default=str(SERVING_CONFIG), help="the service's config.yml")
    parser.add_argument("--name", help="the service's op name (web_service.py --name)")
    parser.add_argument("--opt", nargs="+", action="append", default=[], metavar="KEY=VALUE",
                        help="the --opt options the service was started with")
    parser.add_argument("--reference", help="tools/infer.py --output-json: check every served answer")
    parser.add_argument("--concurrency", default="1,2,4,8", help="comma-separated levels (default 1,2,4,8)")
    parser.add_argument("--trial-requests", type=int, default=bench.StabilityRule.trial_requests)
    parser.add_argument("--trial-seconds", type=float, default=bench.StabilityRule.trial_seconds)
    parser.add_argument("--max-trials", type=int, default=bench.StabilityRule.max_trials)
    parser.add_argument("--windows", type=int, default=bench.StabilityRule.windows)
    parser.add_argument("--tolerance", type=float, default=bench.StabilityRule.tolerance)
    parser.add_argument("--warmup", type=int, default=bench.StabilityRule.warmup_requests)
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)
    try:
        args.levels = [int(c) for c in args.concurrency.split(",")]
    except ValueError:
        parser.error("--concurrency takes numbers separated by commas, e.g. 1,2,4,8")
    if not args.levels or min(args.levels) < 1:
        parser.error("--concurrency levels must be at least 1")
    if min(args.trial_requests, args.max_trials, args.windows) < 1 or args.windows > args.max_trials:
        parser.error("--trial-requests, --max-trials and --windows must be positive, windows <= max-trials")
    return args


def settings_of_service(args):
    """The predictor settings the service runs with, from the same config and options."""
    config, name = pipeline_config.effective(args.config, args.name, [o for group in args.opt for o in group])
    conf = config["op"][name].get("local_service_conf") or {}
    devices = str(conf.get("devices", "") or "")
    device_type = conf.get("device_type", -1)
    use_gpu = device_type in (1, 2) or (device_type == -1 and devices != "")
    return InferenceSettings(
        use_gpu=use_gpu, gpu_id=int(devices.split(",")[0]) if use_gpu and devices else 0,
        cpu_threads=int(conf.get("thread_num", 2)), use_mkldnn=bool(conf.get("use_mkldnn", False)),
        ir_optim=bool(conf.get("ir_optim", False)), mem_optim=bool(conf.get("mem_optim", True)),
        use_trt=device_type == 2, precision=str(conf.get("precision", "fp32"))), config["op"][name]


@cli("benchmark.py")
def main(argv=None):
    args = parse_args(argv)
    model_files(args.model_dir)
    settings, op_conf = settings_of_service(args)
    paths = images.list_images(args.images)
    encoded = [(p.name, images.read_image_bytes(p)) for p in paths]
    if not is_alive(args.pgid):
        raise UserError("no service process {} to benchmark".format(args.pgid))
    rule = bench.StabilityRule(windows=args.windows, tolerance=args.tolerance, max_trials=args.max_trials,
                               trial_requests=args.trial_requests, trial_seconds=args.trial_seconds,
                               warmup_requests=args.warmup)
    print("benchmark: {} images, settings {}, op concurrency {}".format(
        len(encoded), settings.as_dict(), op_conf.get("concurrency", 1)), flush=True)

    direct = bench.direct_sweep(args.model_dir, settings, [data for _, data in encoded],
                                bench.direct_variants(settings.cpu_threads), rule,
                                log=lambda line: print(line, flush=True))
    expected = None
    if args.reference:
        import json

        expected = load.expected_from_reference(json.loads(Path(args.reference).read_text()))
    served = bench.served_sweep(args.url, args.pgid, load.payloads_from(encoded, expected), args.levels, rule,
                                log=lambda line: print(line, flush=True))
    document = {
        "title": args.title or "{} served vs direct".format(args.name or "model"),
        "url": args.url, "model_dir": str(args.model_dir), "images": len(encoded),
        "settings": settings.as_dict(), "op_concurrency": op_conf.get("concurrency", 1),
        "rule": bench.rule_dict(rule), "machine": bench.machine(),
        "direct": direct, "served": served, "ratios": bench.ratios(served, direct),
    }
    out_dir = bench.write_reports(document, args.out)
    print(bench.markdown(document), end="")
    print("benchmark: wrote {0}/benchmark.json, benchmark.md, benchmark.png".format(out_dir))
    errors = sum(level["errors"] for level in served)
    if errors:
        print("benchmark.py: error: {} served requests failed or answered wrongly: {}".format(
            errors, "; ".join(e for level in served for e in level["first_errors"])[:300]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
