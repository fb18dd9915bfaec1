"""From TIPC configs to a run plan: everything a run does, decided and checked before anything starts.

    python -m tipc_serving plan CONFIG... --output PLAN.json --output-dir DIR --run-id ID [--shard I/N]
        [--http-port P] [--rpc-port P] [--ready-timeout S] [--stop-grace S] [--gpu auto|on|off]
        [--require-golden] [--golden-dir DIR] [--benchmark] [--benchmark-cases A,B|all]

Prints the run folder of each config, one per line; the chain's commands (chain/cli.py) take one of
them and read the plan from it. Paths resolve as in TIPC: conversion paths from the repo root, the
client's image path from serving_dir. Every problem found here (missing script, missing image path, a
model that is neither present nor exportable, a bad config.yml) is a ConfigError naming the config's
file, line and key: exit status 2, and nothing has been started.
"""
import argparse
import copy
import functools
import shutil
import subprocess
import sys
from pathlib import Path

from .. import REPO_ROOT
from ..errors import ArgumentParser, ConfigError, ConfigErrors, UsageError, UserError, cli
from ..jsonfile import write_json
from ..model import registry
from ..model.inference import MODEL_FILENAME, PARAMS_FILENAME, has_model
from ..service import pipeline_config
from ..service.process import DEFAULT_STOP_GRACE
from ..service.readiness import DEFAULT_READY_TIMEOUT, process_ops
from ..verdict import evidence, tolerance
from ..verdict.golden import golden_path
from . import dialect_plan, machine, matrix, tipc
from .. import repos
from .shard import parse_shard, shard

PLAN_SCHEMA = 2


def _first_line(text, default):
    lines = text.strip().splitlines()
    return lines[0] if lines else default


@functools.lru_cache(maxsize=None)  # configs name the same python: probe it once per plan
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
        yml = pipeline_config.load(yml_path)
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
    op_name = config.op_name or pipeline_config.op_names(yml)[0]
    service_config, _ = pipeline_config.effective_config(yml, yml_path, op_name)
    _check_fixed_overrides(config, service_config)
    return {"serving_dir": serving_dir, "op_name": op_name, "service_config": service_config,
            "web_service_config": str(yml_path.resolve()), "ready_timeout": float(ready_timeout), **ports}


def _check_fixed_overrides(config, service_config):
    """Every fixed --opt key and value of the config is one the service's config.yml accepts, checked
    before anything runs (a typo such as use_mkdnn would otherwise fail every case at its start)."""
    service_config = copy.deepcopy(service_config)
    for override in config.fixed_overrides:
        if override.values[0] is None:
            continue
        try:
            pipeline_config.apply_override(service_config, "{}={}".format(override.key, override.values[0]))
        except UserError as err:
            raise ConfigError(config.path, override.line, override.written, str(err)) from None


def requested_settings(config, context, case):
    """What the case asks Paddle for (config.yml with the case's --opt), refused here when Paddle would
    not honour it: a case must not pass for a setting that was never applied."""
    conf = pipeline_config.apply_overrides(copy.deepcopy(context["service_config"]), case.opts)
    pipeline_config.resolve_model_config(conf, Path.cwd())  # as effective() does for the options' paths
    requested = evidence.requested_settings(conf["op"][context["op_name"]].get("local_service_conf") or {})
    problem = evidence.settings_problem(requested)
    if problem:
        culprit = next((o for o in reversed(config.fixed_overrides) if o.leaf in ("ir_optim", "precision")), None) \
            or next((config.matrix_override(key) for key in ("use_mkldnn", "use_trt", "precision")
                     if config.matrix_override(key)), None)
        raise ConfigError(config.path, culprit.line if culprit else None, culprit.written if culprit else None,
                          "case {}: {}".format(case.name, problem))
    return requested


def _model_plan(config, convert_paths):
    model_dir = convert_paths["--dirname"]
    model_file = config.convert.get("--model_filename") or MODEL_FILENAME
    params_file = config.convert.get("--params_filename") or PARAMS_FILENAME
    present = has_model(model_dir, model_file, params_file)
    exportable = config.model_name in registry.REGISTRY
    if not present and not exportable:
        raise config.error("--dirname", "no inference model in {} ({} and {}), and '{}' is not a model "
                     "tools/export_model.py can build (known: {})".format(
                         model_dir, model_file, params_file, config.model_name, ", ".join(sorted(registry.REGISTRY))))
    export_args = None
    if exportable:
        names_problem = registry.export_names_problem(model_file, params_file)
        if names_problem and not present:
            raise config.error("--model_filename", names_problem)
        export_args = registry.export_argv(config.model_name, model_dir)
    return {"dir": str(model_dir), "present": present, "export_args": export_args,
            "model_filename": model_file, "params_filename": params_file}


def web_service_argv(script_argv, op_name, model_config, http_port, rpc_port, opts=()):
    """The service's command line: the config's web_service words, the op name, the converted model,
    the ports, then a case's options (the case's `--opt` group)."""
    return [*script_argv, "--name", op_name, "--opt",
            "op.{}.local_service_conf.model_config={}".format(op_name, model_config),
            "http_port={}".format(http_port), "rpc_port={}".format(rpc_port), *opts]


