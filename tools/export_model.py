"""Build a classifier from code and save it as a Paddle inference model (seed step 2.2).

    python tools/export_model.py [--model alexnet] [--seed 0 | --pretrained FILE.pdparams]
                                 [--save_dir inference/alexnet_infer]

Weights are seeded (reproducible, no download) unless --pretrained names a .pdparams file. The
saved model ends in softmax, so it outputs probabilities. The model is written to a temporary folder
and moved into place only when complete; export_info.json beside it records how it was made.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tipc_serving.model import registry as models  # noqa: E402
from tipc_serving.errors import UserError, cli  # noqa: E402
from tipc_serving.model.inference import MODEL_PREFIX  # noqa: E402

INFO_FILENAME = "export_info.json"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="alexnet", help="one of: " + ", ".join(sorted(models.REGISTRY)))
    parser.add_argument("--seed", type=int, default=0, help="seed of the random initialisation (default 0)")
    parser.add_argument("--pretrained", help="a .pdparams file with trained weights (replaces --seed)")
    parser.add_argument("--num_classes", type=int, default=1000)
    parser.add_argument("--save_dir", "--save-dir", help="output folder (default inference/<model>_infer)")
    parser.add_argument("--input_name", default="x", help="the feed variable's name (default x); a repository's "
                        "web service feeds the name its own export gives")
    return parser.parse_args(argv)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_pretrained(layer, path):
    import paddle

    if not os.path.isfile(path):
        raise UserError("--pretrained: no such file: {}".format(path))
    try:
        state = paddle.load(path)
    except Exception as err:  # paddle raises many types for a bad file
        raise UserError("--pretrained: cannot read {}: {}".format(path, str(err).splitlines()[0])) from None
    if not isinstance(state, dict):
        raise UserError("--pretrained: {} does not hold a state dict".format(path))
    expected = layer.state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise UserError("--pretrained: {} lacks {} parameters of {}, e.g. '{}'".format(
            path, len(missing), type(layer).__name__, missing[0]))
    for name, value in expected.items():
        if list(state[name].shape) != list(value.shape):
            raise UserError("--pretrained: parameter '{}' has shape {}, the model expects {}".format(
                name, list(state[name].shape), list(value.shape)))
    layer.set_state_dict(state)


def export(args):
    import paddle
    from paddle.static import InputSpec

    paddle.set_device("cpu")
    classifier = models.build(args.model, args.num_classes)
    if args.pretrained:
        load_pretrained(classifier, args.pretrained)
    else:
        models.seeded_init(classifier, args.seed)
    model = paddle.nn.Sequential(classifier, paddle.nn.Softmax(axis=-1))
    model.eval()
    static_model = paddle.jit.to_static(
        model, input_spec=[InputSpec(shape=list(models.INPUT_SHAPE), dtype="float32", name=args.input_name)])

    save_dir = Path(args.save_dir or os.path.join("inference", "{}_infer".format(args.model)))
    save_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=str(save_dir.parent)))
    try:
        paddle.jit.save(static_model, str(staging / MODEL_PREFIX))
        info = {
            "model": args.model,
            "num_classes": args.num_classes,
            "weights": "pretrained" if args.pretrained else "seeded",
            "seed": None if args.pretrained else args.seed,
            "init": None if args.pretrained else "he_normal, head gain {}".format(models.HEAD_GAIN),
            "pretrained_sha256": sha256_of(args.pretrained) if args.pretrained else None,
            "paddle_version": paddle.__version__,
            "input_shape": models.INPUT_SHAPE,
        }
        (staging / INFO_FILENAME).write_text(json.dumps(info, indent=2) + "\n")
        if save_dir.exists():
            shutil.rmtree(str(save_dir))
        staging.chmod(0o755)
        staging.rename(save_dir)
    finally:
        if staging.exists():
            shutil.rmtree(str(staging), ignore_errors=True)
    return save_dir


@cli("export_model.py")
def main(argv=None):
    args = parse_args(argv)
    if args.model not in models.REGISTRY:
        models.build(args.model)  # raises the one-line error naming the known models
    save_dir = export(args)
    print("exported {} ({}) to {}".format(
        args.model, "pretrained " + args.pretrained if args.pretrained else "seed {}".format(args.seed), save_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
