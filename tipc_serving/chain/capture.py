"""The engine level of a case, around its service: the capture hook put on the service's path before it
starts (service/capture/sitecustomize.py), then, once the service has stopped, its captured requests
replayed through Paddle Inference on the config's original models in a process of its own
(`python -m tipc_serving replay`, chain/replay.py), giving the case's TensorCheck (verdict/tensors.py).
"""
import json
import os
import shutil
from pathlib import Path

from .. import REPO_ROOT
from ..jsonfile import write_json
from ..model.converted import run_copy
from ..verdict.tensors import TensorCheck
from .commands import TimedOut, decisive_line, run_logged

HOOK_DIR = REPO_ROOT / "tipc_serving" / "service" / "capture"
HOOK_ENV = "TIPC_CAPTURE_HOOK"  # another hook folder (the tests give a broken one: the case must not pass)
LIMIT_ENV = "TIPC_CAPTURE_LIMIT"
DEFAULT_LIMIT = 8  # requests per op: enough for every test image of a config, bounded for a long client
REPLAY_TIMEOUT = 600


def capture_dir(case_dir):
    return Path(case_dir) / "capture"


def capture_env(case_dir, environ=None):
    """The service's extra environment: the hook first on PYTHONPATH, the folder it writes, how many requests
    per op it keeps. A capture folder left by an earlier try of this case is emptied first."""
    environ = os.environ if environ is None else environ
    folder = capture_dir(case_dir)
    shutil.rmtree(str(folder), ignore_errors=True)
    folder.mkdir(parents=True)
    hook = environ.get(HOOK_ENV) or str(HOOK_DIR)
    path = os.pathsep.join(p for p in (hook, environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "TIPC_CAPTURE_DIR": str(folder),
            "TIPC_CAPTURE_LIMIT": environ.get(LIMIT_ENV) or str(DEFAULT_LIMIT)}


def models_of(config, run_id):
    """The conversions of a planned config, as chain/replay.py matches an op's served folder to its original."""
    if config.get("replay_models") is not None:  # a PaddlePaddle layout: config/dialect_plan.py
        return config["replay_models"]
    convert, model = config.get("convert"), config.get("model")
    if not convert or not model:
        return []
    return [{"role": "model", "serving_server": convert["serving_server"],
             "served_as": [str(run_copy(convert["serving_server"], run_id))], "dirname": model["dir"],
             "model_filename": model["model_filename"], "params_filename": model["params_filename"]}]


def compare_tensors(python, case_dir, config, run_id, server_log, timeout=REPLAY_TIMEOUT):
    """(TensorCheck, argv, log, exit status): the case's captured requests replayed and compared."""
    case_dir = Path(case_dir)
    models_json, out, log = case_dir / "replay_models.json", case_dir / "tensors.json", case_dir / "replay.log"
    write_json(models_json, {"models": models_of(config, run_id), "overrides": config.get("tensor_tolerances")})
    argv = [python, "-m", "tipc_serving", "replay", capture_dir(case_dir), models_json, out, "--server-log", server_log]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", ""))
                                                      if p))
    env.pop("TIPC_CAPTURE_DIR", None)
    try:
        returncode, _ = run_logged(argv, log, REPO_ROOT, env=env, timeout=timeout)
    except TimedOut:
        return TensorCheck(problems=["replay gave no result within {} s (see {})".format(timeout, log)]), argv, log, None
    if returncode != 0 or not out.is_file():
        return TensorCheck(problems=["replay failed (exit status {}): {} (see {})".format(
            returncode, decisive_line(log) or "no line says why", log)]), argv, log, returncode
    return TensorCheck.from_dict(json.loads(out.read_text())), argv, log, returncode
