"""The benchmark: statistics and the stability rule on synthetic latencies, then a tiny real run (issue 6).
Figures are printed by the benchmark, never asserted here."""
import json
import random

import numpy as np
import pytest

from conftest import IMAGES, PYTHON, REPO_ROOT, SERVING_DIR, run
from servicekit import running_service
from tipc_serving.bench import benchmark as bench, load, stats


def synthetic_trial(qps, requests=10, latency=0.05):
    """A LoadResult with `requests` samples spread so that it ran at `qps`."""
    result = load.LoadResult(concurrency=1)
    result.samples = [load.Sample(started=i / qps, latency=latency, ok=True) for i in range(requests)]
    result.wall_seconds = requests / qps
    return result


@pytest.mark.parametrize("values", [[5.0], [1, 2, 3, 4], list(range(1, 101)), [3.5, 1.25, 9.0, 2.0, 2.0, 7.75]])
@pytest.mark.parametrize("q", [0, 1, 50, 90, 99, 100])
def test_percentile_matches_numpy(values, q):
    assert stats.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_summarize_scales_seconds_to_milliseconds():
    summary = stats.summarize([0.010, 0.020, 0.030, 0.040], scale=1000.0)
    assert summary["count"] == 4 and summary["mean"] == pytest.approx(25.0)
    assert summary["p50"] == pytest.approx(25.0) and summary["max"] == pytest.approx(40.0)


@pytest.mark.parametrize("throughputs, stable", [
    ([10.0, 10.5, 10.9], True),          # max/min = 1.09
    ([10.0, 10.5, 11.5], False),         # max/min = 1.15
    ([30.0, 10.0, 10.2, 10.4], True),    # only the last three count
    ([10.0, 10.0], False),               # too few windows
    ([0.0, 0.0, 0.0], False),            # nothing completed is not stable
])
def test_stability_rule(throughputs, stable):
    assert bench.is_stable(throughputs, windows=3, tolerance=0.10) is stable


def test_run_until_stable_stops_as_soon_as_three_trials_agree():
    rates = iter([50.0, 20.0, 30.0, 31.0, 30.5, 99.0])
    level = bench.run_until_stable(lambda: synthetic_trial(next(rates)), bench.StabilityRule(max_trials=6))
    assert level["stable"] and level["trials"] == 5
    assert level["trial_qps"] == [50.0, 20.0, 30.0, 31.0, 30.5]
    assert level["requests"] == 30  # the last three trials only
    assert level["qps"] == pytest.approx(30 / (10 / 30.0 + 10 / 31.0 + 10 / 30.5))


def test_run_until_stable_reports_when_the_rule_is_not_met():
    rng = random.Random(3)
    level = bench.run_until_stable(lambda: synthetic_trial(rng.choice([10.0, 20.0, 40.0])),
                                   bench.StabilityRule(max_trials=4))
    assert level["trials"] == 4 and level["stable"] is False
    assert "NOT stable after 4 trials" in bench.describe_level("concurrency 1", level)


def level(qps, p50, concurrency=None, batch_size=None, cpu_threads=2):
    data = {"qps": qps, "latency_ms": {"p50": p50, "p90": p50 * 1.1, "p99": p50 * 1.3}, "errors": 0,
            "stable": True, "trials": 3, "rss_mb_before": 1000.0, "rss_mb_after": 1001.0}
    if concurrency is not None:
        data["concurrency"] = concurrency
    if batch_size is not None:
        data.update(batch_size=batch_size, cpu_threads=cpu_threads)
    return data


def test_ratios_use_concurrency_1_and_the_best_of_each_side():
    served = [level(30.0, 32.0, concurrency=1), level(36.0, 55.0, concurrency=2)]
    direct = [level(47.0, 21.0, batch_size=1), level(64.0, 120.0, batch_size=8)]
    ratios = bench.ratios(served, direct)
    assert ratios["p50_ratio_at_concurrency_1"] == pytest.approx(32.0 / 21.0)
    assert ratios["qps_ratio"] == pytest.approx(36.0 / 64.0)
    assert ratios["best_served_concurrency"] == 2 and ratios["best_direct_batch_size"] == 8
    assert not ratios["p50_target_met"] and not ratios["qps_target_met"]


def test_reports_are_written(tmp_path):
    document = {"title": "synthetic", "served": [level(30.0, 32.0, concurrency=c) for c in (1, 2, 4, 8)],
                "direct": [level(47.0, 21.0, batch_size=1), level(64.0, 120.0, batch_size=8)]}
    document["ratios"] = bench.ratios(document["served"], document["direct"])
    bench.write_reports(document, tmp_path)
    markdown = (tmp_path / "benchmark.md").read_text()
    assert "| served (HTTP) | concurrency 8 |" in markdown and "**1.52**" in markdown and "not met" in markdown
    assert json.loads((tmp_path / "benchmark.json").read_text())["ratios"]["qps_ratio"] == pytest.approx(30 / 64)
    assert (tmp_path / "benchmark.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def benchmark_a_service(serving_server, model, reference_doc, tmp_path, images, *sweep):
    """tools/benchmark.py against a fresh service, with a reference to check every answer by."""
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps(reference_doc))
    with running_service(serving_server, tmp_path / "service") as svc:
        return run([PYTHON, REPO_ROOT / "tools" / "benchmark.py", "--url", svc.url, "--pgid", svc.process.pid,
                    "--model-dir", model, "--images", images, "--out", tmp_path / "bench",
                    "--config", SERVING_DIR / "config.yml", "--name", "alexnet", "--reference", reference, *sweep],
                   timeout=600)


@pytest.mark.e2e
def test_tiny_benchmark_end_to_end(alexnet_model, alexnet_serving_server, alexnet_reference, tmp_path):
    result = benchmark_a_service(alexnet_serving_server, alexnet_model, alexnet_reference, tmp_path, IMAGES,
                                 "--concurrency", "1,2", "--trial-requests", "4", "--max-trials", "2",
                                 "--windows", "2", "--warmup", "1")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    document = json.loads((tmp_path / "bench" / "benchmark.json").read_text())
    assert [lvl["concurrency"] for lvl in document["served"]] == [1, 2]
    assert all(lvl["errors"] == 0 and lvl["requests"] == 8 for lvl in document["served"])
    assert document["direct"][0]["batch_size"] == 1 and document["direct"][0]["cpu_threads"] == 2
    assert document["settings"]["cpu_threads"] == 2 and document["settings"]["ir_optim"] is False
    assert "served/direct p50 at concurrency 1" in result.stdout
    assert (tmp_path / "bench" / "benchmark.png").exists()


@pytest.mark.e2e
def test_benchmark_counts_wrong_answers_as_errors(alexnet_model, alexnet_serving_server, alexnet_reference, tmp_path):
    wrong = json.loads(json.dumps(alexnet_reference))
    for entry in wrong["results"]:
        entry["class_ids"][0] += 1  # no served answer can match this reference
    result = benchmark_a_service(alexnet_serving_server, alexnet_model, wrong, tmp_path, IMAGES / "coffee.jpg",
                                 "--concurrency", "1", "--trial-requests", "2", "--max-trials", "1",
                                 "--windows", "1", "--warmup", "1")
    assert result.returncode == 1
    assert "served requests failed or answered wrongly" in result.stderr and "class" in result.stderr
