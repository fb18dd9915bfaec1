"""The served model against direct Paddle Inference, on the same cores, in the same run: two baselines.

- direct, the service's settings: the same predictor settings, preprocessing and postprocessing as the
  service, at batch 1 (and larger batches). Served against it is the **serving overhead**.
- direct, at its best: every setting these cores offer (IR optimisation, oneDNN, threads, batch 1/4/8/16),
  each proven in effect by Paddle's own output. Served against it is the **distance to the limit**.

Served: closed-loop load over HTTP and gRPC at a sweep of concurrencies, every answer checked, with the
CPU cores the load generator and the service used (on 2 cores the load generator competes with the
service; a level where it used more than the service is marked client-bound). Every level runs in trials
until the last `windows` agree on throughput (bench/stability.py). Figures are reported, never asserted.
"""
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .. import REPO_ROOT
from ..jsonfile import read_json
from ..model import images
from ..model.inference import InferenceSettings
from ..service import pipeline_config
from ..service.process import gpu_memory_mb
from ..verdict.evidence import IN_EFFECT, judge_settings, judge_settings_in, requested_settings
from . import load
from .stability import StabilityRule, run_until_stable

# The targets (ratios in one run): served p50 at concurrency 1 / best direct p50 at batch 1,
# best served img/s / best direct img/s, served p50 / direct p50 with the same settings.
TARGETS = {"limit_p50_http": 1.5, "limit_p50_grpc": 1.25, "limit_throughput": 0.6, "overhead_p50_grpc": 1.15}
BATCH_SIZES = (1, 4, 8, 16)
CLIENT_BOUND = 1.0  # a level whose load generator used at least as many cores as the service is client-bound


def log(line):
    """A progress line, flushed at once (the tools' output goes to a log file)."""
    print(line, flush=True)


@dataclass(frozen=True)
class DirectSetting:
    """A direct Paddle Inference setting to measure."""

    ir_optim: bool
    use_mkldnn: bool
    cpu_threads: int

    @classmethod
    def of(cls, settings):
        """The setting of InferenceSettings (a service's, from service_settings)."""
        return cls(settings.ir_optim, settings.use_mkldnn, settings.cpu_threads)

    def label(self):
        return "{}, {} thread{}".format("IR + oneDNN" if self.use_mkldnn else "IR" if self.ir_optim else "plain",
                                        self.cpu_threads, "" if self.cpu_threads == 1 else "s")


def service_settings(config_path, name, opts):
    """The predictor settings a service runs with (its config.yml and --opt options), and its op's section."""
    config, name = pipeline_config.effective(config_path, name, opts)
    op = config["op"][name]
    conf = op.get("local_service_conf") or {}
    requested = requested_settings(conf)
    gpu = requested["device"] == "gpu"
    devices = str(conf.get("devices") or "")
    settings = InferenceSettings(
        use_gpu=gpu, gpu_id=int(devices.split(",")[0]) if gpu and devices.split(",")[0].isdigit() else 0,
        cpu_threads=int(conf.get("thread_num", 2)), use_mkldnn=requested.get("use_mkldnn", False),
        mkldnn_cache_capacity=int(conf.get("mkldnn_cache_capacity", 0) or 0), ir_optim=requested["ir_optim"],
        mem_optim=bool(conf.get("mem_optim", True)), use_trt=requested.get("use_trt", False),
        precision=requested.get("precision", "fp32"))
    return settings, requested, op


def direct_settings(service, cores=None):
    """The service's own setting first, then every combination worth trying on these cores (oneDNN only
    with IR optimisation: Paddle ignores it otherwise)."""
    cores = cores or os.cpu_count() or 1
    found = [DirectSetting.of(service)]
    for threads in sorted({1, service.cpu_threads, cores}):
        for ir_optim, use_mkldnn in ((False, False), (True, False), (True, True)):
            setting = DirectSetting(ir_optim, use_mkldnn, threads)
            if setting not in found:
                found.append(setting)
    return found


