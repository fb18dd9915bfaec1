"""The task level of a case (issue 21): the served answers against the repository's own inference script's.

The reference (the plan's "task_reference", from the repository's module: repos/reference.py) runs once per
config run, in a process of its own (chain/reference_run.py), into <run>/task_reference/; its answers are read
by its repository's reader. The served answers are the client's replies (verdict/replies.py), and for a service
that answers with a summary (PaddleSeg's mean label) the label map its op computed (the engine level's
capture). The comparator of the task (verdict/tasks/) gives a TaskCheck; the accepted differences beside the
config (verdict/baseline.py) are marked, never hidden.
"""
import importlib
import os
import time
from pathlib import Path

import numpy as np

from .. import REPO_ROOT
from ..verdict import baseline
from ..verdict.tasks import TaskCheck, segmentation
from ..verdict.tolerance import for_task
from .capture import capture_dir
from .commands import TimedOut, decisive_line, run_logged

REFERENCE_TIMEOUT = 600
_CACHE = {}  # run folder -> (answers, problem, argv, seconds): one reference run per config run


def reader(name):
    """The reference's reader, named `<module of repos/>:<function>` by the plan (repos/reference.py)."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module("{}.repos.{}".format(__package__.rsplit(".", 1)[0], module)), function)


def task_module(task):
    """The task's comparator: verdict/tasks/<task>.py (served_answer, compare)."""
    return importlib.import_module("{}.verdict.tasks.{}".format(__package__.rsplit(".", 1)[0], task))


def reference_argv(python, spec, out_dir, image=None):
    words = [python, "-m", "tipc_serving.chain.reference_run"]
    for path in spec.get("paths") or []:
        words += ["--path", path]
    if spec.get("package"):
        words += ["--package", spec["package"]]
    return words + ["--"] + [str(w).replace("{out}", str(out_dir)).replace("{image}", str(image))
                             for w in spec["argv"]]


def reference_runs(python, spec, folder):
    """(argv, output folder, log) of each run of the reference: one, or one per image for a script that reads a
    single image ("per_image": its argv names {image}; each run writes into out/<n>/ and its own log)."""
    if not spec.get("per_image"):
        return [(reference_argv(python, spec, folder / "out"), folder / "out", folder / "reference.log")]
    return [(reference_argv(python, spec, folder / "out" / str(n), image), folder / "out" / str(n),
             folder / ("reference.log" if n == 0 else "reference_{}.log".format(n)))
            for n, image in enumerate(spec["images"])]


def run_reference(python, spec, run_dir, timeout=REFERENCE_TIMEOUT):
    """(answers, problem, argv, seconds) of the reference, run once per config run (argv: its first run's)."""
    key = str(run_dir)
    if key in _CACHE:
        return _CACHE[key]
    folder = Path(run_dir) / "task_reference"
    runs = reference_runs(python, spec, folder)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p))
    for name in ("TIPC_CAPTURE_DIR",):
        env.pop(name, None)
    start = time.monotonic()
    answers, problem = {}, None
    for argv, out, log in runs:
        out.mkdir(parents=True, exist_ok=True)
        try:
            returncode, _ = run_logged(argv, log, spec["cwd"], env=env,
                                       timeout=max(1.0, timeout - (time.monotonic() - start)))
            if returncode != 0:
                problem = "{} failed (exit status {}): {} (see {})".format(spec["script"], returncode,
                                                                          decisive_line(log) or "no line says why", log)
            else:
                answers.update(reader(spec["reader"])(out, log.read_text(encoding="utf-8", errors="replace"), spec))
        except TimedOut:
            problem = "{} gave no answer within {:.0f} s (--case-timeout; see {})".format(spec["script"], timeout, log)
        except (OSError, ValueError, KeyError, ImportError, AttributeError, TypeError) as err:
            problem = "{}'s answers could not be read: {} (see {})".format(spec["script"], err, log)
        if problem:
            break
    if not problem and not answers:
        problem = "{} gave no answer that could be read (see {})".format(spec["script"], runs[0][2])
    _CACHE[key] = (None if problem else answers, problem, runs[0][0], time.monotonic() - start)
    return _CACHE[key]


def _stem(name):
    return Path(str(name)).stem


def served_answers(task, clients, case_dir, images):
    """{image basename: answer} of the first client with replies, in the task's terms (its served_answer)."""
    client = next((c for c in clients if c.replies is not None and c.replies.replies), None)
    replies = client.replies.replies if client else []
    names = [Path(i).name for i in images]
    found = {}
    for index, reply in enumerate(replies):  # a reply without its image's name is the image sent in its turn
        image = Path(reply.source).name if reply.source else names[min(index, len(names) - 1)] if names else str(index)
        if image in found or reply.err_no != 0:  # one image sent several times (PaddleClas's loop): the first
            continue
        answer = task_module(task).served_answer(reply.answers)
        if answer is not None:
            found[image] = answer
    return found


def served_label_maps(case_dir, images):
    """The label maps the service's op computed (the capture's integer outputs), one per request in order."""
    maps = []
    for path in sorted(capture_dir(case_dir).glob("*.npz"), key=lambda p: p.stat().st_mtime):
        with np.load(str(path), allow_pickle=False) as data:
            outs = [data[k] for k in data.files if k.startswith("out/") and np.issubdtype(data[k].dtype, np.integer)]
            maps += [outs[0]] if outs else []
    names = [Path(i).name for i in images]
    return {name: maps[i] for i, name in enumerate(names) if i < len(maps)}


def compare_answers(python, case_dir, config, case, clients, run_dir, timeout=REFERENCE_TIMEOUT):
    """The case's TaskCheck (unavailable, saying why, where the task level is not built)."""
    spec = config.get("task_reference") or {"unavailable": "the plan names no reference (an older plan)"}
    if spec.get("unavailable"):
        return TaskCheck(unavailable=spec["unavailable"]), None
    start = time.monotonic()
    answers, problem, argv, _ = run_reference(python, spec, run_dir, timeout)
    check = TaskCheck(task=getattr(task_module(spec["task"]), "TITLE", spec["task"]), reference=spec["script"],
                      command="(cd {} && {})".format(spec["cwd"], " ".join(str(a) for a in argv)),
                      parameters=spec.get("parameters") or {})
    if problem:
        check.problems.append(problem)
        return check, argv
    tol = for_task(case.get("precision"))
    served = served_answers(spec["task"], clients, case_dir, spec["images"])
    rounding = float(spec.get("score_rounding") or 0.0)
    if spec["task"] == "segmentation":  # the service answers a mean: its label map is the op's own output
        by_stem = {_stem(i): Path(i).name for i in spec["images"]}
        reference = {by_stem.get(_stem(name), name): value for name, value in answers.items()}
        result = segmentation.compare(served_label_maps(case_dir, spec["images"]), served, reference, tol)
    else:
        result = task_module(spec["task"]).compare(served, answers, tol, precision=case.get("precision") or "fp32",
                                                   score_rounding=rounding)
    for name in ("task", "reference", "command", "parameters"):
        setattr(result, name, getattr(check, name))
    (Path(run_dir) / "task_reference" / "parameters.txt").write_text(result.parameters_text(), encoding="utf-8")
    path = baseline.path_for(config["config_path"])
    baseline.apply(result, baseline.load(path), case["name"], path)
    result.seconds = time.monotonic() - start
    return result, argv
