"""Driving the real test_tipc/test_serving.sh from tests: configs in tmp, free ports, run dirs, leftovers."""
import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from conftest import IMAGES, REPO_ROOT, SERVING_DIR, clean_env
from tipc_serving.service.ports import free_ports
from tipc_serving.service.process import group_members
from tipc_serving.service.record import recorded_groups, stop_recorded

HARNESS = REPO_ROOT / "test_tipc" / "test_serving.sh"
STATUS_LINE = r"^Run (successfully|failed) with command - {model} - .+ - .+!$"
# The case names of a config's matrix.
ONE_CASE = "cpu_usemkldnn_False_threads_2"  # write_config's default matrix
CPU_CASES = ["cpu_usemkldnn_False_threads_1", "cpu_usemkldnn_False_threads_2",
             "cpu_usemkldnn_True_threads_1", "cpu_usemkldnn_True_threads_2"]
GPU_CASES = ["gpu_usetrt_False_precision_fp32", "gpu_usetrt_True_precision_fp32", "gpu_usetrt_True_precision_fp16"]


def write_config(path, model_dir, serving_root, model_name="alexnet", matrix=None, extra=(), images=IMAGES,
                 rpc=True):
    """A TIPC config with absolute paths: the model in model_dir, conversion output in serving_root.
    matrix: override lines (default: one CPU case, 2 threads, no MKLDNN)."""
    matrix = matrix if matrix is not None else [
        "--opt op.{}.local_service_conf.devices:null".format(model_name),
        "--opt op.{}.local_service_conf.thread_num:2".format(model_name),
    ]
    lines = [
        "===========================serving_params===========================",
        "model_name:{}".format(model_name),
        "python:python3.9",
        "trans_model:-m paddle_serving_client.convert",
        "--dirname:{}".format(model_dir),
        "--model_filename:inference.pdmodel",
        "--params_filename:inference.pdiparams",
        "--serving_server:{}".format(Path(serving_root) / "serving_server"),
        "--serving_client:{}".format(Path(serving_root) / "serving_client"),
        "serving_dir:{}".format(SERVING_DIR),
        "web_service:web_service.py --config=config.yml",
        *matrix,
        *extra,
        "pipline:pipeline_http_client.py",
        *(["pipeline_rpc:pipeline_rpc_client.py"] if rpc else []),
        "--image_dir:{}".format(images),
    ]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def config_for(tmp_path, model_dir, name="config.txt", **kwargs):
    """write_config into tmp_path: the config as `name`, the conversion output in tmp_path/converted."""
    return write_config(tmp_path / name, model_dir, tmp_path / "converted", **kwargs)


def serving_dir_with(folder, scripts):
    """A serving_dir in folder: the real service, config and clients linked (they find the repo through their
    own path), except `scripts` (file name -> text), written there."""
    folder.mkdir()
    for name in ("config.yml", "web_service.py", "pipeline_http_client.py", "pipeline_rpc_client.py"):
        if name in scripts:
            (folder / name).write_text(scripts[name])
        else:
            (folder / name).symlink_to(SERVING_DIR / name)
    return folder


def gpu_only(model_name="alexnet"):
    """One GPU case, skipped by the harness's --gpu off: the chain prepares, converts and runs the
    reference, and starts no service (so no case ran, and the run fails). For tests about what happens
    around the cases."""
    return ['--opt op.{}.local_service_conf.devices:"0"'.format(model_name)]


def step(results, name):
    """The step `name` of a parsed results.json."""
    return next(s for s in results["steps"] if s["name"] == name)


