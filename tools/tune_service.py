"""Which service settings are fastest on this machine, each proven in effect and answering right.

    python tools/tune_service.py --model-dir inference/alexnet_infer \
        --serving-server deploy/serving_python/alexnet_serving_server --reference REF.json --out OUT_DIR \
        [--variants before,onednn,...] [--name alexnet]

Measures direct Paddle Inference once (the service's settings, and at its best on these cores), then, for
each variant of the service (a set of `--opt` options), starts the real service on free ports, measures
it over HTTP and gRPC (every answer checked against the reference, within the fp32 tolerance), reads the
settings its own logs prove, and stops it. Writes OUT_DIR/tune.json and tune.md (one row per variant,
both ratios each) and prints the table. Figures are measured, never asserted; compare ratios of one run.
"""
import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tipc_serving.bench import benchmark as bench, load  # noqa: E402
from tipc_serving.chain.commands import loopback_env  # noqa: E402
from tipc_serving.config.plan import web_service_argv  # noqa: E402
from tipc_serving.errors import UserError, cli  # noqa: E402
from tipc_serving.service.lifecycle import Service  # noqa: E402
from tipc_serving.service.ports import free_ports  # noqa: E402

SERVING_DIR = Path(__file__).resolve().parent.parent / "deploy" / "serving_python"
CONF = "op.{name}.local_service_conf."


def onednn(threads=2, processes=1, thread_mode=False, batch=1, window_ms=1):
    """The options of a oneDNN variant: IR optimisation and oneDNN, threads per predictor, op processes (or
    threads), the op's batch size and window, and enough gRPC workers for a batch to gather."""
    return (["{conf}ir_optim=True", "{conf}use_mkldnn=True", "{conf}thread_num=%d" % threads,
             "dag.is_thread_op=%s" % thread_mode, "op.{name}.concurrency=%d" % processes,
             "op.{name}.batch_size=%d" % batch] + (["op.{name}.auto_batching_timeout=%d" % window_ms] if batch > 1 else [])
            + ["worker_num=%d" % max(batch, processes)])


# name -> (what it tries, the --opt options on top of config.yml)
VARIANTS = {
    "before": ("IR optimisation and oneDNN off, 2 threads, 1 op process (the defaults before issue 13)",
               ["{conf}ir_optim=False", "{conf}use_mkldnn=False", "{conf}thread_num=2", "dag.is_thread_op=False",
                "op.{name}.concurrency=1", "op.{name}.batch_size=1", "worker_num=1"]),
    "onednn": ("IR optimisation and oneDNN, 2 threads, 1 op process", onednn()),
    "onednn_2x1": ("oneDNN, 2 op processes of 1 thread each", onednn(threads=1, processes=2)),
    "onednn_batch8": ("oneDNN, 1 op process, auto-batching up to 8 requests (1 ms window)", onednn(batch=8)),
    "onednn_thread": ("oneDNN, thread mode: the op in the main process, no channel between processes",
                      onednn(thread_mode=True)),
    "onednn_thread_batch8": ("oneDNN, thread mode, auto-batching up to 8 requests (1 ms window)",
                             onednn(thread_mode=True, batch=8)),
    "onednn_thread_batch16": ("oneDNN, thread mode, auto-batching up to 16 requests (1 ms window)",
                              onednn(thread_mode=True, batch=16)),
    "defaults": ("config.yml as it is (since issue 13: oneDNN, thread mode, batches of up to 8, 1 ms)", []),
    "defaults_traced": ("config.yml with the pipeline's tracer on (PipelineServingLogs/pipeline.tracer: time per stage)",
                        ["dag.tracer.interval_s=5"]),
}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--serving-server", required=True, help="the converted model folder")
    parser.add_argument("--reference", required=True, help="tools/infer.py --output-json: every answer is checked")
    parser.add_argument("--images", default=str(Path(__file__).resolve().parent.parent / "images"))
    parser.add_argument("--config", default=str(SERVING_DIR / "config.yml"))
    parser.add_argument("--name", default="alexnet", help="the op (and service) name")
    parser.add_argument("--out", required=True)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, of: " + ", ".join(VARIANTS))
    bench.add_load_arguments(parser)
    parser.set_defaults(trial_requests=40, max_trials=5, windows=3)  # shorter trials: many variants to measure
    args = parser.parse_args(argv)
    unknown = [v for v in args.variants.split(",") if v not in VARIANTS]
    if unknown:
        parser.error("unknown variant {} (known: {})".format(unknown[0], ", ".join(VARIANTS)))
    args.variants = args.variants.split(",")
    args.load = bench.load_options(parser, args)
    return args


