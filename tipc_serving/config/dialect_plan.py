"""The plan of a config in one of PaddlePaddle's own layouts (tipc_serving/repos/): the commands its
repository's script would run, exactly, with this harness's guarantees around them (own process group,
readiness probe, teardown, status lines, reports) and a verdict that says what it could not check.

Paths in such a config are relative to the model repository's root, the folder its `test_tipc` is in
(the scripts are run from there), else the current folder; `--repo-root` says otherwise. The service's
config.yml gives the ports. A model folder that is missing is an error naming the config's download key:
the harness downloads nothing, and exports an untrained seeded network only when asked to
(`--seeded-export`, for the models tools/export_model.py builds).
"""
import copy
import os
from pathlib import Path

from .. import REPO_ROOT
from ..errors import ConfigError, UserError
from ..model import registry
from ..model.converted import SERVER_CONF
from ..model.inference import MODEL_FILENAME, PARAMS_FILENAME, has_model
from ..service import imports, pipeline_config
from ..service.readiness import DEFAULT_READY_TIMEOUT, process_ops
from ..verdict import evidence, tolerance
from . import matrix

NOT_COMPARED = "answers not compared: "


def verdict_line(coverage):
    """What a PaddlePaddle config's cases compare (the listing's and the run's header line)."""
    return ("every output tensor of every op against Paddle Inference on the original model (engine level), "
            "and the served answers against the repository's own inference where its module knows it (task "
            "level); not this harness's classifier reference{}".format(": " + coverage if coverage else ""))


def repo_root_of(config_path, explicit=None, caller_dir="."):
    """The model repository's root: --repo-root, else the folder above the config's test_tipc, else where
    the user stands."""
    if explicit:
        return Path(explicit).resolve()
    parts = Path(config_path).resolve().parts
    if "test_tipc" in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index("test_tipc")
        return Path(*parts[:index])
    return Path(caller_dir).resolve()


def _model_files(conversion):
    return (conversion.model_filename or MODEL_FILENAME, conversion.params_filename or PARAMS_FILENAME)


def _download_hint(conversion):
    entry = conversion.download
    if entry is None:
        return ""
    return "; the config downloads it from {} (line {}, key {}): fetch and unpack it there first".format(
        entry.value, entry.line, entry.key)


def _model_step(config, conversion, root, options):
    """What stands before a conversion: the inference model is there, or is exported on request."""
    model_dir = (root / conversion.dirname).resolve()
    model_file, params_file = _model_files(conversion)
    if has_model(model_dir, model_file, params_file):
        return None
    entry = conversion.dirname_entry  # PP-ShiTu names two models with --dirname: the error names the line

    def error(problem):
        return ConfigError(config.path, entry.line, entry.key, problem)
    seeded_problem = _seeded_export_problem(config.model_name, model_file, params_file)
    if options.seeded_export:
        if seeded_problem:
            raise error("--seeded-export: " + seeded_problem)
        return {"name": "export", "argv": registry.export_argv(config.model_name, model_dir, config.seeded_input_name),
                "cwd": str(REPO_ROOT),
                "log": "export.log"}
    # --seeded-export is suggested only where it works
    raise error("no inference model in {} ({} and {}){}{}".format(
        model_dir, model_file, params_file, _download_hint(conversion),
        "" if seeded_problem else "; or pass --seeded-export to serve an untrained seeded network instead"))


def _seeded_export_problem(model_name, model_file, params_file):
    """Why --seeded-export cannot build this model (None when it can)."""
    if model_name not in registry.REGISTRY:
        return "'{}' is not a model tools/export_model.py builds (known: {})".format(
            model_name, ", ".join(sorted(registry.REGISTRY)))
    return registry.export_names_problem(model_file, params_file)


def _export_step(config, conversion, root):
    """PaddleDetection exports the serving model from trained weights; those must be a local file (the
    harness downloads nothing), unless the export is already there."""
    server = (root / conversion.serving_server).resolve()
    if (server / SERVER_CONF).is_file():
        return None
    weights = conversion.download
    if weights is not None and "://" in weights.value:
        raise ConfigError(config.path, weights.line, weights.key,
                          "the export would download {}; download it first and set weights to the local file "
                          "(no {} export exists yet)".format(weights.value, server))
    command = conversion.command
    return {"name": "export", "argv": command.argv, "cwd": str((root / command.cwd).resolve()), "log": "export.log",
            "writes": [str(server)]}


