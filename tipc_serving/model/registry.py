"""The registry of classifiers the export tool can build from code. Adding a model = one entry."""
from .. import REPO_ROOT
from ..errors import UserError
from .inference import MODEL_FILENAME, PARAMS_FILENAME

INPUT_SHAPE = [None, 3, 224, 224]
EXPORT_TOOL = REPO_ROOT / "tools" / "export_model.py"


def _vision(name):
    def build(num_classes):
        import paddle.vision.models as models

        return getattr(models, name)(num_classes=num_classes)

    return build


# name -> builder(num_classes) returning a paddle.nn.Layer that maps (N, 3, 224, 224) to logits.
REGISTRY = {
    "alexnet": _vision("alexnet"),
    "mobilenet_v3_small": _vision("mobilenet_v3_small"),
    "mobilenet_v2": _vision("mobilenet_v2"),
    "resnet18": _vision("resnet18"),
}


def export_argv(model_name, save_dir, input_name=None):
    """tools/export_model.py's arguments (after the interpreter) for one of REGISTRY's models; input_name: the
    feed name, when a repository's own export gives another than x."""
    return [str(EXPORT_TOOL), "--model", model_name, "--save_dir", str(save_dir)] + (
        ["--input_name", input_name] if input_name else [])


def export_names_problem(model_file, params_file):
    """Why an export by tools/export_model.py cannot stand for a model whose files are named so, or None."""
    if (model_file, params_file) == (MODEL_FILENAME, PARAMS_FILENAME):
        return None
    return "tools/export_model.py writes {} and {}; the config names {} and {}".format(
        MODEL_FILENAME, PARAMS_FILENAME, model_file, params_file)


# He-normal weights keep the activations' scale through the ReLU layers; the classifier head is
# scaled up so that an untrained model still gives decisive answers (top-1 well above the runner-up).
# With Paddle's default initialisation every probability is about 1/1000, and a comparison within
# TIPC's tolerance of 1e-3 could not tell two different models apart.
HEAD_GAIN = 3.0


def seeded_init(layer, seed):
    """Re-initialise every Conv2D and Linear of `layer` from `seed`: He-normal weights, zero biases."""
    import numpy as np
    import paddle

    paddle.seed(seed)
    weighted = [sub for sub in layer.sublayers() if isinstance(sub, (paddle.nn.Conv2D, paddle.nn.Linear))]
    head = [sub for sub in weighted if isinstance(sub, paddle.nn.Linear)][-1]
    for sub in weighted:
        shape = sub.weight.shape
        # Conv2D weights are [out, in, kh, kw]; Linear weights are [in, out].
        fan_in = float(np.prod(shape[1:])) if isinstance(sub, paddle.nn.Conv2D) else float(shape[0])
        std = (2.0 / fan_in) ** 0.5 * (HEAD_GAIN if sub is head else 1.0)
        sub.weight.set_value(paddle.randn(shape, dtype=sub.weight.dtype) * std)
        if sub.bias is not None:
            sub.bias.set_value(paddle.zeros(sub.bias.shape, dtype=sub.bias.dtype))


def build(name, num_classes=1000):
    try:
        builder = REGISTRY[name]
    except KeyError:
        raise UserError("unknown model '{}'; known models: {}".format(name, ", ".join(sorted(REGISTRY)))) from None
    return builder(num_classes)
