"""What this machine can run: a GPU, TensorRT. Asked without importing paddle (quick, no CUDA start-up)."""
import ctypes.util
import os
import subprocess

from ..errors import UserError


def _env_flag(name):
    """TIPC_GPU / TIPC_TRT forced to 0 or 1 (tests, or a machine that probes wrongly); None if unset."""
    value = os.environ.get(name, "").strip()
    if value == "":
        return None
    if value not in ("0", "1"):
        raise UserError("{}={!r}: expected 0 or 1".format(name, value))
    return value == "1"


def gpu_available():
    """Whether a GPU is visible: nvidia-smi lists one and CUDA_VISIBLE_DEVICES does not hide it."""
    forced = _env_flag("TIPC_GPU")
    if forced is not None:
        return forced
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return listing.returncode == 0 and any(line.startswith("GPU ") for line in listing.stdout.splitlines())


def trt_available():
    """Whether TensorRT's runtime library (libnvinfer) can be loaded; TIPC_TRT=0/1 overrides."""
    forced = _env_flag("TIPC_TRT")
    if forced is not None:
        return forced
    return ctypes.util.find_library("nvinfer") is not None
