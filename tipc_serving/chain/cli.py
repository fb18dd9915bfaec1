"""The chain's commands, one per TIPC step of a config's run (test_serving.sh calls them in this order):

    python -m tipc_serving open RUN_DIR --plan PLAN.json [--bootstrap-seconds S --bootstrap-python PY]
                                [--network-status passed|skipped --network-note TEXT] [--case-timeout S]
    python -m tipc_serving step RUN_DIR export|convert|reference|golden
    python -m tipc_serving cases RUN_DIR
    python -m tipc_serving finish RUN_DIR [--not-reached]
    python -m tipc_serving abort RUN_DIR [--signal INT | --output-failed]   (from the harness's trap)

Each prints progress and TIPC status lines on stdout, records into RUN_DIR's report, and exits 0 when
its part went well, 1 when not, 2 for bad usage, 3 when the output folder cannot be written (one line;
the harness then stops the run). SIGINT, SIGTERM and SIGHUP stop whatever the command started. Under
test_serving.sh (TIPC_HARNESS_PID set), a command whose harness is gone (killed with SIGKILL: no trap ran)
stops at once as if interrupted, then stops the run's services and marks its unfinished cases not run.
"""
import ctypes
import os
import signal

from ..errors import ArgumentParser, Interrupted, cli, handle_termination, output_error
from ..jsonfile import read_json, write_atomic, write_json
from ..report.entries import ReportError
from ..report.store import Report
from ..report.table import print_text
from ..verdict.case_status import STEP_STATUSES
from ..repos import OWN
from .context import DEFAULT_CASE_TIMEOUT, PLAN_FILE, RunContext, progress

STEP_NAMES = ("export", "convert", "reference", "golden")

NOT_REACHED = "not reached: a preparation step failed (see the steps above)"


def _link_latest(run_dir):
    """model/serving_python/latest -> the newest run id, replaced atomically."""
    link = run_dir.parent / "latest"
    temporary = run_dir.parent / ".latest.{}".format(os.getpid())
    if os.path.lexists(str(temporary)):
        os.unlink(str(temporary))
    os.symlink(run_dir.name, str(temporary))
    os.replace(str(temporary), str(link))


def open_run(args):
    """Create the run folder with the plan, the report (every case listed) and the first two steps."""
    plan = read_json(args.plan, "plan", error=ReportError, want=dict)
    run_dir = os.path.abspath(args.run_dir)
    os.makedirs(run_dir, exist_ok=True)
    write_json(os.path.join(run_dir, PLAN_FILE), plan)
    ctx = RunContext(run_dir, plan)
    config = ctx.config
    cases = [{"name": c["name"], "device": c["device"], "settings": c["settings"], "requested": c.get("requested"),
              "skip_reason": c["skip_reason"]} for c in config["cases"]]
    ctx._report = Report.create(run_dir, ctx.model_name, config["config_path"], ctx.run_dir.name, plan.get("shard"),
                                cases, dialect=config.get("dialect"), coverage=config.get("coverage"))
    open(str(ctx.status_log.path), "a").close()
    _link_latest(ctx.run_dir)
    ctx.report.state_setting("case_timeout_s", args.case_timeout)
    ctx.report.record_step("bootstrap", "passed", args.bootstrap_seconds, args.bootstrap_python)
    ctx.report.record_step("network", args.network_status, 0, args.network_note)
    stop_leftovers(ctx)
    ctx.progress("run {} in {}".format(ctx.run_dir.name, ctx.run_dir))
    ctx.progress(config["python_note"])
    ctx.progress("each case must end within {:g} s, start to stop (--case-timeout)".format(args.case_timeout))
    if config.get("dialect") not in (None, OWN):
        ctx.progress("{} config, run as {} runs it; compared: {}".format(config["dialect"], config["script"],
                                                                         config["compared"]))
        write_atomic(os.path.join(run_dir, REPOSITORY_LOCK), repository_lock(config["repo_root"]) + "\n")
    return 0


REPOSITORY_LOCK = "repository.lock"  # names the lock test_serving.sh holds while this config runs


def repository_lock(repo_root):
    """The lock file of a PaddlePaddle repository's checkout: its script converts into the repository's own
    folders (and its services read them), so two runs of one checkout take turns instead of rewriting a
    model under each other's service. Outside the checkout: the user's files stay as they were."""
    import hashlib
    import tempfile

    folder = os.path.join(tempfile.gettempdir(), "tipc-serving-locks")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, hashlib.sha256(os.path.realpath(repo_root).encode()).hexdigest()[:16] + ".lock")


# Each command imports only what it uses: every one is a process of its own, and a warm run starts seven.

def stop_leftovers(ctx):
    """Stop the services of earlier runs whose harness was killed with SIGKILL (no trap ran), before any of
    this run's services needs their ports; recorded as a step when there were any."""
    from ..service.record import recover

    stopped = recover(ctx.stop_grace)
    for line in stopped:
        ctx.progress("stopped a service left by an earlier run: " + line)
    if stopped:
        ctx.report.record_step("leftovers", "passed", 0, "stopped: " + "; ".join(stopped))