def variant_opts(name, op_name):
    conf = CONF.format(name=op_name)
    return [option.format(conf=conf, name=op_name) for option in VARIANTS[name][1]]


def measure_variant(name, args, payloads, direct):
    """Start the service with the variant's options, measure it, read what its logs prove, stop it."""
    opts = variant_opts(name, args.name)
    workdir = Path(args.out) / name
    workdir.mkdir(parents=True, exist_ok=True)
    http_port, rpc_port = free_ports(2)
    argv = web_service_argv([sys.executable, str(SERVING_DIR / "web_service.py"), "--config", args.config], args.name,
                            Path(args.serving_server).resolve(), http_port, rpc_port, opts)
    env = loopback_env(SERVING_LOG_PATH=workdir, SERVING_HOME=workdir)
    url = "http://127.0.0.1:{}/{}/prediction".format(http_port, args.name)
    bench.log("variant {}: {}".format(name, VARIANTS[name][0]))
    with Service(argv, workdir / "server.log", cwd=workdir, env=env) as service:
        service.wait_ready(url, http_port, 120, rpc_port, workdir / "PipelineServingLogs",
                           [args.name] if "dag.is_thread_op=False" in opts else [])  # op processes: their init
        targets = [("http", load.http_sender(url), args.load.levels),
                   ("grpc", load.grpc_sender("127.0.0.1:{}".format(rpc_port)), args.load.grpc_levels)]
        served = bench.measure_served(targets, service.pid, payloads, args.load.rule)
    settings, requested, op = bench.service_settings(args.config, args.name, opts)
    evidence = bench.service_evidence(requested, workdir / "server.log", workdir / "PipelineServingLogs")
    return {"name": name, "what": VARIANTS[name][0], "opts": opts, "op": op, "evidence": evidence,
            "proven": not bench.unproven(evidence), "served": served,
            "errors": sum(level["errors"] for level in served),
            "ratios": bench.ratios(served, direct, bench.DirectSetting.of(settings))}


def markdown(document):
    lines = ["| variant | settings proven | errors | HTTP p50 c=1 ms | gRPC p50 c=1 ms | best img/s (where) "
             "| overhead HTTP / gRPC | limit p50 HTTP / gRPC | limit img/s | client-bound levels |",
             "| --- | --- | ---: | ---: | ---: | --- | --- | --- | ---: | --- |"]
    for row in document["variants"]:
        r = row["ratios"]
        bound = ", ".join("{} c={}".format(l["protocol"], l["concurrency"]) for l in row["served"] if l["client_bound"])
        lines.append("| {} | {} | {} | {:.1f} | {:.1f} | {:.1f} ({}) | {:.2f} / {:.2f} | {:.2f} / {:.2f} | {:.2f} | {} |"
                     .format(row["name"], "yes" if row["proven"] else "NO", row["errors"], r["served_http_p50_ms"],
                             r["served_grpc_p50_ms"], r["served_best_qps"], r["served_best_qps_at"],
                             r["overhead_p50_http"], r["overhead_p50_grpc"], r["limit_p50_http"], r["limit_p50_grpc"],
                             r["limit_throughput"], bound or "-"))
    lines += ["", bench.direct_baselines(document["variants"][0]["ratios"])]
    return "\n".join(lines) + "\n"


@cli("tune_service.py")
def main(argv=None):
    args = parse_args(argv)
    payloads = bench.payloads(args.images, args.reference)
    settings, _, _ = bench.service_settings(args.config, args.name, variant_opts("before", args.name))
    direct = bench.measure_direct_all(settings, args.model_dir, args.images, args.load.rule, args.load.batches)
    rows = [measure_variant(name, args, payloads, direct) for name in args.variants]
    document = {"machine": bench.machine(), "rule": asdict(args.load.rule), "direct": direct, "variants": rows}
    out = Path(args.out)
    (out / "tune.json").write_text(json.dumps(document, indent=2) + "\n")
    (out / "tune.md").write_text(markdown(document))
    print(markdown(document), end="")
    if any(row["errors"] for row in rows):
        raise UserError("some variant answered wrongly: see tune.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