def run_dir_of(options, model_name):
    """Where a config's run writes: OUTPUT_DIR/<model>/serving_python/<run id>."""
    return str(Path(options.output_dir).resolve() / model_name / "serving_python" / options.run_id)


def plan_config(config, context, cases, project_python, options):
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
    url = "http://127.0.0.1:{}/{}/prediction".format(http_port, op_name)
    endpoint = "127.0.0.1:{}".format(rpc_port)
    service_argv = web_service_argv([config.web_service_script, *config.web_service_args], op_name,
                                    convert_paths["--serving_server"], http_port, rpc_port)
    clients = [{"label": "HTTP", "argv": [config.client_script, config.client_image_flag, config.client_image_path,
                                          "--url", url], "cwd": str(serving_dir), "log": "client.log", "compare": True}]
    if config.rpc_client_script:
        clients.append({"label": "gRPC", "argv": [config.rpc_client_script, config.client_image_flag,
                                                  config.client_image_path, "--endpoint", endpoint],
                        "cwd": str(serving_dir), "log": "rpc_client.log", "compare": True})
    plan_cases = []
    for case in cases:
        tol = tolerance.for_case(case.precision, config.atol, config.rtol)
        # The ports are set once for all cases by web_service_argv, from the plan's choice.
        opts = [o for o in case.opts if not o.startswith(("http_port=", "rpc_port="))]
        plan_cases.append({"name": case.name, "device": case.device, "settings": case.settings,
                           "requested": requested_settings(config, context, case),
                           "service": {"argv": service_argv + (["--opt", *opts] if opts else []),
                                       "cwd": str(serving_dir), "log": "server.log"},
                           "clients": clients, "config_edits": {},
                           "opts": opts, "precision": case.precision, "atol": tol.atol, "rtol": tol.rtol,
                           "skip_reason": case.skip_reason, "fail_reason": case.fail_reason, "twin": case.twin})
    return {
        "config_path": str(config.path),
        "model_name": config.model_name,
        "run_dir": run_dir_of(options, config.model_name),
        "dialect": repos.OWN, "coverage": None,
        "python": python, "python_note": python_note,
        "model": model,
        "convert": {"args": convert_args, "serving_server": str(convert_paths["--serving_server"]),
                    "serving_client": str(convert_paths["--serving_client"])},
        "reference_args": [str(REPO_ROOT / "tools" / "infer.py"), "--model-dir", model["dir"],
                           "--img-path", str(image_path)],
        "golden": str(golden_path(config.model_name, options.golden_dir)),
        "serving_dir": str(serving_dir),
        "web_service_config": context["web_service_config"],
        "image_path": str(image_path),
        "op_name": op_name, "http_port": http_port, "rpc_port": rpc_port, "url": url, "endpoint": endpoint,
        "ready_timeout": context["ready_timeout"], "process_ops": process_ops(context["service_config"]),
        "cases": plan_cases,
    }


def _own_plans(parsed, options, project_python, gpu, trt):
    """(config path, cases) of the harness's own configs, and a function that plans one of them."""
    contexts = {str(config.path): service_context(config, options) for config in parsed}
    expanded = [(str(config.path), matrix.expand(config, gpu, trt, op_name=contexts[str(config.path)]["op_name"],
                                                 gpu_mode=options.gpu)) for config in parsed]

    def plan_one(config, cases):
        return plan_config(config, contexts[str(config.path)], cases, project_python, options)

    return expanded, plan_one


def _dialect_plan(config, cases, project_python, gpu, options):
    python, python_note = resolve_python(config.python, project_python)
    planned = dialect_plan.plan_dialect(config, options, python, python_note, gpu,
                                        run_dir_of(options, config.model_name))
    names = {case.name for case in cases}
    planned["cases"] = [case for case in planned["cases"] if case["name"] in names]
    return planned


