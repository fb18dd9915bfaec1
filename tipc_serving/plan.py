"""From TIPC configs to a run plan: everything the shell orchestrator needs, checked before anything starts.

    python -m tipc_serving plan CONFIG... --output PLAN.json [--shard I/N] [--http-port P] [--rpc-port P]
                                [--ready-timeout S] [--gpus auto|0|1]
    python -m tipc_serving shell PLAN.json --index I      # bash assignments for config I

Paths resolve as in TIPC: conversion paths from the repo root, the client's image path from serving_dir.
Every problem found here (missing script, missing image path, a model that is neither present nor
exportable, a bad config.yml) is a ConfigError naming the config's file, line and key: exit status 2,
and nothing has been started.
"""
import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from . import REPO_ROOT, matrix, models, service_config, tipc_config
from .errors import UserError, cli
from .inference import MODEL_FILENAME, PARAMS_FILENAME

DEFAULT_READY_TIMEOUT = 60.0
# One fp32 reference on CPU for every case; lower precisions get wider tolerances instead of their
# own reference, so a setting that drifts is caught rather than baked into its reference.
TOLERANCE_BY_PRECISION = {"fp32": (1e-3, 1e-3), "fp16": (1e-2, 1e-2), "int8": (5e-2, 5e-2)}
CONVERT_FLAGS = ("--dirname", "--model_filename", "--params_filename", "--serving_server", "--serving_client")


def _first_line(text, default):
    lines = text.strip().splitlines()
    return lines[0] if lines else default


