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
    """Whether a GPU is visible: nvidia-smi lists one, and every GPU id CUDA_VISIBLE_DEVICES names (TIPC's
    GPUID, test_serving.sh --gpu-ids) is one it lists."""
    forced = _env_flag("TIPC_GPU")
    if forced is not None:
        return forced
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", None)
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    listed = {line.split(":")[0][len("GPU "):].strip() for line in listing.stdout.splitlines()
              if line.startswith("GPU ")}
    if listing.returncode != 0 or not listed:
        return False
    wanted = [part.strip() for part in (visible or "").split(",") if part.strip().isdigit()]
    return all(gpu in listed for gpu in wanted)


def trt_available():
    """Whether TensorRT's runtime library (libnvinfer) can be loaded; TIPC_TRT=0/1 overrides."""
    forced = _env_flag("TIPC_TRT")
    if forced is not None:
        return forced
    return ctypes.util.find_library("nvinfer") is not None