def prepare_steps(config, root, options):
    """The commands before the cases, in order: exports (when asked or needed) and conversions."""
    steps = []
    for conversion in config.conversions:
        if conversion.command is None:
            continue
        if conversion.command.label == "export":
            step = _export_step(config, conversion, root)
            steps += [step] if step else []
            continue
        if conversion.dirname:
            step = _model_step(config, conversion, root, options)
            steps += [step] if step else []
        command = conversion.command
        writes = [str((root / p).resolve()) for p in (conversion.serving_server, conversion.serving_client) if p]
        steps.append({"name": "convert" if conversion.role in ("model",) else "convert_" + conversion.role,
                      "argv": command.argv, "cwd": str((root / command.cwd).resolve()),
                      "log": command.log or "convert.log", "writes": writes})
    return steps


def replay_models(config, root):
    """Each converted model with its original (chain/replay.py matches an op's served folder to it); an export
    straight into the serving folder (PaddleDetection) has no original but itself."""
    return [{"role": c.role, "serving_server": str((root / c.serving_server).resolve()), "served_as": [],
             "dirname": str((root / c.dirname).resolve()) if c.dirname and (
                 c.command is None or c.command.label != "export") else None,
             "model_filename": _model_files(c)[0], "params_filename": _model_files(c)[1]}
            for c in config.conversions if c.serving_server]


def task_reference(config, root):
    """The task level's reference (repos/reference.py), or why there is none; a harness bug here is a note."""
    from ..repos import by_name
    try:
        return by_name(config.dialect).task_reference(config, root)
    except Exception as err:  # never fails a plan: the case says the task answers were not compared, and why
        return {"unavailable": "its reference could not be planned: {}: {}".format(type(err).__name__, err)}


def _service_yml(config, root):
    path = (root / config.serving_dir / config.service_config).resolve()
    try:
        return path, pipeline_config.load(path)
    except UserError as err:
        raise config.error("web_service", str(err)) from None


def _port(config, yml, key, path):
    value = yml.get(key)
    if value is None:
        return None
    try:
        return int(str(value).strip("\"'"))
    except ValueError:
        raise config.error("web_service", "{}: {} is not a port: {}".format(path, key, value)) from None


def _requested(config, yml, case, edits, cwd):
    """(what the case asks Paddle for, the options Paddle Serving 0.9 does not read, notes): config.yml with
    the script's edits and options, for each op with a local_service_conf (one op: its settings alone).
    An option the pipeline does not read (PaddleOCR passes use_trt, which Serving 0.9 ignores: TensorRT
    is device_type 2) is no error here, as the real service takes it too; the case says it was ignored."""
    conf = copy.deepcopy(yml)
    options = ["{}={}".format(key, value) for key, value in edits.items()]
    words = [word for word in (w[len("--opt="):] if w.startswith("--opt=") else w for w in case.service.argv)
             if word.startswith("op.") and "=" in word]
    ignored = [] if config.service_reads_options else words  # the service reads only config.yml
    options += words if config.service_reads_options else []
    for option in options:
        try:
            pipeline_config.apply_override(conf, option)
        except UserError as err:
            if "unknown key" not in str(err):
                raise config.error("web_service", "case {}: {}".format(case.name, err)) from None
            ignored.append(option)
    named = [o.split(".")[1] for o in options if o.startswith("op.")]
    ops = [name for name, op in conf["op"].items() if isinstance(op, dict) and op.get("local_service_conf")]
    if config.served_ops:  # a single-model service (PaddleOCR's web_service_det.py) runs only its own op
        ops = [name for name in ops if name in config.served_ops]
        named = [name for name in named if name in config.served_ops] or ops
    if len(ops) > 1:  # each op is judged on its own lines: its settings and its model folder
        confs = {name: conf["op"][name]["local_service_conf"] for name in ops}
        requested = {"ops": {name: dict(evidence.requested_settings(c), model=str(
            (Path(cwd) / str(c.get("model_config") or "")).resolve())) for name, c in confs.items()}}
        return requested, ignored, _gpu_ops_notes(case, requested, options)
    op = named[0] if named else (ops[0] if ops else None)
    if op is None:
        return None, ignored, []
    # one op: its settings, and its name for the reasons (`op tipc_example: device ...`)
    requested = dict(evidence.requested_settings(conf["op"][op].get("local_service_conf") or {}), op=op)
    return requested, ignored, _gpu_ops_notes(case, {"ops": {op: requested}}, options)