def build(config_paths, options, project_python):
    """The whole run's plan: every config parsed and checked (every problem of every config reported at
    once), its cases expanded and sharded, its commands decided."""
    parsed, errors = [], []
    for path in config_paths:
        try:
            parsed.append(tipc.parse(path, options.dialect))
        except ConfigErrors as err:
            errors += err.errors
        except ConfigError as err:
            errors.append(err)
    tipc.raise_all(errors)
    gpu = options.gpu != "off" and machine.gpu_available()
    trt = gpu and machine.trt_available()
    own = [config for config in parsed if isinstance(config, tipc.TipcConfig)]
    expanded, plan_own = _own_plans(own, options, project_python, gpu, trt)
    # A dialect config's cases are its script's; they are sharded with the others by name.
    expanded_all = dict(expanded)
    expanded_all.update({str(c.path): c.cases for c in parsed if not isinstance(c, tipc.TipcConfig)})
    shard_index, shard_count = parse_shard(options.shard) if options.shard else (1, 1)
    sharded = dict(shard([(str(c.path), expanded_all[str(c.path)]) for c in parsed], shard_index, shard_count))
    configs = [plan_own(config, sharded.get(str(config.path), [])) if isinstance(config, tipc.TipcConfig)
               else _dialect_plan(config, sharded.get(str(config.path), []), project_python, gpu, options)
               for config in parsed]
    names = [c["model_name"] for c in configs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError("several configs name model '{}': each model needs its own run".format(duplicates[0]))
    return {"schema": PLAN_SCHEMA, "shard": "{}/{}".format(shard_index, shard_count) if options.shard else None,
            "gpu": options.gpu, "gpu_available": gpu, "trt_available": trt, "stop_grace": options.stop_grace,
            "require_golden": options.require_golden,
            "benchmark": {"enabled": options.benchmark or bool(options.benchmark_cases),
                          "cases": options.benchmark_cases or ""},
            "configs": configs}


def list_cases(config_paths, options):
    """--list-cases: every config's dialect, cases and exact commands, from the configs alone."""
    lines = []
    for path in config_paths:
        config = tipc.parse(path, options.dialect)
        if isinstance(config, tipc.TipcConfig):
            cases = matrix.expand(config, True, True, gpu_mode="auto")
            lines.append("{}: {} config, {} case{}".format(path, repos.OWN, len(cases), "" if len(cases) == 1
                                                           else "s"))
            service = web_service_argv([config.web_service_script, *config.web_service_args], config.op_name or
                                       "<op of config.yml>", config.convert["--serving_server"],
                                       "<http_port of config.yml>", "<rpc_port of config.yml>")
            for case in cases:
                lines.append("  case {} ({})".format(case.name, case.device))
                lines.append("    service (cwd {}) python {}".format(config.serving_dir, " ".join(
                    service + (["--opt", *case.opts] if case.opts else []))))
                lines.append("    client  (cwd {}) python {} {} {} --url http://127.0.0.1:<http_port>/<op>/prediction"
                             .format(config.serving_dir, config.client_script, config.client_image_flag,
                                     config.client_image_path))
                if config.rpc_client_script:
                    lines.append("    client  (cwd {}) python {} {} {} --endpoint 127.0.0.1:<rpc_port>".format(
                        config.serving_dir, config.rpc_client_script, config.client_image_flag,
                        config.client_image_path))
            lines.append("  verdict: answers compared with Paddle Inference (tools/infer.py)")
        else:
            lines += dialect_plan.listing(config, dialect_plan.repo_root_of(path, options.repo_root, options.caller_dir))
    return lines


# ---------------------------------------------------------------- command line

def _port_argument(text):
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a port number: {!r}".format(text)) from None
    if not 1024 <= port <= 65535:
        raise argparse.ArgumentTypeError("port {} is outside 1024-65535".format(port))
    return port


def _seconds_argument(text):
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError("expected a number of seconds > 0, got {!r}".format(text))
    return seconds


def parse_args(argv):
    parser = ArgumentParser(prog="plan")
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--output", help="the plan file to write (required unless --list-cases)")
    parser.add_argument("--list-cases", action="store_true",
                        help="print each config's dialect, cases and commands, reading nothing but the configs")
    parser.add_argument("--dialect", choices=repos.NAMES, help="read the configs as this layout (default: "
                        "found from each config's header and keys)")
    parser.add_argument("--repo-root", help="the model repository's root, for a dialect config's paths (default: "
                                            "the folder above its test_tipc, else the current folder)")
    parser.add_argument("--caller-dir", default=".", help="where the user stands (a dialect config outside any "
                                                          "test_tipc takes its paths from there)")
    parser.add_argument("--seeded-export", action="store_true",
                        help="a missing model that tools/export_model.py builds is exported, untrained and seeded")
    parser.add_argument("--output-dir", default=str(REPO_ROOT / "test_tipc" / "output"))
    parser.add_argument("--run-id", default="run")
    parser.add_argument("--shard")
    parser.add_argument("--http-port", type=_port_argument)
    parser.add_argument("--rpc-port", type=_port_argument)
    parser.add_argument("--ready-timeout", type=_seconds_argument)
    parser.add_argument("--stop-grace", type=_seconds_argument, default=DEFAULT_STOP_GRACE)
    parser.add_argument("--gpu", choices=["auto", "on", "off"], default="auto",
                        help="GPU cases: run when a GPU is usable (auto), always, failing without one (on), never (off)")
    parser.add_argument("--require-golden", action="store_true", help="a golden check that cannot be made fails")
    parser.add_argument("--golden-dir", help="the folder of the golden files (default test_tipc/results)")
    parser.add_argument("--benchmark", action="store_true")
    parser.add_argument("--benchmark-cases", default="")
    parser.add_argument("--project-python", default=sys.executable)
    return parser.parse_args(argv)


@cli("plan")
def main(argv=None):
    options = parse_args(argv)
    if options.list_cases:
        print("\n".join(list_cases(options.configs, options)))
        return 0
    if not options.output:
        raise UsageError("--output is required (or --list-cases)")
    plan = build(options.configs, options, options.project_python)
    write_json(options.output, plan)
    for config in plan["configs"]:
        print(config["run_dir"])
    return 0
