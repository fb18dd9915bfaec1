"""`python -m tipc_serving replay CAPTURE_DIR MODELS_JSON OUT_JSON`: every request the service's ops recorded
(service/capture/sitecustomize.py) replayed through Paddle Inference on the config's ORIGINAL inference model
(the conversion's --dirname and file names: this proves the conversion too), with the reference settings of
model/inference.py (CPU, fp32, no oneDNN, no TensorRT, IR optimisation off as Paddle Serving's default), and
every output compared (verdict/tensors.py). Runs in a process of its own: the case runner's process never
loads paddle.

MODELS_JSON lists the conversions: {"serving_server", "served_as" (other folders serving the same model, the
run's own copy), "dirname" (None: exported straight into serving_server, which is then its own original),
"model_filename", "params_filename", "role"}. An op is matched to its conversion by the folder it serves.
"""
import glob
import json
import os
import time
from pathlib import Path

from ..errors import ArgumentParser, UserError, cli
from ..jsonfile import write_json
from ..model.inference import InferenceSettings, predictor_config
from ..verdict.tensors import TensorCheck, compare_pair, new_figures

SITECUSTOMIZE_ERROR = "Error in sitecustomize"


def _first_line(path):
    try:
        return next((line.strip() for line in Path(path).read_text(errors="replace").splitlines() if line.strip()), "")
    except OSError:
        return ""


def _why_not_loaded(server_log):
    """What the service's log says of the hook (Python's own line when sitecustomize raised)."""
    try:
        lines = Path(server_log).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for index, line in enumerate(lines):
        if SITECUSTOMIZE_ERROR in line or "tipc capture hook:" in line:
            return " ".join(l.strip() for l in lines[index:index + 2])
    return ""


def served_files(folder):
    """A serving folder's model files, found as LocalPredictor finds them: (dir, model, params)."""
    folder = Path(folder)
    if (folder / "__params__").exists():
        return folder, "__model__", "__params__"
    models, params = sorted(glob.glob(str(folder / "*.pdmodel"))), sorted(glob.glob(str(folder / "*.pdiparams")))
    if models and params:
        return folder, Path(models[0]).name, Path(params[0]).name
    raise UserError("{} has no model files Paddle Serving would load".format(folder))


def original_of(model_path, models):
    """(conversion, (dir, model file, params file), note) serving model_path; None when no conversion does."""
    real = os.path.realpath(model_path)
    for model in models:
        folders = [model["serving_server"]] + list(model.get("served_as") or [])
        if any(os.path.realpath(folder) == real for folder in folders if folder):
            if model.get("dirname"):
                return model, (model["dirname"], model["model_filename"], model["params_filename"]), ""
            return model, served_files(real), ("no --dirname: the model was exported straight into {}, so it is its "
                                               "own original (the served predictor is proven, no conversion is)"
                                               .format(model["serving_server"]))
    return None