def measure_direct(setting, base, model_dir, image_path, rule, batch_sizes=BATCH_SIZES, log=log):
    """Measure a direct setting in a process of its own; its levels (one per batch size), each with the
    settings Paddle's output proves (`effective`), and the process's CPU cores as the witness of its threads."""
    settings = replace(base, ir_optim=setting.ir_optim, use_mkldnn=setting.use_mkldnn,
                       cpu_threads=setting.cpu_threads)
    command = [sys.executable, "-m", "tipc_serving.bench.direct", json.dumps(settings.as_dict()), str(model_dir),
               str(image_path), ",".join(map(str, batch_sizes)), json.dumps(asdict(rule))]
    done = subprocess.run(command, cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    if done.returncode != 0:
        raise RuntimeError("direct measurement of {} failed: {}".format(setting.label(), done.stderr[-500:]))
    requested = {"device": "cpu", "ir_optim": setting.ir_optim, "use_mkldnn": setting.use_mkldnn,
                 "thread_num": setting.cpu_threads}
    # IR optimisation and oneDNN from Paddle's lines; the threads show in the cores the process kept busy
    proven = {s.key: s.as_dict() for s in judge_settings(requested, done.stderr) if s.key in ("ir_optim", "use_mkldnn")}
    levels = json.loads(done.stdout)
    for level in levels:
        level.update(setting=asdict(setting), label=setting.label(), effective=proven,
                     proven=not unproven(proven.values()))
        log("direct  " + describe_level("{} batch {}".format(setting.label(), level["batch_size"]), level))
    return levels


def served_sweep(sender, protocol_name, pgid, payloads, concurrencies, rule, log=log):
    levels = []
    for concurrency in concurrencies:
        load.closed_loop(sender, payloads, concurrency, max(rule.warmup_requests, concurrency * 2), rule.trial_seconds)
        rss_before = load.group_rss_mb(pgid)
        level = run_until_stable(lambda: load.closed_loop(sender, payloads, concurrency, rule.trial_requests,
                                                          rule.trial_seconds, service_pgid=pgid), rule)
        level.update(protocol=protocol_name, concurrency=concurrency, rss_mb_before=rss_before,
                     rss_mb_after=load.group_rss_mb(pgid), gpu_mb=gpu_memory_mb(pgid),
                     client_bound=is_client_bound(level))
        levels.append(level)
        log("served  " + describe_level("{} concurrency {}".format(protocol_name, concurrency), level))
    return levels


def is_client_bound(level):
    client, service = level.get("client_cores"), level.get("service_cores")
    return client is not None and service is not None and client >= CLIENT_BOUND * service


def measure_direct_all(base, model_dir, image_path, rule, batch_sizes=BATCH_SIZES, log=log):
    """Every direct setting worth trying, the service's own first (direct_settings)."""
    return [level for setting in direct_settings(base)
            for level in measure_direct(setting, base, model_dir, image_path, rule, batch_sizes, log)]


def measure_served(targets, pgid, payloads, rule, log=log):
    """targets: [(protocol name, sender factory, concurrencies)]; the levels of each, in turn."""
    return [level for protocol_name, sender, concurrencies in targets
            for level in served_sweep(sender, protocol_name, pgid, payloads, concurrencies, rule, log)]


def service_evidence(requested, server_log, pipeline_log_dir):
    """The service's settings as its own logs prove them (read after it served requests): server_log and the
    pipeline.log* in pipeline_log_dir (PipelineServingLogs)."""
    return [s.as_dict() for s in judge_settings_in(requested, server_log, pipeline_log_dir)]


def unproven(settings):
    """The settings (as dicts: Setting.as_dict) that are not in effect by the logs; none: all are."""
    return [s for s in settings if s["status"] != IN_EFFECT]


# ---------------------------------------------------------------- the tools' load options and inputs

@dataclass(frozen=True)
class LoadOptions:
    """What add_load_arguments' options ask for: the served levels, the direct batch sizes, the stability rule."""

    levels: list         # HTTP concurrencies
    grpc_levels: list    # gRPC concurrencies
    batches: list        # direct batch sizes
    rule: StabilityRule


def add_load_arguments(parser):
    """The load options of tools/benchmark.py and tools/tune_service.py (load_options reads them); a tool
    with other defaults sets them with parser.set_defaults."""
    rule = StabilityRule()
    parser.add_argument("--concurrency", default="1,2,4,8", help="HTTP levels (default %(default)s)")
    parser.add_argument("--grpc-concurrency", default="1,4,8", help="gRPC levels (default %(default)s)")
    parser.add_argument("--batches", default=",".join(map(str, BATCH_SIZES)),
                        help="direct batch sizes (default %(default)s)")
    parser.add_argument("--trial-requests", type=int, default=rule.trial_requests)
    parser.add_argument("--trial-seconds", type=float, default=rule.trial_seconds)
    parser.add_argument("--max-trials", type=int, default=rule.max_trials)
    parser.add_argument("--windows", type=int, default=rule.windows)
    parser.add_argument("--tolerance", type=float, default=rule.tolerance)
    parser.add_argument("--warmup", type=int, default=rule.warmup_requests)


def load_options(parser, args):
    """add_load_arguments' options of args, checked (parser.error: a one-line usage error)."""
    try:
        levels = [int(c) for c in args.concurrency.split(",")]
        grpc_levels = [int(c) for c in args.grpc_concurrency.split(",")]
        batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        parser.error("--concurrency, --grpc-concurrency and --batches take numbers separated by commas, e.g. 1,2,4,8")
    if min(levels + grpc_levels + batches or [0]) < 1:
        parser.error("concurrency levels and batch sizes must be at least 1")
    if min(args.trial_requests, args.max_trials, args.windows) < 1 or args.windows > args.max_trials:
        parser.error("--trial-requests, --max-trials and --windows must be positive, windows <= max-trials")
    rule = StabilityRule(windows=args.windows, tolerance=args.tolerance, max_trials=args.max_trials,
                         trial_requests=args.trial_requests, trial_seconds=args.trial_seconds,
                         warmup_requests=args.warmup)
    return LoadOptions(levels, grpc_levels, batches, rule)


def payloads(image_path, reference=None):
    """The requests to send: one Payload per image (a file or a folder's images), each checked against the
    reference (tools/infer.py --output-json) where one is given."""
    encoded = [(path.name, images.read_image_bytes(path)) for path in images.list_images(image_path)]
    expected = load.expected_from_reference(read_json(reference, "reference", want=dict)) if reference else None
    return load.payloads_from(encoded, expected)


# ---------------------------------------------------------------- ratios

def _at(levels, **where):
    return next((level for level in levels if all(level.get(k) == v for k, v in where.items())), None)


def ratios(served, direct, own_setting=None):
    """Both baselines and both ratios. own_setting: the DirectSetting with the service's settings (default:
    the first measured, as measure_direct_all measures the service's own first)."""
    wanted = asdict(own_setting) if own_setting else direct[0]["setting"]
    own = [level for level in direct if level["setting"] == wanted] or \
        [level for level in direct if level["setting"] == direct[0]["setting"]]
    own_b1 = _at(own, batch_size=1)
    proven = [level for level in direct if level["proven"]] or direct
    best_b1 = min((level for level in proven if level["batch_size"] == 1), key=lambda l: l["latency_ms"]["p50"])
    best_direct = max(proven, key=lambda level: level["qps"])
    best_served = max(served, key=lambda level: level["qps"])
    result = {
        "direct_same_p50_ms": own_b1["latency_ms"]["p50"], "direct_same_qps": max(level["qps"] for level in own),
        "direct_best_p50_ms": best_b1["latency_ms"]["p50"], "direct_best_p50_setting": best_b1["label"],
        "direct_best_qps": best_direct["qps"],
        "direct_best_qps_setting": "{} batch {}".format(best_direct["label"], best_direct["batch_size"]),
        "served_best_qps": best_served["qps"],
        "served_best_qps_at": "{} concurrency {}".format(best_served["protocol"], best_served["concurrency"]),
        "limit_throughput": best_served["qps"] / best_direct["qps"],
    }
    for protocol_name in ("http", "grpc"):
        at_one = _at(served, protocol=protocol_name, concurrency=1)
        if at_one:
            p50 = at_one["latency_ms"]["p50"]
            result["served_{}_p50_ms".format(protocol_name)] = p50
            result["overhead_p50_{}".format(protocol_name)] = p50 / own_b1["latency_ms"]["p50"]
            result["limit_p50_{}".format(protocol_name)] = p50 / best_b1["latency_ms"]["p50"]
    result["targets"] = {key: {"target": value, "met": _met(key, result.get(key), value)}
                         for key, value in TARGETS.items()}
    return result


def _met(key, value, target):
    if value is None:
        return None
    return value >= target if key == "limit_throughput" else value <= target


# ---------------------------------------------------------------- report

def describe_level(label, level):
    latency = level["latency_ms"]
    cores = level.get("client_cores")
    return "{:<34} {:7.1f} img/s  p50 {:7.1f} ms  p99 {:7.1f} ms  errors {}  {}{}".format(
        label, level["qps"], latency.get("p50", float("nan")), latency.get("p99", float("nan")), level["errors"],
        "stable" if level["stable"] else "NOT stable after {} trials".format(level["trials"]),
        "" if cores is None else "  cores: load {:.2f}{}".format(
            cores, "" if level.get("service_cores") is None else ", service {:.2f}".format(level["service_cores"])))


def machine():
    return {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "load_average": os.getloadavg()}


def _cores(level):
    parts = []
    if level.get("client_cores") is not None:
        parts.append("{:.2f}".format(level["client_cores"]))
    if level.get("service_cores") is not None:
        parts.append("{:.2f}".format(level["service_cores"]))
    return " / ".join(parts) or "-"


def direct_baselines(r):
    """Both direct baselines of ratios() r, as a markdown list item (benchmark.md, tune.md)."""
    return ("- direct with the service's settings: p50 {:.1f} ms at batch 1; direct at its best: p50 {:.1f} ms ({}), "
            "{:.1f} img/s ({})".format(r["direct_same_p50_ms"], r["direct_best_p50_ms"], r["direct_best_p50_setting"],
                                       r["direct_best_qps"], r["direct_best_qps_setting"]))


def markdown(document):
    lines = ["| path | setting | img/s | p50 ms | p99 ms | errors | stable | cores (load / service) | proven |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | --- |"]
    for level in document["served"]:
        latency = level["latency_ms"]
        lines.append("| served ({}) | concurrency {} | {:.1f} | {:.1f} | {:.1f} | {} | {} | {}{} | {} |".format(
            level["protocol"].upper() if level["protocol"] == "http" else "gRPC", level["concurrency"],
            level["qps"], latency["p50"], latency["p99"], level["errors"],
            "yes" if level["stable"] else "no ({} trials)".format(level["trials"]), _cores(level),
            " client-bound" if level.get("client_bound") else "", document.get("service_proven", "-")))
    for level in document["direct"]:
        latency = level["latency_ms"]
        lines.append("| direct | {}, batch {} | {:.1f} | {:.1f} | {:.1f} | {} | {} | {} | {} |".format(
            level["label"], level["batch_size"], level["qps"], latency["p50"], latency["p99"], level["errors"],
            "yes" if level["stable"] else "no ({} trials)".format(level["trials"]), _cores(level),
            "yes" if level["proven"] else "no"))
    r = document["ratios"]
    lines += ["", direct_baselines(r)]
    for key, name in (("overhead_p50_http", "serving overhead, HTTP p50 / direct same settings"),
                      ("overhead_p50_grpc", "serving overhead, gRPC p50 / direct same settings"),
                      ("limit_p50_http", "distance to the limit, HTTP p50 / best direct p50"),
                      ("limit_p50_grpc", "distance to the limit, gRPC p50 / best direct p50"),
                      ("limit_throughput", "distance to the limit, best served img/s / best direct img/s")):
        if key in r:
            target = r["targets"].get(key)
            lines.append("- {}: **{:.2f}**{}".format(name, r[key], "" if not target else " (target {} {}: {})".format(
                ">=" if key == "limit_throughput" else "<=", target["target"], "met" if target["met"] else "not met")))
    return "\n".join(lines) + "\n"


def plot(document, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = document["ratios"]
    figure, (latency_axis, qps_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for protocol_name, style in (("http", "o-"), ("grpc", "s--")):
        levels = [level for level in document["served"] if level["protocol"] == protocol_name]
        if not levels:
            continue
        x = [level["concurrency"] for level in levels]
        latency_axis.plot(x, [level["latency_ms"]["p50"] for level in levels], style, label="served {} p50".format(
            protocol_name))
        qps_axis.plot(x, [level["qps"] for level in levels], style, label="served {}".format(protocol_name))
    for axis, same, best, unit in ((latency_axis, r["direct_same_p50_ms"], r["direct_best_p50_ms"], "p50 batch 1"),
                                   (qps_axis, r["direct_same_qps"], r["direct_best_qps"], "best img/s")):
        axis.axhline(same, color="gray", linestyle="-.", label="direct, service's settings ({})".format(unit))
        axis.axhline(best, color="black", linestyle=":", label="direct at its best ({})".format(unit))
    latency_axis.set(xlabel="concurrency (closed loop)", ylabel="latency (ms)", ylim=(0, None))
    qps_axis.set(xlabel="concurrency (closed loop)", ylabel="images per second", ylim=(0, None))
    for axis in (latency_axis, qps_axis):
        axis.set_xscale("log", base=2)
        axis.minorticks_off()
        levels = sorted({level["concurrency"] for level in document["served"]})
        axis.set_xticks(levels)
        axis.set_xticklabels([str(c) for c in levels])
        axis.legend(fontsize=7)
    figure.suptitle(document.get("title", "served vs direct"))
    figure.tight_layout()
    figure.savefig(str(path), dpi=110)
    plt.close(figure)


def write_reports(document, out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "benchmark.json").write_text(json.dumps(document, indent=2) + "\n")
    (out_dir / "benchmark.md").write_text(markdown(document))
    plot(document, out_dir / "benchmark.png")
    return out_dir
