"""The Paddle Inference reference (seed step 2.9): classify images with the exported model directly.

    python tools/infer.py --model-dir inference/alexnet_infer --img-path images/ [--topk 5]
                          [--use-gpu] [--cpu-threads 2] [--use-mkldnn] [--ir-optim]
                          [--output-json FILE] [--benchmark]

Prints `image_name: X, class_id: N, prob: P, topk: ...` per image, using the same preprocessing and
postprocessing code as the service, and the same predictor settings as Paddle Serving's defaults
(2 CPU threads, IR optim off, memory optim on). An image that cannot be read is reported on stderr
in one line and the exit status is 1; the other images are still classified.
"""
import argparse
import hashlib
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tipc_serving.bench import stats  # noqa: E402
from tipc_serving.model import images, postprocess, preprocess  # noqa: E402
from tipc_serving.errors import UserError, cli  # noqa: E402
from tipc_serving.model.inference import InferenceSettings, Predictor, model_files  # noqa: E402
from tipc_serving.verdict.result_lines import ImageResult, format_line, format_prob  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", "--model_dir", required=True, help="folder with inference.pdmodel/.pdiparams")
    parser.add_argument("--img-path", "--img_path", "--image_dir", "--img_dir", dest="img_path", required=True,
                        help="an image file or a folder of images")
    parser.add_argument("--use-gpu", "--use_gpu", action="store_true")
    parser.add_argument("--gpu-id", type=int, default=0)
    parser.add_argument("--cpu-threads", "--cpu_threads", type=int, default=InferenceSettings.cpu_threads)
    parser.add_argument("--use-mkldnn", "--use_mkldnn", action="store_true")
    parser.add_argument("--ir-optim", "--ir_optim", action="store_true")
    parser.add_argument("--no-mem-optim", action="store_true", help="turn memory optim off (Serving: mem_optim)")
    parser.add_argument("--use-trt", action="store_true")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "int8"])
    parser.add_argument("--topk", type=int, default=postprocess.DEFAULT_TOPK)
    parser.add_argument("--batch-size", type=int, default=1, help="images per predictor run")
    parser.add_argument("--output-json", help="write the top-k results per image to this file")
    parser.add_argument("--benchmark", action="store_true", help="time each stage and report peak RSS")
    parser.add_argument("--warmup", type=int, default=3, help="--benchmark: untimed rounds first")
    parser.add_argument("--repeats", type=int, default=10, help="--benchmark: timed rounds over the images")
    args = parser.parse_args(argv)
    if args.topk < 1 or args.batch_size < 1 or args.cpu_threads < 1:
        parser.error("--topk, --batch-size and --cpu-threads must be at least 1")
    return args


def settings_from(args):
    return InferenceSettings(
        use_gpu=args.use_gpu, gpu_id=args.gpu_id, cpu_threads=args.cpu_threads, use_mkldnn=args.use_mkldnn,
        ir_optim=args.ir_optim, mem_optim=not args.no_mem_optim, use_trt=args.use_trt, precision=args.precision)


def load_inputs(paths):
    """(name, CHW array) for every readable image, ImageResults with the error for the rest, the sha256
    of every image read (golden files compare only answers to the same bytes) and of every preprocessed
    tensor (a golden file names a preprocessing drift as such), and the bytes of every readable image
    (in the order of the inputs: --benchmark times them)."""
    inputs, failures, hashes, tensor_hashes, encoded = [], [], {}, {}, []
    for path in paths:
        try:
            data = images.read_image_bytes(path)
            hashes[path.name] = hashlib.sha256(data).hexdigest()
            tensor = preprocess.preprocess_bytes(data)
            tensor_hashes[path.name] = hashlib.sha256(tensor.tobytes()).hexdigest()
            inputs.append((path.name, tensor))
            encoded.append(data)
        except (preprocess.ImageError, UserError) as err:
            failures.append(ImageResult(path.name, err_no=1, err_msg="{}: {}".format(path, err)))
    return inputs, failures, hashes, tensor_hashes, encoded


def classify(predictor, inputs, topk, batch_size):
    """ImageResults with the top-k and the whole probability vector (the checker compares every served
    class with its own reference probability)."""
    results = []
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start:start + batch_size]
        output = predictor.run([chw for _, chw in chunk])
        for (name, _), row in zip(chunk, postprocess.rows(output)):
            class_ids, probs = postprocess.topk(row, topk)
            everything = [float(format_prob(p)) for p in postprocess.to_probabilities(row)]
            results.append(ImageResult(name, class_ids, probs, all_probs=everything))
    return results


def benchmark(predictor, encoded, args):
    """Per-stage latency over `repeats` rounds of the images (their bytes), after `warmup` untimed rounds."""
    timings = {"preprocess": [], "inference": [], "postprocess": []}
    timed_images = 0
    for round_index in range(args.warmup + args.repeats):
        for start in range(0, len(encoded), args.batch_size):
            chunk = encoded[start:start + args.batch_size]
            t0 = time.perf_counter()
            batch = [preprocess.preprocess_bytes(data) for data in chunk]
            t1 = time.perf_counter()
            output = predictor.run(batch)
            t2 = time.perf_counter()
            postprocess.classify_batch(output, args.topk)
            t3 = time.perf_counter()
            if round_index >= args.warmup:
                timed_images += len(chunk)
                timings["preprocess"].append(t1 - t0)
                timings["inference"].append(t2 - t1)
                timings["postprocess"].append(t3 - t2)
    report = {stage: stats.summarize(values, scale=1000.0) for stage, values in timings.items()}
    total = [sum(parts) for parts in zip(*timings.values())]
    report["total"] = stats.summarize(total, scale=1000.0)
    report["images_per_second"] = timed_images / sum(total) if total else 0.0
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    report.update(batch_size=args.batch_size, warmup=args.warmup, repeats=args.repeats, images=len(encoded))
    return report


def print_benchmark(report):
    print("benchmark: batch_size {batch_size}, {images} images x {repeats} rounds after {warmup} warm-up".format(**report))
    for stage in ("preprocess", "inference", "postprocess", "total"):
        s = report[stage]
        print("  {:<12} mean {:8.2f} ms  p50 {:8.2f} ms  p99 {:8.2f} ms".format(stage, s["mean"], s["p50"], s["p99"]))
    print("  throughput   {:.1f} images/s".format(report["images_per_second"]))
    print("  peak RSS     {:.1f} MB".format(report["peak_rss_mb"]))


@cli("infer.py")
def main(argv=None):
    args = parse_args(argv)
    model_files(args.model_dir)
    paths = images.list_images(args.img_path)
    predictor = Predictor(args.model_dir, settings_from(args))
    inputs, failures, hashes, tensor_hashes, encoded = load_inputs(paths)
    results = classify(predictor, inputs, args.topk, args.batch_size) if inputs else []
    for result in results:
        print(format_line(result))
    for failure in failures:
        print("infer.py: error: {}".format(failure.err_msg), file=sys.stderr)

    report = None
    if args.benchmark and inputs:
        report = benchmark(predictor, encoded, args)
        print_benchmark(report)
    if args.output_json:
        document = {
            "tool": "tools/infer.py",
            "model_dir": str(args.model_dir),
            "settings": predictor.settings.as_dict(),
            "topk": args.topk,
            "results": [r.as_dict() for r in results],
            "image_sha256": hashes,
            "input_sha256": tensor_hashes,
            "errors": [{"image": f.image, "error": f.err_msg} for f in failures],
        }
        if report:
            document["benchmark"] = report
        Path(args.output_json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output_json).write_text(json.dumps(document, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
