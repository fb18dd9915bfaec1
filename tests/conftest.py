"""Shared fixtures: the repo's paths, a command runner, and a session-wide exported, converted model."""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
IMAGES = REPO_ROOT / "images"
SERVING_DIR = REPO_ROOT / "deploy" / "serving_python"
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")

sys.path.insert(0, str(REPO_ROOT))
# The machine's registry of running services (tipc_serving/service/record.py) of this test session only:
# the harness runs of the tests stop what earlier ones left, never what a person's own runs started.
os.environ.setdefault("TIPC_STATE_DIR", tempfile.mkdtemp(prefix="tipc-serving-tests-state."))


def clean_env(**extra):
    """The environment for a child process: no proxies, the repo importable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(args, cwd=REPO_ROOT, env=None, timeout=300, check=False):
    """Run a command (list of str), capture text output; never through a shell."""
    result = subprocess.run([str(a) for a in args], cwd=str(cwd), env=env or clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError("{} exited {}\nstdout:\n{}\nstderr:\n{}".format(
            args, result.returncode, result.stdout[-3000:], result.stderr[-3000:]))
    return result


def export_model(save_dir, model="alexnet", seed=0):
    run([PYTHON, REPO_ROOT / "tools" / "export_model.py", "--model", model, "--seed", seed,
         "--save_dir", save_dir], check=True)
    return Path(save_dir)


def convert_model(model_dir, out_dir):
    out_dir = Path(out_dir)
    run([PYTHON, "-m", "paddle_serving_client.convert", "--dirname", model_dir,
         "--model_filename", "inference.pdmodel", "--params_filename", "inference.pdiparams",
         "--serving_server", out_dir / "serving_server", "--serving_client", out_dir / "serving_client"],
        cwd=out_dir, check=True)
    return out_dir / "serving_server"


def reference(model_dir, out_json, *extra):
    run([PYTHON, REPO_ROOT / "tools" / "infer.py", "--model-dir", model_dir, "--img-path", IMAGES,
         "--output-json", out_json, *extra], check=True)
    return json.loads(Path(out_json).read_text())


@pytest.fixture(scope="session")
def alexnet_model(tmp_path_factory):
    """AlexNet exported with seed 0 (about 240 MB, a few seconds), shared by the whole session."""
    return export_model(tmp_path_factory.mktemp("alexnet") / "alexnet_infer")


@pytest.fixture(scope="session")
def alexnet_serving_server(alexnet_model, tmp_path_factory):
    """The session's AlexNet converted by paddle_serving_client.convert: the serving_server folder."""
    return convert_model(alexnet_model, tmp_path_factory.mktemp("alexnet_converted"))


@pytest.fixture(scope="session")
def alexnet_reference(alexnet_model, tmp_path_factory):
    """tools/infer.py --output-json over images/: the plain fp32 reference every case is judged against."""
    return reference(alexnet_model, tmp_path_factory.mktemp("alexnet_reference") / "reference.json")


def service_settings_flags():
    """tools/infer.py's flags for the predictor settings of deploy/serving_python/config.yml's op."""
    from tipc_serving.bench.benchmark import service_settings

    settings, _, _ = service_settings(SERVING_DIR / "config.yml", None, ())
    return (["--ir-optim"] * settings.ir_optim + ["--use-mkldnn"] * settings.use_mkldnn
            + ["--cpu-threads", str(settings.cpu_threads)])


@pytest.fixture(scope="session")
def alexnet_service_reference(alexnet_model, tmp_path_factory):
    """The reference computed with the service's own default settings (IR optimisation and oneDNN): what the
    service must answer bit for bit, up to float printing, when nothing on the wire loses anything."""
    return reference(alexnet_model, tmp_path_factory.mktemp("alexnet_service_reference") / "reference.json",
                     *service_settings_flags())


@pytest.fixture(scope="session")
def small_model(tmp_path_factory):
    """MobileNetV3-Small exported with seed 0 (a few MB), for tests that only need a model to convert."""
    return export_model(tmp_path_factory.mktemp("small_model") / "infer", model="mobilenet_v3_small")


@pytest.fixture
def background():
    """start(configs, output_dir, ...) -> the harness running in the background (harnesskit.start_harness);
    afterwards its group and every service it recorded are stopped, whatever the test did."""
    from harnesskit import kill_harness_group, start_harness, stop_recorded_services  # harnesskit imports conftest

    started = []

    def start(configs, output_dir, **kwargs):
        process = start_harness(configs, output_dir, **kwargs)
        started.append((process, output_dir))
        return process

    yield start
    for process, output_dir in started:
        kill_harness_group(process)
        stop_recorded_services(output_dir)
