"""Paddle Inference, configured the way Paddle Serving 0.9.0's LocalPredictor configures it.

The reference must run the model as the service runs it, or small numeric differences are expected;
`predictor_config` mirrors paddle_serving_app/local_predict.py (memory optim, IR optim switch, feed and
fetch ops off, the same deleted pass, CPU math threads, MKLDNN, GPU / TensorRT precision).
"""
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import UserError

MODEL_PREFIX = "inference"  # paddle.jit.save's prefix: inference.pdmodel + inference.pdiparams
MODEL_FILENAME = MODEL_PREFIX + ".pdmodel"
PARAMS_FILENAME = MODEL_PREFIX + ".pdiparams"


@dataclass
class InferenceSettings:
    use_gpu: bool = False
    gpu_id: int = 0
    cpu_threads: int = 2  # Paddle Serving's local_service_conf default thread_num
    use_mkldnn: bool = False
    mkldnn_cache_capacity: int = 0  # input shapes oneDNN keeps kernels for; 0: not set (Paddle decides), as Serving
    ir_optim: bool = False  # Paddle Serving's default
    mem_optim: bool = True  # Paddle Serving's default
    use_trt: bool = False
    precision: str = "fp32"

    def as_dict(self):
        return asdict(self)


def has_model(model_dir, model_filename, params_filename):
    """Whether model_dir holds both files of an inference model."""
    return (Path(model_dir) / model_filename).is_file() and (Path(model_dir) / params_filename).is_file()


def model_files(model_dir, model_filename=MODEL_FILENAME, params_filename=PARAMS_FILENAME):
    """The model and params paths in model_dir, or a UserError naming what is missing."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UserError("model directory not found: {}".format(model_dir))
    model_file, params_file = model_dir / model_filename, model_dir / params_filename
    for path in (model_file, params_file):
        if not path.is_file():
            raise UserError("model directory {} has no {}".format(model_dir, path.name))
    return model_file, params_file


def _program_desc_class():
    """Paddle's ProgramDesc protobuf class, loaded from its file without importing paddle: the
    service's main process must stay free of paddle (its op processes load it), and importing it
    costs seconds."""
    import importlib.util
    import sys

    name = "tipc_serving._paddle_framework_pb2"
    if name not in sys.modules:
        paddle_spec = importlib.util.find_spec("paddle")
        if paddle_spec is None or paddle_spec.origin is None:
            raise UserError("paddle is not installed in {}".format(sys.executable))
        path = Path(paddle_spec.origin).parent / "fluid" / "proto" / "framework_pb2.py"
        spec = importlib.util.spec_from_file_location(name, str(path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name].ProgramDesc


def check_program(model_file):
    """Refuse a model file that is not a Paddle program: Paddle Inference segfaults on one."""
    from google.protobuf.message import DecodeError

    program = _program_desc_class()()
    try:
        program.ParseFromString(Path(model_file).read_bytes())
    except (DecodeError, OSError) as err:
        raise UserError("{} is not a Paddle inference program: {}".format(model_file, err)) from None
    if not program.blocks or not program.blocks[0].ops:
        raise UserError("{} is not a Paddle inference program: it has no operators".format(model_file))


def predictor_config(model_dir, settings, quiet=True, model_filename=MODEL_FILENAME, params_filename=PARAMS_FILENAME):
    import paddle.inference as paddle_infer

    model_file, params_file = model_files(model_dir, model_filename, params_filename)
    check_program(model_file)
    config = paddle_infer.Config(str(model_file), str(params_file))
    precision = {
        "fp32": paddle_infer.PrecisionType.Float32,
        "fp16": paddle_infer.PrecisionType.Half,
        "int8": paddle_infer.PrecisionType.Int8,
    }.get(settings.precision.lower())
    if precision is None:
        raise UserError("unknown precision '{}' (fp32, fp16 or int8)".format(settings.precision))
    if settings.mem_optim:
        config.enable_memory_optim()
    config.switch_ir_optim(settings.ir_optim)
    config.switch_use_feed_fetch_ops(False)
    config.delete_pass("conv_transpose_eltwiseadd_bn_fuse_pass")
    config.set_cpu_math_library_num_threads(settings.cpu_threads)
    if settings.use_mkldnn:
        config.enable_mkldnn()
        if settings.mkldnn_cache_capacity > 0:
            config.set_mkldnn_cache_capacity(settings.mkldnn_cache_capacity)
    if settings.use_gpu:
        config.enable_use_gpu(100, settings.gpu_id)
        if settings.use_trt:
            config.enable_tensorrt_engine(
                precision_mode=precision, workspace_size=1 << 20, max_batch_size=32,
                min_subgraph_size=3, use_static=False, use_calib_mode=False)
    else:
        config.disable_gpu()
    if quiet:  # Paddle's own lines are the evidence of what took effect: kept where they are wanted
        config.disable_glog_info()
    return config


class Predictor:
    """One Paddle Inference predictor: run(batch of CHW float32) -> first output, (N, classes)."""

    def __init__(self, model_dir, settings=None, quiet=True):
        import paddle.inference as paddle_infer

        self.settings = settings or InferenceSettings()
        try:
            self._predictor = paddle_infer.create_predictor(predictor_config(model_dir, self.settings, quiet))
        except UserError:
            raise
        except Exception as err:  # Paddle reports a bad model file with assorted exception types
            raise UserError("cannot load the model in {}: {}".format(model_dir, str(err).strip().splitlines()[-1])) from None
        self.input_name = self._predictor.get_input_names()[0]
        self.output_name = self._predictor.get_output_names()[0]

    def run(self, batch):
        import numpy as np  # here, not at the top: the plan reads this module's file names without numpy

        batch = np.ascontiguousarray(batch, dtype=np.float32)
        handle = self._predictor.get_input_handle(self.input_name)
        handle.reshape(batch.shape)
        handle.copy_from_cpu(batch)
        self._predictor.run()
        return self._predictor.get_output_handle(self.output_name).copy_to_cpu()

