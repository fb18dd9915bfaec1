"""The steps before the cases: export (when asked), convert, reference, golden. Each one leaves its log,
its TIPC status line and its entry in the report, and says whether the chain may go on."""
import sys
import time
from pathlib import Path

from .. import REPO_ROOT
from ..errors import UserError
from ..jsonfile import write_json
from ..model.converted import conversion_problems, declared, forget_ended, publish, run_copy, start_part
from ..verdict import golden as golden_files
from ..verdict.case_status import golden_step_status
from ..verdict.inputs import load_export_info
from ..verdict.judge import CheckResult
from ..verdict.cli import golden_text
from .commands import failure_reason, run_logged
from .context import PLAN_FILE, command_text

COMPARE_RESULTS = "test_tipc/compare_results.py"
GOLDEN_REQUIRED = "golden check required (--require-golden) but skipped: "


def _command_step(ctx, name, argv, cwd=REPO_ROOT):
    """Run one step's command: progress, log, status line, report entry. True when it exited 0."""
    log = ctx.run_dir / "{}.log".format(name)
    ctx.progress("{}: {}".format(name, command_text(argv)))
    returncode, seconds = run_logged(argv, log, cwd)
    ctx.status_line(returncode == 0, argv, log)
    status = "passed" if returncode == 0 else "failed"
    reason = "" if returncode == 0 else failure_reason(returncode, log)
    ctx.report.record_step(name, status, round(seconds, 3), reason, str(log))
    ctx.progress("{} {} in {:.1f}s".format(name, status, seconds))
    return returncode == 0


def _dialect_steps(ctx, kind):
    """A dialect config's own export or conversion commands (config/dialect_plan.py), in order; a
    conversion must have written its folders, just now."""
    steps = [step for step in ctx.config["prepare"] if step["name"].startswith(kind)]
    if not steps:
        ctx.report.record_step(kind, "skipped", 0, "nothing to {} (the model is there)".format(kind))
        return True
    for step in steps:
        since = time.time()
        if not _command_step(ctx, step["name"], [ctx.python(), *step["argv"]], step["cwd"]):
            return False
        writes = step.get("writes") or []
        if kind == "convert" and len(writes) == 2 and not _converted(ctx, step["name"], writes, since):
            return False
    return True


def _converted(ctx, name, writes, since, shown=None):
    """Whether the conversion wrote its files (writes: server and client folders) after `since`; else a failed
    step. shown: the folders to name instead (the config's, for a conversion written beside them)."""
    problems = conversion_problems(writes[0], writes[1], since)
    if not problems:
        return True
    shown = shown or writes
    for written, folder in zip(writes, shown):
        problems = [problem.replace(str(written), str(folder)) for problem in problems]
    writes = shown
    reason = "conversion incomplete: " + "; ".join(problems)
    log = ctx.run_dir / "{}.log".format(name)
    with open(str(log), "a", encoding="utf-8") as handle:
        handle.write(reason + "\n")
    ctx.status_line(False, [sys.executable, "-m", "tipc_serving", "converted", "--since", since, *writes], log)
    ctx.report.record_step(name, "failed", round(time.time() - since, 3), reason, str(log))
    ctx.progress("{} failed: {}".format(name, reason))
    return False


def _not_compared(ctx, name):
    """The answers of this config are not compared: its reference (or golden) step says so and why; a
    golden check required by --require-golden fails."""
    if name == "golden" and ctx.plan.get("require_golden"):
        return _required_golden_failed(ctx, ctx.config["coverage"], [sys.executable, COMPARE_RESULTS, "--golden",
                                                                     "(none)"], 0)
    ctx.report.record_step(name, "skipped", 0, ctx.config["coverage"])
    ctx.progress("{} skipped: {}".format(name, ctx.config["coverage"]))
    return True


def _required_golden_failed(ctx, skip_reason, command, seconds, details=""):
    """--require-golden: a golden check that was skipped fails, saying why it was skipped."""
    reason = GOLDEN_REQUIRED + skip_reason
    log = ctx.run_dir / "golden.log"
    log.write_text(reason + ("\n" + details if details else "") + "\n", encoding="utf-8")
    ctx.status_line(False, command, log)
    ctx.report.record_step("golden", "failed", round(seconds, 3), reason, str(log))
    ctx.progress("golden failed: " + reason)
    return False


def export(ctx):
    if "prepare" in ctx.config:
        exported = _dialect_steps(ctx, "export")
        if exported:
            _plan_reference_again(ctx)
        return exported
    model = ctx.config["model"]
    if model["present"]:
        ctx.report.record_step("export", "skipped", 0, "inference model present in {}".format(model["dir"]))
        ctx.progress("export skipped: inference model present in {}".format(model["dir"]))
        return True
    return _command_step(ctx, "export", [ctx.python(), *model["export_args"]])


