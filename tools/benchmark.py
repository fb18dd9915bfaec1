"""Benchmark a running classifier service against direct Paddle Inference on the same machine.

    python tools/benchmark.py --url http://127.0.0.1:18080/alexnet/prediction --pgid PID \
        --model-dir inference/alexnet_infer --images images/ --out OUT_DIR \
        [--config deploy/serving_python/config.yml --name alexnet --opt KEY=VALUE ...] \
        [--concurrency 1,2,4,8] [--reference REF.json]

test_serving.sh --benchmark calls it while a case's service is up (PID is the service's process
group). The direct side runs first, while the service is idle: the predictor settings the service runs
with (read from config.yml and the same --opt options web_service.py was given), then every setting
these cores offer (tipc_serving/bench/benchmark.py), each in a process of its own whose Paddle output
proves its settings. Then the service over HTTP (and gRPC with --endpoint). Writes OUT_DIR/benchmark.json,
benchmark.md and benchmark.png and prints the table, the serving overhead and the distance to the limit.
"""
import argparse
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tipc_serving.bench import benchmark as bench, load  # noqa: E402
from tipc_serving.errors import UserError, cli  # noqa: E402
from tipc_serving.model.inference import model_files  # noqa: E402
from tipc_serving.service.process import is_alive  # noqa: E402

SERVING_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "serving_python" / "config.yml"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the service's prediction URL")
    parser.add_argument("--endpoint", help="the service's gRPC host:port: also measure over gRPC")
    parser.add_argument("--pgid", type=int, required=True, help="the service's process group (for its RSS)")
    parser.add_argument("--model-dir", required=True, help="the inference model the service was converted from")
    parser.add_argument("--images", required=True, help="an image file or folder")
    parser.add_argument("--out", required=True, help="folder for benchmark.json / .md / .png")
    parser.add_argument("--config", default=str(SERVING_CONFIG), help="the service's config.yml")
    parser.add_argument("--name", help="the service's op name (web_service.py --name)")
    parser.add_argument("--opt", nargs="+", action="append", default=[], metavar="KEY=VALUE",
                        help="the --opt options the service was started with")
    parser.add_argument("--reference", help="tools/infer.py --output-json: check every served answer")
    parser.add_argument("--server-log", help="the service's log: the settings it proves go into the report")
    parser.add_argument("--pipeline-log-dir", help="Paddle Serving's PipelineServingLogs folder: its pipeline.log* "
                                                   "prove the settings too")
    bench.add_load_arguments(parser)
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)
    args.load = bench.load_options(parser, args)
    return args


def service_proven(evidence):
    """'yes' when every setting of the service is in effect by its own logs, else which is not."""
    missing = ["{} {}".format(s["key"], s["status"]) for s in bench.unproven(evidence)]
    return "yes" if evidence and not missing else "no ({})".format(", ".join(missing) or "no logs")


@cli("benchmark.py")
def main(argv=None):
    args = parse_args(argv)
    model_files(args.model_dir)
    settings, requested, op_conf = bench.service_settings(args.config, args.name,
                                                          [o for group in args.opt for o in group])
    payloads = bench.payloads(args.images, args.reference)
    if not is_alive(args.pgid):
        raise UserError("no service process {} to benchmark".format(args.pgid))
    rule = args.load.rule
    bench.log("benchmark: {} images, settings {}, op concurrency {}".format(
        len(payloads), settings.as_dict(), op_conf.get("concurrency", 1)))

    # The direct side first, while the service is idle.
    direct = bench.measure_direct_all(settings, args.model_dir, args.images, rule, args.load.batches)
    targets = [("http", load.http_sender(args.url), args.load.levels)]
    if args.endpoint:
        targets.append(("grpc", load.grpc_sender(args.endpoint), args.load.grpc_levels))
    served = bench.measure_served(targets, args.pgid, payloads, rule)
    evidence = bench.service_evidence(requested, args.server_log, args.pipeline_log_dir)
    document = {
        "title": args.title or "{} served vs direct".format(args.name or "model"),
        "url": args.url, "endpoint": args.endpoint, "model_dir": str(args.model_dir), "images": len(payloads),
        "settings": settings.as_dict(), "op": op_conf, "service_evidence": evidence,
        "service_proven": service_proven(evidence) if args.server_log else "-",
        "rule": asdict(rule), "machine": bench.machine(),
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