@dataclass
class HarnessRun:
    result: subprocess.CompletedProcess
    output_dir: Path
    model_name: str

    @property
    def model_dir(self):
        return self.output_dir / self.model_name / "serving_python"

    @property
    def run_dirs(self):
        return sorted(p for p in self.model_dir.iterdir() if p.is_dir() and not p.is_symlink()) \
            if self.model_dir.is_dir() else []

    @property
    def run_dir(self):
        return self.model_dir / "latest"

    @property
    def results(self):
        return json.loads((self.run_dir / "results.json").read_text())

    def case(self, name):
        return next(c for c in self.results["cases"] if c["name"] == name)

    def step(self, name):
        return step(self.results, name)

    @property
    def junit(self):
        return ElementTree.parse(str(self.run_dir / "junit.xml")).getroot()

    @property
    def status_lines(self):
        return (self.run_dir / "results_serving_python.log").read_text().splitlines()

    @property
    def output(self):
        return self.result.stdout + self.result.stderr

    def started_groups(self):
        return [pgid for pgid, _ in recorded_groups(self.run_dir / ".started_groups")]

    def leftovers(self):
        """Processes still alive in any group this run started (by its recorded start time): must be none."""
        return {group: pids for group, started in recorded_groups(self.run_dir / ".started_groups")
                if (pids := [p.pid for p in group_members(group, started)])}

    def assert_status_log_agrees(self):
        """The TIPC status lines tell what results.json tells (nightly CI greps them): every failed case and
        step has a `Run failed with command` line naming its own log, and no passed case has one."""
        results = self.results
        failed_lines = [line for line in self.status_lines if line.startswith("Run failed with command")]
        for case in results["cases"]:
            case_dir = "/{}/".format(case["name"])
            mine = [line for line in failed_lines if case_dir in line.rsplit(" - ", 1)[-1]]
            if case["status"] == "failed":
                assert mine, "failed case {} has no failed status line: {}".format(case["name"], self.status_lines)
            elif case["status"] in ("passed", "partial"):
                assert not mine, "{} case {} has failed status lines: {}".format(case["status"], case["name"], mine)
        for step in results["steps"]:
            if step["status"] == "failed" and step["name"] not in ("bootstrap", "network"):
                assert any(step["log"] and line.rsplit(" - ", 1)[-1].startswith(step["log"]) for line in failed_lines), \
                    "failed step {} has no failed status line naming {}: {}".format(step["name"], step["log"],
                                                                                  self.status_lines)


def harness_args(config_paths, output_dir, ports=None, extra=()):
    http_port, rpc_port = ports or free_ports(2)
    return ["bash", str(HARNESS), *[str(c) for c in config_paths], "--output-dir", str(output_dir),
            "--http-port", str(http_port), "--rpc-port", str(rpc_port), "--gpu", "off", *extra]


def run_harness(config_paths, output_dir, model_name="alexnet", ports=None, extra=(), env=None, timeout=900):
    args = harness_args(config_paths, output_dir, ports, extra)
    result = subprocess.run(args, cwd=str(REPO_ROOT), env=clean_env(**(env or {})), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=timeout)
    return HarnessRun(result, Path(output_dir), model_name)


def run_from_repo(repo, config, output_dir, model_name, case_name, timeout=900):
    """The harness from a stand-in repository's root, as its developer runs it (its config relative, its
    fixed ports in a network namespace of the run's own, CPU cases only): (the finished process, the case's
    entry in results.json, the run folder)."""
    done = subprocess.run(["bash", str(HARNESS), str(config), "--netns", "on", "--gpu", "off", "--output-dir",
                           str(output_dir)], cwd=str(repo), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=clean_env(), universal_newlines=True, timeout=timeout)
    run_dir = (Path(output_dir) / model_name / "serving_python" / "latest").resolve()
    results = json.loads((run_dir / "results.json").read_text())
    return done, next(c for c in results["cases"] if c["name"] == case_name), run_dir


def task_reference_of(repo, config):
    """The plan's task level entry of a config in a repository's copy, as the harness plans it."""
    from tipc_serving.config import tipc
    from tipc_serving.repos import by_name
    parsed = tipc.parse(Path(repo) / config)
    return by_name(parsed.dialect).task_reference(parsed, Path(repo))


def plant(path, old, new):
    """A fault planted in a copy of a repository's file: old, which must be there, replaced by new."""
    text = Path(path).read_text()
    assert old in text, old
    Path(path).write_text(text.replace(old, new))


def start_harness(config_paths, output_dir, ports=None, extra=(), env=None):
    """The harness in the background (its own process group, like a CI job), output to a file."""
    log = open(Path(output_dir).parent / "harness.out", "w")
    process = subprocess.Popen(harness_args(config_paths, output_dir, ports, extra), cwd=str(REPO_ROOT),
                               env=clean_env(**(env or {})), stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    process.log_path = Path(log.name)
    return process


def wait_for(predicate, timeout, interval=0.2):
    """Poll predicate() until truthy (returned) or timeout seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met within {} s".format(timeout))


def case_server_pid(run_dir):
    """The service group the harness started most recently in run_dir, once it exists."""
    groups = recorded_groups(Path(run_dir) / ".started_groups")
    return groups[-1][0] if groups else None


def signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def kill_harness_group(process):
    """SIGKILL what is left of a background harness's process group (it runs in a session of its own),
    before reaping its leader, so that the group id is still ours."""
    if process.returncode is None:
        signal_group(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def stop_recorded_services(output_dir):
    """Stop every service group any run under output_dir recorded in .started_groups and that still lives."""
    for groups_file in Path(output_dir).glob("*/serving_python/*/.started_groups"):
        stop_recorded(groups_file, grace=2)