def resolve_python(requested, project_python):
    """(interpreter, note): the config's `python` when it runs and has the serving packages, else ours."""
    found = shutil.which(requested) if requested else None
    if not found:
        reason = "is not on PATH"
    else:
        probe = subprocess.run([found, "-c", "import sys"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if probe.returncode != 0:
            reason = "does not run ({})".format(_first_line(probe.stdout, "exit status {}".format(probe.returncode)))
        else:
            check = subprocess.run([found, str(REPO_ROOT / "tools" / "check_env.py"),
                                    str(REPO_ROOT / "requirements.txt")],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if check.returncode == 0:
                return found, "using the config's python: {}".format(found)
            reason = "lacks the serving packages ({})".format(_first_line(check.stdout, "check failed"))
    return project_python, "config's python '{}' {}; using the project's environment {}".format(
        requested, reason, project_python)


def _web_service_config_path(config, serving_dir):
    """The config.yml the service will read: --config=X / --config X from the web_service line."""
    args = config.web_service_args
    for index, arg in enumerate(args):
        if arg.startswith("--config="):
            return serving_dir / arg.split("=", 1)[1]
        if arg == "--config" and index + 1 < len(args):
            return serving_dir / args[index + 1]
    return serving_dir / "config.yml"


def _existing(config, key, path, what):
    if not path.exists():
        raise config.error(key, "{} not found: {}".format(what, path))
    return path


def _port(config, value, key):
    """A port from the command line, a fixed override (as written, maybe quoted) or config.yml."""
    try:
        port = int(str(value).strip().strip("\"'"))
    except ValueError:
        raise config.error(key, "port must be a number, got '{}'".format(value)) from None
    if not 1024 <= port <= 65535:
        raise config.error(key, "port {} is outside 1024-65535".format(port))
    return port


def service_context(config, options):
    """Where and how the service runs: serving_dir, its config.yml, op name and ports."""
    serving_dir = _existing(config, "serving_dir", (REPO_ROOT / config.serving_dir).resolve(), "serving_dir")
    _existing(config, "web_service", serving_dir / config.web_service_script, "web_service script")
    yml_path = _web_service_config_path(config, serving_dir)
    try:
        yml = service_config.load(yml_path)
    except UserError as err:
        raise config.error("web_service", str(err)) from None
    fixed = {o.key: o.values[0] for o in config.fixed_overrides}
    ports = {}
    for key, from_command_line in (("http_port", options.http_port), ("rpc_port", options.rpc_port)):
        if from_command_line is not None:
            ports[key] = from_command_line
        elif fixed.get(key) is not None:
            ports[key] = _port(config, fixed[key], key)
        elif yml.get(key) is not None:
            ports[key] = _port(config, yml[key], "web_service")
        else:
            raise config.error("web_service", "{} sets no {}: the harness needs to know it".format(yml_path, key))
    if ports["http_port"] == ports["rpc_port"]:
        raise config.error("web_service", "http_port and rpc_port are both {}".format(ports["http_port"]))
    ready_timeout = next((t for t in (options.ready_timeout, config.ready_timeout) if t is not None),
                         DEFAULT_READY_TIMEOUT)
    return {"serving_dir": serving_dir, "op_name": config.op_name or service_config.op_names(yml)[0],
            "web_service_config": str(yml_path.resolve()), "ready_timeout": float(ready_timeout), **ports}


def _model_plan(config, convert_paths):
    model_dir = convert_paths["--dirname"]
    model_file = config.convert.get("--model_filename") or MODEL_FILENAME
    params_file = config.convert.get("--params_filename") or PARAMS_FILENAME
    present = (model_dir / model_file).is_file() and (model_dir / params_file).is_file()
    exportable = config.model_name in models.REGISTRY
    if not present and not exportable:
        raise config.error("--dirname", "no inference model in {} ({} and {}), and '{}' is not a model "
                     "tools/export_model.py can build (known: {})".format(
                         model_dir, model_file, params_file, config.model_name, ", ".join(sorted(models.REGISTRY))))
    export_args = None
    if exportable:
        if (model_file, params_file) != (MODEL_FILENAME, PARAMS_FILENAME) and not present:
            raise config.error("--model_filename", "tools/export_model.py writes {} and {}; the config names {} "
                         "and {}".format(MODEL_FILENAME, PARAMS_FILENAME, model_file, params_file))
        export_args = [str(REPO_ROOT / "tools" / "export_model.py"), "--model", config.model_name,
                       "--save_dir", str(model_dir)]
    return {"dir": str(model_dir), "present": present, "export_args": export_args,
            "model_filename": model_file, "params_filename": params_file}


def _tolerances(config, precision):
    """(atol, rtol) for a case: the config's values replace the fp32 defaults; a lower precision never
    gets a tighter tolerance than its own default."""
    fp32_atol, fp32_rtol = TOLERANCE_BY_PRECISION["fp32"]
    atol = fp32_atol if config.atol is None else config.atol
    rtol = fp32_rtol if config.rtol is None else config.rtol
    if precision != "fp32":
        precision_atol, precision_rtol = TOLERANCE_BY_PRECISION.get(precision, (atol, rtol))
        atol, rtol = max(atol, precision_atol), max(rtol, precision_rtol)
    return atol, rtol


def plan_config(config, context, cases, project_python):
    """The plan of one parsed config, its service context and its (already sharded) cases."""
    convert_paths = {flag: (REPO_ROOT / value).resolve() for flag, value in config.convert.items()
                     if flag in ("--dirname", "--serving_server", "--serving_client")}
    model = _model_plan(config, convert_paths)
    serving_dir, op_name = context["serving_dir"], context["op_name"]
    http_port, rpc_port = context["http_port"], context["rpc_port"]
    _existing(config, config.client_key, serving_dir / config.client_script, "client script")
    if config.rpc_client_script:
        _existing(config, "pipeline_rpc", serving_dir / config.rpc_client_script, "gRPC client script")
    image_path = _existing(config, config.client_image_flag, (serving_dir / config.client_image_path).resolve(),
                           "image path")

    python, python_note = resolve_python(config.python, project_python)
    convert_args = list(config.trans_model)
    for flag, value in config.convert.items():
        convert_args += [flag, str(convert_paths.get(flag, value))]
    web_service_argv = [config.web_service_script, *config.web_service_args, "--name", op_name, "--opt",
                        "op.{}.local_service_conf.model_config={}".format(op_name, convert_paths["--serving_server"]),
                        "http_port={}".format(http_port), "rpc_port={}".format(rpc_port)]
    url = "http://127.0.0.1:{}/{}/prediction".format(http_port, op_name)
    endpoint = "127.0.0.1:{}".format(rpc_port)
    plan_cases = []
    for case in cases:
        atol, rtol = _tolerances(config, case.precision)
        # The ports are set once for all cases by web_service_argv, from the plan's choice.
        opts = [o for o in case.opts if not o.startswith(("http_port=", "rpc_port="))]
        plan_cases.append({"name": case.name, "device": case.device, "settings": case.settings,
                           "opts": opts, "precision": case.precision, "atol": atol, "rtol": rtol,
                           "skip_reason": case.skip_reason})
    return {
        "config_path": str(config.path),
        "model_name": config.model_name,
        "python": python, "python_note": python_note,
        "model": model,
        "convert": {"args": convert_args, "serving_server": str(convert_paths["--serving_server"]),
                    "serving_client": str(convert_paths["--serving_client"])},
        "reference_args": [str(REPO_ROOT / "tools" / "infer.py"), "--model-dir", model["dir"],
                           "--img-path", str(image_path)],
        "serving_dir": str(serving_dir),
        "web_service_argv": web_service_argv,
        "web_service_config": context["web_service_config"],
        "image_path": str(image_path),
        "op_name": op_name, "http_port": http_port, "rpc_port": rpc_port, "url": url, "endpoint": endpoint,
        "client_argv": [config.client_script, config.client_image_flag, config.client_image_path, "--url", url],
        "rpc_client_argv": ([config.rpc_client_script, config.client_image_flag, config.client_image_path,
                             "--endpoint", endpoint] if config.rpc_client_script else None),
        "ready_timeout": context["ready_timeout"],
        "cases": plan_cases,
    }


def build(config_paths, options, project_python):
    parsed = [tipc_config.parse(path) for path in config_paths]
    contexts = [service_context(config, options) for config in parsed]
    gpu = matrix.gpu_available() if options.gpus == "auto" else options.gpus == "1"
    trt = gpu and matrix.trt_available()
    expanded = [(str(config.path), matrix.expand(config, gpu, trt, op_name=context["op_name"]))
                for config, context in zip(parsed, contexts)]
    shard_index, shard_count = matrix.parse_shard(options.shard) if options.shard else (1, 1)
    sharded = dict(matrix.shard(expanded, shard_index, shard_count))
    configs = [plan_config(config, context, sharded.get(str(config.path), []), project_python)
               for config, context in zip(parsed, contexts)]
    names = [c["model_name"] for c in configs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError("several configs name model '{}': each model needs its own run".format(duplicates[0]))
    return {"schema": 1, "shard": "{}/{}".format(shard_index, shard_count) if options.shard else None,
            "gpu_available": gpu, "trt_available": trt, "configs": configs}


# ---------------------------------------------------------------- bash assignments

def _assign(name, value):
    if isinstance(value, (list, tuple)):
        return "{}=({})".format(name, " ".join(shlex.quote(str(v)) for v in value))
    if isinstance(value, bool):
        value = int(value)
    return "{}={}".format(name, shlex.quote("" if value is None else str(value)))


def shell_assignments(plan, index):
    """Bash assignments describing config `index` of the plan (eval'd by test_serving.sh)."""
    try:
        config = plan["configs"][index]
    except IndexError:
        raise UserError("plan has {} configs, no index {}".format(len(plan["configs"]), index)) from None
    lines = [
        _assign("MODEL_NAME", config["model_name"]),
        _assign("CONFIG_PATH", config["config_path"]),
        _assign("SERVING_PYTHON", config["python"]),
        _assign("SERVING_PYTHON_NOTE", config["python_note"]),
        _assign("MODEL_DIR", config["model"]["dir"]),
        _assign("MODEL_PRESENT", config["model"]["present"]),
        _assign("EXPORT_ARGS", config["model"]["export_args"] or []),
        _assign("CONVERT_ARGS", config["convert"]["args"]),
        _assign("SERVING_SERVER", config["convert"]["serving_server"]),
        _assign("SERVING_CLIENT", config["convert"]["serving_client"]),
        _assign("REFERENCE_ARGS", config["reference_args"]),
        _assign("SERVING_DIR", config["serving_dir"]),
        _assign("WEB_SERVICE_ARGV", config["web_service_argv"]),
        _assign("WEB_SERVICE_CONFIG", config["web_service_config"]),
        _assign("OP_NAME", config["op_name"]),
        _assign("IMAGE_PATH", config["image_path"]),
        _assign("HTTP_PORT", config["http_port"]),
        _assign("RPC_PORT", config["rpc_port"]),
        _assign("SERVICE_URL", config["url"]),
        _assign("CLIENT_ARGV", config["client_argv"]),
        _assign("RPC_CLIENT_ARGV", config["rpc_client_argv"] or []),
        _assign("READY_TIMEOUT", config["ready_timeout"]),
        _assign("CASE_COUNT", len(config["cases"])),
    ]
    for number, case in enumerate(config["cases"]):
        lines += [
            _assign("CASE_NAME_{}".format(number), case["name"]),
            _assign("CASE_SKIP_{}".format(number), case["skip_reason"] or ""),
            _assign("CASE_OPTS_{}".format(number), case["opts"]),
            _assign("CASE_ATOL_{}".format(number), case["atol"]),
            _assign("CASE_RTOL_{}".format(number), case["rtol"]),
        ]
    return "\n".join(lines) + "\n"


def cases_json(plan, index):
    """The case list of config `index` in the shape `report init --cases-json` reads."""
    return [{"name": c["name"], "device": c["device"], "settings": c["settings"], "skip_reason": c["skip_reason"]}
            for c in plan["configs"][index]["cases"]]


# ---------------------------------------------------------------- command line

def _port_argument(text):
    port = int(text)
    if not 1024 <= port <= 65535:
        raise argparse.ArgumentTypeError("port {} is outside 1024-65535".format(port))
    return port


def _parse_plan_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tipc_serving plan")
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--output", required=True)
    parser.add_argument("--shard")
    parser.add_argument("--http-port", type=_port_argument)
    parser.add_argument("--rpc-port", type=_port_argument)
    parser.add_argument("--ready-timeout", type=float)
    parser.add_argument("--gpus", choices=["auto", "0", "1"], default="auto")
    parser.add_argument("--project-python", default=sys.executable)
    return parser.parse_args(argv)


@cli("plan")
def plan_main(argv=None):
    options = _parse_plan_args(argv)
    plan = build(options.configs, options, options.project_python)
    Path(options.output).write_text(json.dumps(plan, indent=2) + "\n")
    return 0


@cli("shell")
def shell_main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tipc_serving shell")
    parser.add_argument("plan")
    parser.add_argument("--index", type=int)
    parser.add_argument("--count", action="store_true", help="print the number of configs")
    parser.add_argument("--cases-json", help="write config INDEX's cases for `report init`")
    args = parser.parse_args(argv)
    try:
        plan = json.loads(Path(args.plan).read_text())
    except (OSError, ValueError) as err:
        raise UserError("cannot read plan {}: {}".format(args.plan, err)) from None
    if args.count:
        print(len(plan["configs"]))
        return 0
    if args.index is None:
        raise UserError("--index is required")
    if args.cases_json:
        Path(args.cases_json).write_text(json.dumps(cases_json(plan, args.index), indent=2) + "\n")
    sys.stdout.write(shell_assignments(plan, args.index))
    return 0