def _plan_reference_again(ctx):
    """A task reference planned before the export it reads (PaddleDetection's infer_cfg.yml: the model's arch
    and preprocessing) is planned again once the export has written it, into the run's plan."""
    if not (ctx.config.get("task_reference") or {}).get("plan_after_export"):
        return
    from ..config.dialect_plan import task_reference
    from ..config.tipc import parse
    try:
        config = parse(ctx.config["config_path"], ctx.config["dialect"])
    except UserError as err:  # the config was read a moment ago: keep what was planned
        ctx.progress("task reference not planned again: {}".format(err))
        return
    ctx.config["task_reference"] = task_reference(config, Path(ctx.config["repo_root"]))
    write_json(ctx.run_dir / PLAN_FILE, ctx.plan)


def convert(ctx):
    """The config's conversion command; a zero exit status is not enough: it must have written its
    files, just now."""
    if "prepare" in ctx.config:
        return _dialect_steps(ctx, "convert")
    convert, run_id = ctx.config["convert"], ctx.run_dir.name
    folders = [convert["serving_server"], convert["serving_client"]]
    # Written beside the config's folders, then renamed into place (model/converted.py): no other run
    # rewrites the model this run's services read.
    parts = {folder: str(start_part(folder, run_id)) for folder in folders}
    args = list(convert["args"])
    for index, word in enumerate(args[:-1]):
        if word in ("--serving_server", "--serving_client"):
            args[index + 1] = parts.get(args[index + 1], args[index + 1])
    since = time.time()
    if not (_command_step(ctx, "convert", [ctx.python(), *args])
            and _converted(ctx, "convert", list(parts.values()), since, shown=folders)):
        for folder in folders:
            forget_ended(folder, run_id)
        return False
    for folder in folders:
        publish(folder, run_id)
    ctx.progress("convert: this run's services read {} ({} points at it)".format(
        run_copy(folders[0], run_id), declared(folders[0])))
    return True


def release_conversion(ctx):
    """At the run's end: its own converted copy goes, unless the config's folder still points at it."""
    if "prepare" in ctx.config or "convert" not in ctx.config:
        return
    for folder in (ctx.config["convert"]["serving_server"], ctx.config["convert"]["serving_client"]):
        forget_ended(folder, ctx.run_dir.name)


def reference(ctx):
    if ctx.config.get("coverage"):
        return _not_compared(ctx, "reference")
    return _command_step(ctx, "reference", [ctx.python(), *ctx.config["reference_args"], "--output-json",
                                            ctx.reference_json])


def golden(ctx):
    """The fresh reference against the golden results kept in git, when they were made the same way. A
    skipped comparison is a visible step with its reason, and a failure with --require-golden."""
    if ctx.config.get("coverage"):
        return _not_compared(ctx, "golden")
    start = time.monotonic()
    path = ctx.config["golden"]
    model_dir = ctx.config["model"]["dir"]
    export_info = "{}/export_info.json".format(model_dir)
    reference_json = ctx.reference_json
    log = ctx.run_dir / "golden.log"
    command = [sys.executable, COMPARE_RESULTS, "--reference", reference_json, "--golden", path,
               "--export-info", export_info]
    if not Path(path).is_file():
        check = CheckResult.skip(0, 0, "no golden file {} (write one with {} --write-golden)".format(
            path, COMPARE_RESULTS))
    elif not Path(export_info).is_file():
        # A model brought along (--dirname at an existing inference model) has no export_info.json: the
        # golden file describes tools/export_model.py's seeded export and says nothing about it.
        check = CheckResult.skip(0, 0, "{} has no export_info.json (not made by tools/export_model.py): {} does "
                                       "not apply".format(model_dir, path))
    else:
        check = golden_files.compare_golden_file(path, reference_json, load_export_info(export_info))
    text, status = golden_text(check), golden_step_status(check)
    if status == "skipped" and ctx.plan.get("require_golden"):
        return _required_golden_failed(ctx, check.skip_reason, command, time.monotonic() - start, text)
    first_line = text.split("\n", 1)[0]
    log.write_text(text + "\n", encoding="utf-8")
    if status != "skipped":
        ctx.status_line(status == "passed", command, log)
    ctx.report.record_step("golden", status, round(time.monotonic() - start, 3), first_line, str(log))
    ctx.progress("golden {}: {}".format(status, first_line))
    return status != "failed"


STEPS = {"export": export, "convert": convert, "reference": reference, "golden": golden}
