"""Measuring until the numbers hold: trials repeat until the last few agree on throughput."""
from dataclasses import dataclass

from .load import LoadResult


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


def _mean_of(trials, key):
    values = [getattr(t, key) for t in trials if getattr(t, key) is not None]
    return sum(values) / len(values) if values else None


def run_until_stable(trial, rule):
    """Call trial() -> LoadResult until stable or max_trials; summarise the last `windows` trials."""
    trials, stable = [], False
    while len(trials) < rule.max_trials and not stable:
        trials.append(trial())
        stable = is_stable([t.qps for t in trials], rule.windows, rule.tolerance)
    counted = trials[-rule.windows:]
    # the counted trials as one LoadResult: their samples over their summed wall time (its concurrency unused)
    summary = LoadResult(0, [s for t in counted for s in t.samples], sum(t.wall_seconds for t in counted)).summary()
    return {
        "stable": stable,
        "trials": len(trials),
        "trial_qps": [round(t.qps, 3) for t in trials],
        **{key: summary[key] for key in ("requests", "errors", "first_errors", "qps", "latency_ms")},
        "client_cores": _mean_of(counted, "client_cores"),
        "service_cores": _mean_of(counted, "service_cores"),
    }
