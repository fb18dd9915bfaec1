"""The served model against direct Paddle Inference, on the same cores, in the same run.

Served: closed-loop HTTP load on 127.0.0.1 at a sweep of concurrencies. Direct: the same
preprocessing, predictor settings and postprocessing in this process, batch 1 (the latency to beat)
and the best throughput found over a few in-process variants. Every level runs in trials until the
last `windows` trials agree on throughput within `tolerance` (or `max_trials` is spent, which the
report says), after a warm-up. Figures are reported, never asserted.
"""
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..model import postprocess, preprocess
from ..service.process import gpu_memory_mb
from . import load, stats

TARGET_P50_RATIO = 1.05   # served p50 at concurrency 1 / direct batch-1 p50: at most
TARGET_QPS_RATIO = 0.95   # best served QPS / best direct QPS: at least


@dataclass
class StabilityRule:
    windows: int = 3          # consecutive trials that must agree
    tolerance: float = 0.10   # max/min throughput of those trials, minus 1
    max_trials: int = 6
    trial_requests: int = 60
    trial_seconds: float = 10.0
    warmup_requests: int = 8


def is_stable(throughputs, windows, tolerance):
    """True when the last `windows` throughputs agree within `tolerance` (max/min - 1)."""
    if len(throughputs) < windows:
        return False
    last = throughputs[-windows:]
    return min(last) > 0 and max(last) / min(last) - 1.0 <= tolerance


def run_until_stable(trial, rule):
    """Call trial() -> LoadResult until stable or max_trials; summarise the last `windows` trials."""
    trials = []
    while len(trials) < rule.max_trials:
        trials.append(trial())
        if is_stable([t.qps for t in trials], rule.windows, rule.tolerance):
            break
    counted = trials[-rule.windows:]
    samples = [s for t in counted for s in t.samples]
    wall = sum(t.wall_seconds for t in counted)
    return {
        "stable": is_stable([t.qps for t in trials], rule.windows, rule.tolerance),
        "trials": len(trials),
        "trial_qps": [round(t.qps, 3) for t in trials],
        "requests": len(samples),
        "errors": sum(1 for s in samples if not s.ok),
        "first_errors": sorted({s.problem for s in samples if not s.ok})[:5],
        "qps": len(samples) / wall if wall > 0 else 0.0,
        "latency_ms": stats.summarize([s.latency for s in samples], scale=1000.0),
    }


# ---------------------------------------------------------------- served

def served_sweep(url, pgid, payloads, concurrencies, rule, log=print):
    levels = []
    for concurrency in concurrencies:
        load.closed_loop(url, payloads, concurrency, max(rule.warmup_requests, concurrency * 2), rule.trial_seconds)
        rss_before = load.group_rss_mb(pgid)
        level = run_until_stable(lambda: load.closed_loop(url, payloads, concurrency, rule.trial_requests,
                                                          rule.trial_seconds), rule)
        level.update(concurrency=concurrency, rss_mb_before=rss_before, rss_mb_after=load.group_rss_mb(pgid),
                     gpu_mb=gpu_memory_mb(pgid))
        levels.append(level)
        log("served  " + describe_level("concurrency {}".format(concurrency), level))
    return levels


# ---------------------------------------------------------------- direct

def direct_trial(predictor, encoded, batch_size, count, topk):
    """Classify `count` images (cycling through `encoded`) in batches, one timed sample per batch."""
    result = load.LoadResult(concurrency=1)
    start = time.monotonic()
    index = 0
    while index < count:
        chunk = [encoded[(index + i) % len(encoded)] for i in range(batch_size)]
        sent = time.monotonic()
        output = predictor.run([preprocess.preprocess_bytes(data) for data in chunk])
        postprocess.classify_batch(output, topk)
        result.samples.append(load.Sample(sent, time.monotonic() - sent, True))
        index += batch_size
    result.wall_seconds = time.monotonic() - start
    return result


def direct_sweep(model_dir, settings, encoded, variants, rule, topk=postprocess.DEFAULT_TOPK, log=print):
    """variants: (cpu_threads, batch_size) pairs; the first must be the service's threads at batch 1
    (the latency reference); the others look for the best throughput these cores give in-process."""
    from dataclasses import replace

    from ..model.inference import Predictor

    levels = []
    predictors = {}
    for cpu_threads, batch_size in variants:
        if cpu_threads not in predictors:
            predictors[cpu_threads] = Predictor(model_dir, replace(settings, cpu_threads=cpu_threads))
        predictor = predictors[cpu_threads]
        direct_trial(predictor, encoded, batch_size, rule.warmup_requests, topk)
        level = run_until_stable(lambda: direct_trial(predictor, encoded, batch_size, rule.trial_requests, topk), rule)
        level["qps"] *= batch_size  # images per second; latency stays per batch
        level.update(batch_size=batch_size, cpu_threads=cpu_threads)
        levels.append(level)
        log("direct  " + describe_level("batch {} x{}t".format(batch_size, cpu_threads), level))
    return levels


