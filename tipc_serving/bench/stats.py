"""Small statistics for latency samples, shared by the reference's --benchmark and the benchmark."""
import math


def percentile(values, q):
    """The q-th percentile (0..100) with linear interpolation between ranks, as numpy's default."""
    if not values:
        raise ValueError("percentile of an empty sample")
    if not 0 <= q <= 100:
        raise ValueError("percentile must be within 0..100, got {}".format(q))
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = int(math.floor(rank)), int(math.ceil(rank))
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values, scale=1.0):
    """count, mean, p50, p90, p99, min, max of values multiplied by scale (1000 turns s into ms)."""
    if not values:
        return {"count": 0}
    scaled = [v * scale for v in values]
    return {
        "count": len(scaled),
        "mean": sum(scaled) / len(scaled),
        "p50": percentile(scaled, 50),
        "p90": percentile(scaled, 90),
        "p99": percentile(scaled, 99),
        "min": min(scaled),
        "max": max(scaled),
    }