def _gpu_ops_notes(case, requested, options):
    """A CPU case in which an op runs on a GPU because the case does not set that op's device (PaddleOCR's
    CPU case sets only op.det's; rec keeps config.yml's devices "0"), named before anything runs."""
    if case.device != "cpu":
        return []
    set_by_case = {o.split(".")[1] for o in options if o.split("=", 1)[0].rsplit(".", 1)[-1] in ("devices", "device_type")}
    return ["op {} runs on the GPU in this CPU case: the case sets no device for it, and its config.yml asks for "
            "a GPU".format(op) for op, settings in evidence.ops_of(requested)
            if op and settings["device"] == "gpu" and op not in set_by_case]


def _edits_for(case, yml):
    """The script's config.yml edits (local_service_conf.x) as dotted keys of the service's one op."""
    if not case.config_edits:
        return {}
    ops = list(yml["op"])
    return {"op.{}.{}".format(ops[0], key): value for key, value in case.config_edits.items()}


def _file_edit(edit, root):
    """A FileEdit for the case runner (service/config_edit.edited_files), its paths absolute."""
    return {"path": str((root / edit.path).resolve()), "start": edit.start, "end": edit.end, "pattern": edit.pattern,
            "replacement": edit.replacement, "script": edit.script,
            "feed_from": str((root / edit.feed_from).resolve()) if edit.feed_from else None}


def plan_cases(config, root, serving, yml, gpu_available, gpu_mode):
    """Each case with its service and clients as the script runs them, and what it asks Paddle for."""
    planned = []
    tol = tolerance.for_case("fp32", None, None)
    for case in config.cases:
        cwd = (root / case.service.cwd).resolve()
        edits = _edits_for(case, yml)
        skip_reason, fail_reason = matrix.gpu_reasons(case.device, gpu_available, gpu_mode)
        requested, ignored, notes = _requested(config, yml, case, edits, cwd)
        planned.append({
            "name": case.name, "device": case.device, "settings": case.settings,
            "requested": requested, "ignored_options": ignored, "notes": notes,
            "ignored_why": (None if config.service_reads_options else
                            "its web service takes no arguments and reads only config.yml: the service ignores it"),
            "service": {"argv": case.service.argv, "cwd": str(cwd), "log": case.service.log or "server.log"},
            "clients": [{"label": client.label, "argv": client.argv, "cwd": str((root / client.cwd).resolve()),
                         "log": client.log or "client_{}.log".format(index), "compare": False}
                        for index, client in enumerate(case.clients, 1)],
            "config_edits": edits, "file_edits": [_file_edit(edit, root) for edit in case.file_edits], "opts": [], "precision": "fp32", "atol": tol.atol, "rtol": tol.rtol,
            "skip_reason": skip_reason, "fail_reason": fail_reason, "twin": None,
            "serving_dir": str(serving)})
    return planned


def _check_inputs(config, root):
    """Every test input the config names is there (the clients read it from their folder)."""
    for entry, cwd in config.inputs:
        path = (root / cwd / entry.value).resolve()
        if not path.exists():
            raise ConfigError(config.path, entry.line, entry.key, "no {} (the client reads it from {}): put it there "
                              "(TIPC's `bash test_tipc/prepare.sh {} serving_infer` fetches a config's data)".format(
                                  path, (root / cwd).resolve(), os.path.relpath(config.path, str(root))))


