"""Direct Paddle Inference measured in a process of its own, so that Paddle's own output (on stderr) can prove
which settings took effect: `python -m tipc_serving.bench.direct SETTINGS_JSON MODEL_DIR IMAGES BATCHES RULE_JSON`
prints one JSON document on stdout (a level per batch size, each with the CPU cores the process used).

The measurement is the same work the service does per image: decode and preprocess, predict, top-k.
"""
import json
import sys
import time

import psutil

from ..model import images, postprocess, preprocess
from ..model.inference import InferenceSettings, Predictor
from . import load
from .stability import StabilityRule, run_until_stable


def trial(predictor, encoded, batch_size, count, topk=postprocess.DEFAULT_TOPK):
    """Classify `count` images (cycling through `encoded`) in batches, one timed sample per batch."""
    result = load.LoadResult(concurrency=1)
    me = psutil.Process()
    cpu_before = sum(me.cpu_times()[:2])
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
    result.client_cores = (sum(me.cpu_times()[:2]) - cpu_before) / result.wall_seconds if result.wall_seconds else None
    return result


def measure(settings, model_dir, image_path, batch_sizes, rule):
    """One level per batch size: images/s, latency per batch, and the cores the process kept busy (the
    witness of its thread count: Paddle prints nothing about its math threads)."""
    encoded = [images.read_image_bytes(path) for path in images.list_images(image_path)]
    predictor = Predictor(model_dir, settings, quiet=False)  # Paddle's lines prove the settings
    levels = []
    for batch_size in batch_sizes:
        trial(predictor, encoded, batch_size, max(rule.warmup_requests, batch_size))
        level = run_until_stable(lambda: trial(predictor, encoded, batch_size,
                                               max(rule.trial_requests, 2 * batch_size)), rule)
        level["qps"] *= batch_size  # images per second; latency stays per batch
        level.update(batch_size=batch_size)
        levels.append(level)
        print("direct {} batch {}: {:.1f} img/s".format(settings.as_dict(), batch_size, level["qps"]),
              file=sys.stderr, flush=True)
    return levels


def main(argv):
    settings, model_dir, image_path, batches, rule = argv
    levels = measure(InferenceSettings(**json.loads(settings)), model_dir, image_path,
                     [int(b) for b in batches.split(",")], StabilityRule(**json.loads(rule)))
    print(json.dumps(levels))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