def read_capture(capture_dir):
    """(hooks {pid: document}, errors [line], requests [(file name, arrays, meta)])."""
    import numpy as np

    capture_dir = Path(capture_dir)
    hooks = {}
    for path in sorted(capture_dir.glob("hook-pid*.json")):
        try:
            hooks[path.stem[len("hook-pid"):]] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    errors = ["pid {}: {}".format(p.stem[len("hook-error-pid"):], _first_line(p))
              for p in sorted(capture_dir.glob("hook-error-pid*.txt"))]
    requests = []
    for path in sorted(capture_dir.glob("*.npz")):
        with np.load(str(path), allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        requests.append((path.name, arrays, json.loads(str(arrays.pop("meta")))))
    return hooks, errors, requests


def _predictor(files, settings):
    import paddle.inference as paddle_infer

    folder, model_file, params_file = files
    config = predictor_config(folder, settings, quiet=True, model_filename=model_file,
                              params_filename=params_file)
    return paddle_infer.create_predictor(config)


def _run(predictor, arrays, meta):
    for name in meta["inputs"]:
        handle = predictor.get_input_handle(name)
        if "feed_lod/" + name in arrays:
            handle.set_lod([arrays["feed_lod/" + name].tolist()])
        handle.copy_from_cpu(arrays["feed/" + name])
    predictor.run()
    outputs = {}
    for name in predictor.get_output_names():
        handle = predictor.get_output_handle(name)
        lod = handle.lod()
        outputs[name] = (handle.copy_to_cpu(), [int(v) for v in lod[0]] if len(lod) > 0 else None)
    return outputs


def replay_op(check, op, model_path, requests, models, overrides):
    """Replay one op's requests; its figures and problems go into check."""
    found = original_of(model_path, models)
    if found is None:
        check.unavailable = "op {} serves {}, which no conversion of the config writes: its original model is " \
                            "unknown".format(op, model_path)
        return
    conversion, files, note = found
    settings = requests[0][2]["settings"]
    # the reference settings (fp32 on the CPU, no oneDNN, no TensorRT) with the served op's thread count and IR
    # optimisation: both move no precision, only the order of the sums (IR fuses conv+bn, PaddleOCR's det
    # differs by 2e-5 without it), so what remains is what the engine settings under test change
    reference = InferenceSettings(cpu_threads=int(settings.get("thread_num") or InferenceSettings.cpu_threads),
                                  ir_optim=bool(settings.get("ir_optim", InferenceSettings.ir_optim)))
    check.ops.append({"op": op, "model_path": model_path, "original": [str(f) for f in files], "role":
                      conversion.get("role"), "served_settings": settings, "reference_settings": reference.as_dict(),
                      "requests": len(requests), "note": note})
    if note:
        check.notes.append("{}: {}".format(op, note))
    try:
        predictor = _predictor(files, reference)
    except UserError as err:
        check.problems.append("{}: {}".format(op, err))
        return
    except Exception as err:  # Paddle's assorted exception types for a model it cannot load
        check.problems.append("{}: Paddle Inference cannot load {}: {}".format(
            op, files[0], str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__))
        return
    inputs = sorted(predictor.get_input_names())
    figures = {}
    for request, arrays, meta in requests:
        if sorted(meta["inputs"]) != inputs:
            check.problems.append("{}: the served model's inputs {} are not the original model's {} ({})".format(
                op, sorted(meta["inputs"]), inputs, files[0]))
            return
        outputs = _run(predictor, arrays, meta)
        served_names = meta["outputs"]
        if sorted(served_names) != sorted(outputs):
            check.problems.append("{}: the served model's outputs {} are not the original model's {}".format(
                op, served_names, sorted(outputs)))
            return
        fetched = set(meta.get("fetched_outputs") or meta.get("fetch") or [])
        for name in served_names:
            if name not in figures:
                figures[name] = new_figures(op, name, name in fetched, settings, overrides)
            lod = arrays.get("out_lod/" + name)
            compare_pair(figures[name], request, arrays["out/" + name], outputs[name][0],
                         [int(v) for v in lod] if lod is not None else None, outputs[name][1])
    check.fetches.extend(figures.values())


def replay(capture_dir, models, server_log="", overrides=None):
    """The TensorCheck of a case from its capture folder."""
    start = time.monotonic()
    check = TensorCheck()
    if not Path(capture_dir).is_dir():
        check.problems.append("capture did not happen: no capture folder {}".format(capture_dir))
        return check
    hooks, errors, requests = read_capture(capture_dir)
    check.problems += ["capture hook failed in {}".format(error) for error in errors]
    if not hooks:
        why = _why_not_loaded(server_log)
        check.problems.append("capture did not happen: no process of the service loaded the capture hook "
                              "(service/capture/sitecustomize.py){}".format("; its log: " + why if why else
                                                                            "; nothing in {} says why".format(server_log)))
        return check
    if not requests:
        loaded = sorted({m["model_path"] for hook in hooks.values() for m in hook.get("models", [])})
        check.problems.append("capture did not happen: the hook loaded in {} process{} ({}) but no predictor "
                              "recorded a request".format(len(hooks), "" if len(hooks) == 1 else "es",
                                                          "models: " + ", ".join(loaded) if loaded else
                                                          "no LocalPredictor loaded a model"))
        return check
    by_model = {}
    for request in requests:
        by_model.setdefault(request[2]["model_path"], []).append(request)
    loaded = {m["model_path"]: m for hook in hooks.values() for m in hook.get("models", [])}
    for model_path in sorted(set(loaded) - set(by_model)):
        check.unavailable = "op serving {} answered no request: nothing to compare".format(model_path)
    for model_path, op_requests in sorted(by_model.items()):
        op = os.path.basename(model_path.rstrip("/"))
        replay_op(check, op, model_path, op_requests, models, overrides)
    check.replay_s = round(time.monotonic() - start, 3)
    return check


@cli("python -m tipc_serving replay")
def main(argv):
    parser = ArgumentParser(prog="python -m tipc_serving replay", description=__doc__.splitlines()[0])
    parser.add_argument("capture_dir")
    parser.add_argument("models_json")
    parser.add_argument("out_json")
    parser.add_argument("--server-log", default="")
    args = parser.parse_args(argv)
    document = json.loads(Path(args.models_json).read_text())
    check = replay(args.capture_dir, document["models"], args.server_log, document.get("overrides"))
    write_json(args.out_json, check.as_dict())
    print(check.summary_line())
    for figures in check.fetches:
        print("  " + figures.describe())
    for note in check.notes:
        print("  note: " + note)
    return 0