def _check_imports(config, cases, python):
    """Every web service script's imports resolve in the interpreter that runs it (service/imports.py)."""
    for script, cwd in sorted({(case["service"]["argv"][0], case["service"]["cwd"]) for case in cases}):
        path = Path(cwd) / script
        if not path.is_file():
            raise config.error("web_service", "no web service script {} (the service runs from {})".format(path, cwd))
        problem = imports.missing_import(python, path, cwd)
        if problem:
            raise config.error("web_service", problem)


def plan_dialect(config, options, python, python_note, gpu_available, run_dir):
    """The plan entry of a dialect config (the same shape the case runner reads for the harness's own)."""
    if options.http_port or options.rpc_port:
        raise UserError("{}: --http-port and --rpc-port apply to the harness's own configs; a {} service takes "
                        "its ports from its config.yml".format(config.path, config.dialect))
    root = repo_root_of(config.path, options.repo_root, options.caller_dir)
    serving = (root / config.serving_dir).resolve()
    if not serving.is_dir():
        raise config.error("serving_dir", "not a folder: {} (paths are taken from the model repository's root {}; "
                                          "--repo-root says otherwise)".format(serving, root))
    yml_path, yml = _service_yml(config, root)
    http_port = _port(config, yml, "http_port", yml_path)
    if http_port is None:
        raise config.error("web_service", "{} sets no http_port: the harness needs it to know when the service is "
                                          "ready".format(yml_path))
    prepare = prepare_steps(config, root, options)  # a missing model first: it is the first thing missing
    _check_inputs(config, root)
    cases = plan_cases(config, root, serving, yml, gpu_available, options.gpu)
    _check_imports(config, cases, python)
    coverage = NOT_COMPARED + config.coverage if config.coverage else None
    return {
        "config_path": str(config.path), "model_name": config.model_name, "run_dir": run_dir,
        "dialect": config.dialect, "script": config.script, "coverage": coverage, "repo_root": str(root),
        "compared": verdict_line(config.coverage),
        "python": python, "python_note": python_note,
        "prepare": prepare, "replay_models": replay_models(config, root),
        "task_reference": task_reference(config, root),
        "serving_dir": str(serving), "web_service_config": str(yml_path),
        "http_port": http_port, "rpc_port": _port(config, yml, "rpc_port", yml_path),
        # The readiness probe: the HTTP gateway answers it at any service name (service/readiness.py).
        "url": "http://127.0.0.1:{}/{}/prediction".format(http_port, list(yml["op"])[0]),
        "ready_timeout": options.ready_timeout or DEFAULT_READY_TIMEOUT,
        "process_ops": [op for op in process_ops(yml) if op in (config.served_ops or yml["op"])],
        "cases": cases,
    }


def _listing_notes(config, root, case):
    """The plan's notes on a case (an op left on the GPU in a CPU case), when its config.yml can be read."""
    try:
        _, yml = _service_yml(config, root)
        return _requested(config, yml, case, _edits_for(case, yml), (root / case.service.cwd).resolve())[2]
    except UserError:
        return []


def listing(config, root):
    """--list-cases: the dialect and every case's commands, read from the config alone."""
    lines = ["{}: {} config (as {} runs it), {} case{}, paths from {}".format(
        config.path, config.dialect, config.script, len(config.cases), "" if len(config.cases) == 1 else "s", root)]
    for conversion in config.conversions:
        if conversion.command is not None:
            lines.append("  {:<8} (cwd {}) python {}".format(conversion.command.label, conversion.command.cwd,
                                                             " ".join(conversion.command.argv)))
    for case in config.cases:
        lines.append("  case {} ({})".format(case.name, case.device))
        for key, value in case.config_edits.items():
            lines.append("    config.yml  {} = {!r}".format(key, value))
        for edit in case.file_edits:
            lines.append("    edit        {} (undone after the case)".format(edit.script))
        lines.append("    service (cwd {}) python {}".format(case.service.cwd, " ".join(case.service.argv)))
        lines.extend("    note        " + note for note in _listing_notes(config, root, case))
        for client in case.clients:
            lines.append("    client  (cwd {}) python {} > {}".format(client.cwd, " ".join(client.argv),
                                                                       client.log or "-"))
    lines.append("  verdict: {}".format(verdict_line(config.coverage)))
    return lines

