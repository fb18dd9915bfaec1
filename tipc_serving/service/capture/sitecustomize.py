"""The capture hook: put on a served process's PYTHONPATH by the case runner (chain/capture.py), Python imports
it at start. It wraps Paddle Serving 0.9.0's LocalPredictor (paddle_serving_app/local_predict.py) when that
module is imported, so that each op records, for a bounded number of its requests, the feed tensors the
predictor was given and EVERY output the model returned (fetched or not), into TIPC_CAPTURE_DIR:

    <op key>-<slot>-pid<pid>.npz   feed/<name>, feed_lod/<name>, out/<name>, out_lod/<name>, meta (JSON)
    hook-pid<pid>.json             this process patched LocalPredictor (its models, as they load)
    hook-error-pid<pid>.txt        why the hook could not do its work in this process

It imports nothing of the served code until Paddle Serving imports local_predict, changes no argument and no
result, and never raises into the service: a failure is written down, and the case runner fails the case
(a capture that did not happen is never a pass). Standard library only at start; numpy when a request is
recorded. A sitecustomize this one shadows (one further on sys.path) still runs.
"""
import json
import os
import sys
import threading
import traceback

TARGET = "paddle_serving_app.local_predict"
DIR_ENV, LIMIT_ENV = "TIPC_CAPTURE_DIR", "TIPC_CAPTURE_LIMIT"
DEFAULT_LIMIT = 8  # requests per op (per served model folder), across all its processes


def _write(name, text):
    path = os.path.join(os.environ[DIR_ENV], name)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(path + ".tmp", path)


def _error(what):
    """Record why this process captures nothing; never raises."""
    try:
        _write("hook-error-pid{}.txt".format(os.getpid()), "{}\n{}".format(what, traceback.format_exc()))
    except Exception:  # the folder itself is the problem: say so where the service log is
        print("tipc capture hook: {}".format(what), file=sys.stderr)


def _op_key(model_path):
    import hashlib
    real = os.path.realpath(str(model_path))
    return "{}-{}".format(os.path.basename(real.rstrip("/")) or "model", hashlib.sha1(real.encode()).hexdigest()[:8])


class _Recorder:
    """One served model's recording: claims slots shared by all of its processes (O_EXCL files)."""

    def __init__(self, model_path, settings, limit):
        self.model_path, self.settings, self.limit = os.path.realpath(str(model_path)), settings, limit
        self.key = _op_key(model_path)
        self.next_slot, self.done = 0, limit <= 0
        self.lock = threading.Lock()  # thread mode: the op's threads share one predictor

    def claim(self):
        while self.next_slot < self.limit:
            slot, self.next_slot = self.next_slot, self.next_slot + 1
            try:
                os.close(os.open(os.path.join(os.environ[DIR_ENV], "{}-{:03d}.slot".format(self.key, slot)),
                                 os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                return slot
            except FileExistsError:
                continue
        self.done = True
        return None

    def save(self, slot, predictor, feed, batch, fetch, returned):
        import numpy as np
        arrays, inputs, outputs = {}, [], []
        for name in predictor.get_input_names():
            value = np.asarray(feed[name])
            arrays["feed/" + name] = value if batch else value[np.newaxis, :]
            inputs.append(name)
            if name + ".lod" in feed:
                arrays["feed_lod/" + name] = np.asarray(feed[name + ".lod"], dtype=np.int64)
        for name in predictor.get_output_names():
            handle = predictor.get_output_handle(name)
            arrays["out/" + name] = handle.copy_to_cpu()
            outputs.append(name)
            lod = handle.lod()
            if len(lod) > 0:
                arrays["out_lod/" + name] = np.asarray(lod[0], dtype=np.int64)
        # the outputs the service got, as predict picks them: by name, else by position (an alias like
        # PaddleClas's "prediction" names no output)
        asked = fetch if isinstance(fetch, list) else ([fetch] if fetch else list(outputs))
        fetched = [name for name in asked if name in outputs] or outputs[:len(asked)]
        meta = {"fetched_outputs": fetched, "model_path": self.model_path, "settings": self.settings, "pid": os.getpid(), "slot": slot,
                "inputs": inputs, "outputs": outputs, "fetch": fetch if isinstance(fetch, list) else
                ([fetch] if fetch else None), "returned": sorted(returned), "batch": bool(batch)}
        arrays["meta"] = np.array(json.dumps(meta))
        path = os.path.join(os.environ[DIR_ENV], "{}-{:03d}-pid{}".format(self.key, slot, os.getpid()))
        np.savez(path + ".tmp.npz", **arrays)
        os.replace(path + ".tmp.npz", path + ".npz")


def _patch(module):
    cls = module.LocalPredictor
    limit = int(os.environ.get(LIMIT_ENV) or DEFAULT_LIMIT)
    load_model_config, predict = cls.load_model_config, cls.predict
    models = []

    def load_and_note(self, model_path, *args, **kwargs):
        result = load_model_config(self, model_path, *args, **kwargs)
        try:
            import inspect
            bound = inspect.signature(load_model_config).bind(self, model_path, *args, **kwargs)
            bound.apply_defaults()  # Serving's defaults are settings too (use_mkldnn False, ir_optim False)
            settings = {k: v for k, v in bound.arguments.items()
                        if k not in ("self", "model_path") and isinstance(v, (bool, int, float, str, type(None)))}
            self._tipc_recorder = _Recorder(model_path, settings, limit)
            models.append({"model_path": self._tipc_recorder.model_path, "key": self._tipc_recorder.key,
                           "settings": settings})
            _write("hook-pid{}.json".format(os.getpid()), json.dumps({"pid": os.getpid(), "models": models}))
        except Exception:
            _error("could not note the model {}".format(model_path))
        return result

    def predict_and_record(self, feed=None, fetch=None, batch=False, log_id=0):
        recorder = getattr(self, "_tipc_recorder", None)
        if recorder is None or recorder.done:
            return predict(self, feed=feed, fetch=fetch, batch=batch, log_id=log_id)
        with recorder.lock:  # the outputs are read back before another thread runs the predictor
            result = predict(self, feed=feed, fetch=fetch, batch=batch, log_id=log_id)
            try:
                slot = recorder.claim()
                if slot is not None:
                    recorder.save(slot, self.predictor, feed, batch, fetch, list(result))
            except Exception:
                recorder.done = True
                _error("could not record a request of {}".format(recorder.model_path))
        return result

    cls.load_model_config, cls.predict = load_and_note, predict_and_record
    _write("hook-pid{}.json".format(os.getpid()), json.dumps({"pid": os.getpid(), "models": models}))


class _PatchingLoader:
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        try:
            _patch(module)
        except Exception:
            _error("could not wrap {}.LocalPredictor".format(TARGET))


class _Finder:
    """Finds local_predict with the other finders and patches it once it has run."""

    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


def _run_shadowed():
    """The sitecustomize this one hides (a distribution's, a virtual environment's) still runs."""
    import importlib.machinery
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    others = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


def _install():
    if not os.environ.get(DIR_ENV):
        return
    try:
        int(os.environ.get(LIMIT_ENV) or DEFAULT_LIMIT)
        os.makedirs(os.environ[DIR_ENV], exist_ok=True)
        if TARGET in sys.modules:  # imported before us (cannot happen at start; kept for safety)
            _patch(sys.modules[TARGET])
        else:
            sys.meta_path.insert(0, _Finder())
    except Exception:
        _error("the capture hook did not install")


_install()
try:
    _run_shadowed()
except Exception:
    traceback.print_exc()