def step(args):
    from .prepare import STEPS

    return 0 if STEPS[args.name](RunContext(args.run_dir)) else 1


def cases(args):
    from .case import run_cases

    return run_cases(RunContext(args.run_dir))


def finish(args):
    release(args.run_dir)
    report = Report.load(args.run_dir)
    report.finish(reason=NOT_REACHED if args.not_reached else None)
    print_text(report.summary())
    return report.exit_status()


def release(run_dir):
    """The run's own converted model, once no case of it will start a service again."""
    from .prepare import release_conversion

    release_conversion(RunContext(run_dir))


def abort(args):
    """After an interruption: stop any service of the run that still lives, mark the unfinished cases."""
    from ..service.record import stop_recorded

    ctx = RunContext(args.run_dir)
    for stopped in stop_recorded(ctx.started_groups_path, ctx.stop_grace):
        progress("stopped {}".format(stopped.describe()))
    release(args.run_dir)
    if args.output_failed:
        reason = OUTPUT_FAILED
    elif args.harness_gone:
        reason = "run interrupted: its harness (pid {}) ended without stopping it (killed by SIGKILL?) before " \
                 "this case finished".format(args.harness_gone)
    else:
        by = " by SIG{}".format(args.signal) if args.signal else ""
        reason = "run interrupted{} before this case finished".format(by)
    ctx.report.finish(interrupted=True, reason=reason)
    print_text(ctx.report.summary())
    return ctx.report.exit_status()


OUTPUT_FAILED = "not run: the run stopped because its output folder could not be written (see the harness's error)"


def parser_for(command):
    parser = ArgumentParser(prog=command)
    parser.add_argument("run_dir", metavar="RUN_DIR")
    if command == "open":
        parser.add_argument("--plan", required=True)
        parser.add_argument("--bootstrap-seconds", type=float, default=0.0)
        parser.add_argument("--bootstrap-python", default="")
        parser.add_argument("--network-status", choices=STEP_STATUSES, default="skipped")
        parser.add_argument("--network-note", default="")
        parser.add_argument("--case-timeout", type=float, default=DEFAULT_CASE_TIMEOUT)
    elif command == "step":
        parser.add_argument("name", choices=STEP_NAMES)
    elif command == "finish":
        parser.add_argument("--not-reached", action="store_true", help="a preparation step failed")
    elif command == "abort":
        parser.add_argument("--signal", default="", help="the signal that interrupted the run (INT, TERM)")
        parser.add_argument("--output-failed", action="store_true", help="the output folder could not be written")
        parser.add_argument("--harness-gone", type=int, default=0, help=argparse_hidden())
    return parser


COMMANDS = {"open": open_run, "step": step, "cases": cases, "finish": finish, "abort": abort}


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


# ---------------------------------------------------------------- the harness's death

HARNESS_PID = "TIPC_HARNESS_PID"  # test_serving.sh's pid, exported to its commands
PARENT_DEATH_SIGNAL = signal.SIGUSR2  # sent by the kernel when the harness dies (prctl PR_SET_PDEATHSIG)
PR_SET_PDEATHSIG = 1


class HarnessGone(Interrupted):
    """The harness that started this command has died without a trap (SIGKILL)."""


def _harness_gone(signum, frame):
    raise HarnessGone(signum)


def watch_harness():
    """Under test_serving.sh: have the kernel signal this process when the harness dies, and check it has not
    died already (between the fork and now). Returns the harness's pid, or None when not run by it."""
    try:
        pid = int(os.environ.get(HARNESS_PID, ""))
    except ValueError:
        return None
    signal.signal(PARENT_DEATH_SIGNAL, _harness_gone)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(PARENT_DEATH_SIGNAL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the registry still stops the services later (record.py)
        return pid
    if os.getppid() != pid:
        raise HarnessGone(PARENT_DEATH_SIGNAL)
    return pid


def _after_harness_gone(command, argv, harness):
    """What the harness's trap would have done: stop the run's services, mark its unfinished cases."""
    try:
        run_dir = parser_for(command).parse_args(argv).run_dir
        if os.path.isfile(os.path.join(run_dir, "results.json")):
            abort(parser_for("abort").parse_args([run_dir, "--harness-gone", str(harness)]))
    except (Exception, Interrupted):  # nothing more can be done, and no one is left to tell
        pass


def main(command, argv):
    @cli(command)
    def run(argv):
        handle_termination()
        signal.signal(signal.SIGHUP, signal.getsignal(signal.SIGTERM))
        harness = None
        try:
            harness = watch_harness()
            return COMMANDS[command](parser_for(command).parse_args(argv))
        except HarnessGone:
            _after_harness_gone(command, argv, harness or os.environ.get(HARNESS_PID))
            raise
        except OSError as err:
            failure = output_error(err, err.filename or "a file in {}".format(argv[0] if argv else "the run folder"))
            if failure is None:
                raise
            raise failure from None

    return run(argv)