def direct_variants(service_threads, cores=None):
    """The service's setting at batch 1, then larger batches, then every core at batch 1."""
    cores = cores or os.cpu_count() or 1
    variants = [(service_threads, 1), (service_threads, 4), (service_threads, 8)]
    if cores != service_threads:
        variants.append((cores, 1))
    return variants


# ---------------------------------------------------------------- report

def describe_level(label, level):
    latency = level["latency_ms"]
    return "{:<14} {:7.1f} img/s  p50 {:7.1f} ms  p90 {:7.1f} ms  p99 {:7.1f} ms  errors {}  {}".format(
        label, level["qps"], latency["p50"], latency["p90"], latency["p99"], level["errors"],
        "stable" if level["stable"] else "NOT stable after {} trials".format(level["trials"]))


def ratios(served, direct):
    batch1 = direct[0]  # the service's own threads, batch 1
    at_one = next((level for level in served if level["concurrency"] == 1), served[0])
    best_served = max(served, key=lambda level: level["qps"])
    best_direct = max(direct, key=lambda level: level["qps"])
    p50_ratio = at_one["latency_ms"]["p50"] / batch1["latency_ms"]["p50"]
    qps_ratio = best_served["qps"] / best_direct["qps"]
    return {
        "p50_ratio_at_concurrency_1": p50_ratio,
        "best_served_qps": best_served["qps"], "best_served_concurrency": best_served["concurrency"],
        "best_direct_qps": best_direct["qps"], "best_direct_batch_size": best_direct["batch_size"],
        "best_direct_cpu_threads": best_direct["cpu_threads"],
        "qps_ratio": qps_ratio,
        "targets": {"p50_ratio_at_most": TARGET_P50_RATIO, "qps_ratio_at_least": TARGET_QPS_RATIO},
        "p50_target_met": p50_ratio <= TARGET_P50_RATIO,
        "qps_target_met": qps_ratio >= TARGET_QPS_RATIO,
    }


def machine():
    return {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "load_average": os.getloadavg()}


def markdown(document):
    lines = ["| path | setting | img/s | p50 ms | p90 ms | p99 ms | errors | stable | service RSS MB |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for level in document["served"]:
        latency = level["latency_ms"]
        lines.append("| served (HTTP) | concurrency {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {} | {} | {:.0f} -> {:.0f} |".format(
            level["concurrency"], level["qps"], latency["p50"], latency["p90"], latency["p99"], level["errors"],
            "yes" if level["stable"] else "no ({} trials)".format(level["trials"]),
            level["rss_mb_before"], level["rss_mb_after"]))
    for level in document["direct"]:
        latency = level["latency_ms"]
        lines.append("| direct (Paddle Inference) | batch {}, {} threads | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {} | {} | - |".format(
            level["batch_size"], level["cpu_threads"], level["qps"], latency["p50"], latency["p90"], latency["p99"], level["errors"],
            "yes" if level["stable"] else "no ({} trials)".format(level["trials"])))
    r = document["ratios"]
    lines += ["", "- served/direct p50 at concurrency 1: **{:.2f}** (target <= {}: {})".format(
        r["p50_ratio_at_concurrency_1"], TARGET_P50_RATIO, "met" if r["p50_target_met"] else "not met"),
        "- best served QPS / best direct QPS: **{:.2f}** ({:.1f} at concurrency {} / {:.1f} at batch {} with {} "
        "threads; target >= {}: {})".format(r["qps_ratio"], r["best_served_qps"], r["best_served_concurrency"],
                                            r["best_direct_qps"], r["best_direct_batch_size"],
                                            r["best_direct_cpu_threads"], TARGET_QPS_RATIO,
                                   "met" if r["qps_target_met"] else "not met")]
    return "\n".join(lines) + "\n"


def plot(document, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    served = document["served"]
    levels = [level["concurrency"] for level in served]
    batch1 = document["direct"][0]
    best_direct = max(document["direct"], key=lambda v: v["qps"])
    figure, (latency_axis, qps_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, style in (("p50", "o-"), ("p90", "s--"), ("p99", "^:")):
        latency_axis.plot(levels, [level["latency_ms"][key] for level in served], style, label="served " + key)
    latency_axis.axhline(batch1["latency_ms"]["p50"], color="gray", linestyle="-.", label="direct batch 1 p50")
    latency_axis.set(xlabel="concurrency (closed loop, HTTP)", ylabel="latency (ms)")
    latency_axis.legend()
    qps_axis.plot(levels, [level["qps"] for level in served], "o-", label="served")
    qps_axis.axhline(best_direct["qps"], color="gray", linestyle="-.",
                     label="direct best (batch {}, {} threads)".format(best_direct["batch_size"],
                                                                       best_direct["cpu_threads"]))
    qps_axis.set(xlabel="concurrency (closed loop, HTTP)", ylabel="images per second", ylim=(0, None))
    qps_axis.legend()
    for axis in (latency_axis, qps_axis):
        axis.set_xscale("log", base=2)
        axis.minorticks_off()
        axis.set_xticks(levels)
        axis.set_xticklabels([str(c) for c in levels])
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


def rule_dict(rule):
    return asdict(rule)
