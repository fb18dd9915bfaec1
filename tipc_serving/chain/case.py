"""One case: ports free, start the service in its own session, wait until ready, run the clients, check the
service is still whole, stop its process group, read which settings took effect, judge the answers,
record the result.

The runner gathers facts (verdict.case_status.CaseFacts) and records what the verdict module decides
from them. The service is stopped by `with Service(...)` on every way out: a failure, an exception,
SIGINT or SIGTERM (errors.handle_termination turns it into an exception). Every failed case leaves at
least one `Run failed with command` line that names its log, as nightly CI greps those lines.

Every case has a deadline (--case-timeout, RunContext.case_timeout) covering its start, its clients and
its stop: the start and the clients get what is left of it less the time the stop may take, and what
still runs then is stopped by its process group; the case fails naming what hung. The comparisons after
the stop (the engine level's replay, the task level's reference) get --case-timeout each, of their own:
how long the clients took must not shorten them.
"""
import sys
import time
import traceback
from pathlib import Path

from .. import REPO_ROOT
from ..errors import OutputError, output_error
from ..jsonfile import write_json
from ..model.converted import run_copy
from ..service.config_edit import edited, edited_files
from ..service.lifecycle import PORT_RELEASE_SECONDS, Service
from ..service.ports import busy_ports, listener_in_group
from ..service.process import describe_exit_status, gpu_memory_mb
from ..service.readiness import NotReady
from ..service.record import record_started
from ..verdict.case_status import CaseFacts, ClientFacts, case_status
from ..verdict.cli import check_document, result_text
from ..verdict.evidence import NOT_CHECKED, Setting, any_gpu, judge_settings_in
from ..verdict.inputs import InputError, load_served
from ..verdict.judge import CheckResult, compare, identical_answers
from ..verdict.replies import reader_for
from ..verdict.result_lines import parse_lines
from ..verdict.tasks import classification
from .answers import compare_answers
from .capture import capture_env, compare_tensors
from .commands import TimedOut, decisive_line, loopback_env, run_logged
from .prepare import COMPARE_RESULTS

BENCHMARK_TOOL = REPO_ROOT / "tools" / "benchmark.py"


class CaseRun:
    """One case of a run: where its logs go and what it has learnt so far."""

    def __init__(self, ctx, case):
        self.ctx, self.case, self.name = ctx, case, case["name"]
        self.dir = ctx.run_dir / self.name
        self.config = ctx.config
        self.facts = CaseFacts(server_log=str(self.dir / case["service"]["log"]),
                               answers_not_compared=self.config.get("coverage"))
        self.timings = {}
        self.checks = {}
        self.failed_lines = 0
        self.started = time.monotonic()
        self.status = None
        self.gpu_memory = None  # MB the service held on the GPU after its clients (GPU cases)
        self.deadline = None  # set when the case starts (time.monotonic())

    def time_left(self):
        """Seconds the start and the clients may still take: the case's deadline less what its stop may take
        (SIGTERM, the grace, SIGKILL, the ports' release)."""
        stop_reserve = self.ctx.stop_grace + 5.0 + PORT_RELEASE_SECONDS
        return max(1.0, self.deadline - stop_reserve - time.monotonic())

    # -------------------------------------------------------------- the steps

    def service_argv(self):
        """The case's service command; for a config converted by this run, its model is the run's own copy
        (chain/prepare.py's convert), which no other run writes."""
        argv = [self.ctx.python(), *self.case["service"]["argv"]]
        convert = self.config.get("convert")
        if convert and "prepare" not in self.config:
            declared = "=" + convert["serving_server"]
            copy = run_copy(convert["serving_server"], self.ctx.run_dir.name)
            if copy.is_dir():
                argv = [word[:-len(declared)] + "=" + str(copy) if word.endswith(declared) else word for word in argv]
        return argv

    def ports(self):
        return [port for port in (self.config["http_port"], self.config.get("rpc_port")) if port]

    def status_line(self, ok, argv, log):
        self.failed_lines += not ok
        self.ctx.status_line(ok, argv, log)

    def start_service(self):
        env = loopback_env(SERVING_LOG_PATH=self.dir, SERVING_HOME=self.dir, **capture_env(self.dir))
        service = Service(self.service_argv(), self.facts.server_log, cwd=self.case["service"]["cwd"], env=env,
                          stop_grace=self.ctx.stop_grace)
        record_started(self.ctx.started_groups_path, service.pid, service.started)
        return service

    def wait_until_ready(self, service):
        """True once ready; else records why (with the main process's exit status when it ended)."""
        start = time.monotonic()
        ready_log = self.dir / "ready.log"
        try:
            seconds = service.wait_ready(self.config["url"], self.config["http_port"],
                                         min(self.config["ready_timeout"], self.time_left()),
                                         self.config.get("rpc_port"), self.dir / "PipelineServingLogs",
                                         self.config.get("process_ops", ()))
        except NotReady as err:
            why = str(err)
            returncode = service.exit_status()
            if returncode is not None:
                why += "; its exit status: {}".format(describe_exit_status(returncode))
            if returncode is not None or service.whole_problem():  # it died: its logs say why
                line = decisive_line(self.facts.server_log, self.dir / "PipelineServingLogs" / "pipeline.log.wf")
                why += "; its log: {}".format(line) if line else ""
                # a port taken by another process meanwhile (another run on the host network, say); one
                # that the service's own surviving processes hold is not news
                why += "".join("; " + holder for holder in busy_ports(
                    [port for port in self.ports() if listener_in_group(port, service.pid) is not True]))
            ready_log.write_text(why + "\n")
            self.facts.not_ready = why
            self.timings["start_s"] = time.monotonic() - start
            self.status_line(False, service.argv, self.facts.server_log)
            return False
        ready_log.write_text("ready after {:.1f} s\n".format(seconds))
        self.timings["start_s"] = time.monotonic() - start
        self.status_line(True, service.argv, self.facts.server_log)
        self.ctx.progress("case {}: service ready in {:.1f}s (pid {})".format(self.name, self.timings["start_s"],
                                                                            service.pid))
        return True

    def run_clients(self):
        """Each client in turn, within what is left of the case's deadline; one that is still running then is
        stopped by its group, recorded as hung (exit status None), and the clients after it do not run."""
        for index, client in enumerate(self.case["clients"]):
            argv = [self.ctx.python(), *client["argv"]]
            log = self.dir / client["log"]
            given = self.time_left()
            try:
                returncode, seconds = run_logged(argv, log, client["cwd"], timeout=given)
                error = "" if returncode == 0 else decisive_line(log)
            except TimedOut:
                returncode, seconds = None, given
                error = "{} client gave no answer within {:.0f} s (stopped at the case's deadline, --case-timeout " \
                        "{:g}; see {})".format(client["label"], given, self.ctx.case_timeout, log)
            self.status_line(returncode == 0, argv, log)
            timing = {"HTTP": "client_s", "gRPC": "rpc_client_s"}.get(client["label"], "client{}_s".format(index + 1))
            self.timings[timing] = self.timings.get(timing, 0.0) + seconds
            self.facts.clients.append(ClientFacts(client["label"], returncode, error, log=str(log),
                                                  compared=client["compare"]))
            if returncode is None:
                break
        self.timings.setdefault("rpc_client_s", 0.0)

    def inference_ran(self):
        """Whether some client got an answer: without one, no setting can be said to be in effect or not."""
        for client in self.facts.clients:
            if client.exit_status == 0:
                return True
            try:
                results = parse_lines(Path(client.log).read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError:
                continue
            if any(result.err_no == 0 for result in results):
                return True
        return False

    def check_whole(self, service):
        """The service is still whole after the clients; a GPU case also notes the GPU memory it holds."""
        self.facts.broken = service.whole_problem()
        if self.facts.broken:
            self.status_line(False, service.argv, self.facts.server_log)
        if any_gpu(self.case.get("requested")):
            self.gpu_memory = gpu_memory_mb(service.pid)

    def wants_benchmark(self, benchmarked):
        wanted = self.ctx.plan.get("benchmark") or {}
        if not wanted.get("enabled") or self.config.get("coverage"):  # served vs direct needs the answers
            return False
        cases = wanted.get("cases") or ""
        if cases == "":
            return not benchmarked
        return cases == "all" or self.name in cases.split(",")

    def run_benchmark(self, service):
        """Served against direct while the case's service is still up (tools/benchmark.py)."""
        config = self.config
        argv = [self.ctx.python(), BENCHMARK_TOOL, "--url", config["url"], "--endpoint", config["endpoint"],
                "--pgid", service.pid, "--model-dir", config["model"]["dir"], "--images", config["image_path"],
                "--out", self.dir / "benchmark", "--config", config["web_service_config"], "--name", config["op_name"],
                "--reference", self.ctx.reference_json, "--server-log", self.facts.server_log,
                "--pipeline-log-dir", self.dir / "PipelineServingLogs",
                "--title", "{} {}: served vs direct".format(self.ctx.model_name, self.name)]
        if self.case["opts"]:
            argv += ["--opt", *self.case["opts"]]
        self.ctx.progress("case {}: benchmark (tools/benchmark.py, a few minutes)".format(self.name))
        log = self.dir / "benchmark.log"
        returncode, _ = run_logged(argv, log, REPO_ROOT)
        self.status_line(returncode == 0, argv, log)
        text = log.read_text(encoding="utf-8", errors="replace")
        if "| path" in text:
            print(text[text.index("| path"):], end="", flush=True)
        self.facts.benchmark_exit = returncode
        self.facts.benchmark_error = decisive_line(log) if returncode else ""

    def stop(self, service):
        """Stop the group; a stop that fails, or leaves a port of the service held, fails the case."""
        start = time.monotonic()
        problem = service.stop_problem(self.ports())
        self.timings["stop_s"] = time.monotonic() - start
        with open(str(self.dir / "stop.log"), "a", encoding="utf-8") as handle:
            handle.write((problem or service.stop_report.describe()) + "\n")
        if problem:
            self.facts.stop_problem = problem
            self.status_line(False, service.argv, self.dir / "stop.log")

    def read_settings(self, answered=True):
        """What Paddle applied, from the service's log and Paddle Serving's own logs (verdict/evidence.py).
        Without any answer nothing is in effect or unchecked, but a setting Paddle refused (an op's GPU on a
        machine without one: the service dies) is still a fact, and its line names the op."""
        # An option Paddle Serving does not read is never in effect, whatever the logs say.
        why = self.case.get("ignored_why") or "not an option Paddle Serving 0.9 reads: the service ignores it"
        self.facts.settings = [Setting(option.split("=", 1)[0], option.split("=", 1)[1], None, NOT_CHECKED, why)
                               for option in self.case.get("ignored_options") or []]
        for note in self.case.get("notes") or []:  # e.g. an op left on the GPU in a CPU case
            self.ctx.progress("case {}: {}".format(self.name, note))
        if not self.case.get("requested"):
            return
        judged = judge_settings_in(self.case["requested"], self.facts.server_log, self.dir / "PipelineServingLogs",
                                   self.gpu_memory)
        # without an answer, only what Paddle's own lines refused is a fact (no oneDNN kernel ran proves
        # nothing when no request ran)
        self.facts.settings += judged if answered else [s for s in judged if s.refused]

    def check_answers(self):
        """Each client's answers against the reference: check.json / check.log (check_rpc.* for gRPC)."""
        start = time.monotonic()
        reference_json = self.ctx.reference_json
        for client in self.facts.clients:
            if not client.compared:
                read = reader_for(self.config.get("replies") or self.config.get("dialect"))  # the repository's format
                client.replies = read(Path(client.log).read_text(encoding="utf-8", errors="replace"))
                continue
            stem = "check" if client.label == "HTTP" else "check_rpc"
            client_log, out = Path(client.log), self.dir / (stem + ".json")
            try:
                reference = self.ctx.reference()
                client.served = load_served(client_log)
                client.check = compare(reference, client.served, self.case["atol"], self.case["rtol"])
                text = result_text(client.check)
            except InputError as err:
                client.check = CheckResult(self.case["atol"], self.case["rtol"], problems=[str(err)])
                text = "compare_results.py: error: {}".format(err)
            document = check_document(client.check, None, reference_json, [client_log], None)
            write_json(out, document)
            self.checks[client.label] = document
            (self.dir / (stem + ".log")).write_text(text + "\n", encoding="utf-8")
            argv = [sys.executable, COMPARE_RESULTS, "--reference", reference_json, "--client-log", client_log,
                    "--atol", self.case["atol"], "--rtol", self.case["rtol"], "--json-out", out]
            self.status_line(client.check.passed, argv, self.dir / (stem + ".log"))
        self.timings["check_s"] = time.monotonic() - start

    def compare_tensors(self):
        """The engine level (chain/capture.py): every captured request replayed through Paddle Inference."""
        start = time.monotonic()
        self.facts.tensors, argv, log, returncode = compare_tensors(
            sys.executable, self.dir, self.config, self.ctx.run_dir.name, self.facts.server_log,
            timeout=self.ctx.case_timeout)
        self.status_line(not self.facts.tensors.failed, argv, log)
        self.timings["replay_s"] = time.monotonic() - start

    def compare_answers(self):
        """The task level (chain/answers.py): the served answers against the repository's own inference script's;
        the harness's own configs have it already (check_answers against tools/infer.py)."""
        if "task_reference" not in self.config:
            return
        start = time.monotonic()
        first = not (self.ctx.run_dir / "task_reference" / "reference.log").exists()  # it runs once per config run
        self.facts.answers, argv = compare_answers(sys.executable, self.dir, self.config, self.case, self.facts.clients,
                                                   self.ctx.run_dir, timeout=self.ctx.case_timeout)
        if argv:
            self.status_line(not self.facts.answers.failed, argv, self.ctx.run_dir / "task_reference" / "reference.log")
        self.timings["answers_s"] = time.monotonic() - start
        if first and argv:
            self.ctx.progress("task level: {} ran and was compared in {:.1f}s (once for all the config's cases)".format(
                self.facts.answers.reference, self.timings["answers_s"]))

    def task_answers(self):
        """results.json's "answers": the task level, or the harness's own configs' answers judged against
        tools/infer.py in its terms (one report for every config)."""
        if self.facts.answers is not None:
            return self.facts.answers.as_dict()
        judged = next((c.check for c in self.facts.clients if c.check is not None and not c.check.skipped), None)
        return classification.from_judged(judged).as_dict() if judged is not None else None

    def record(self):
        """The verdict from the facts, into the report; a failed case that no command line marked failed
        gets one, naming the service command and the log that says why."""
        status, reason = case_status(self.facts)
        # the case's own duration: a second record (the twin check, after later cases ran) keeps it
        self.timings.setdefault("total_s", time.monotonic() - self.started)
        if status == "failed" and not self.failed_lines:
            log = self.dir / "verdict.log"
            log.write_text(reason + "\n", encoding="utf-8")
            self.status_line(False, self.service_argv(), log)
        self.ctx.report.update_case(self.name, status=status, reason=reason,
                                    timings={k: round(v, 3) for k, v in self.timings.items()},
                                    check=self.checks.get("HTTP"), rpc_check=self.checks.get("gRPC"),
                                    effective={s.key: s.as_dict() for s in self.facts.settings},
                                    tensors=self.facts.tensors.as_dict() if self.facts.tensors else None,
                                    answers=self.task_answers())
        if status != self.status:
            self.ctx.progress("case {} {}{}".format(self.name, status.upper(), ": " + reason if reason else ""))
        self.status = status
        return status

    # -------------------------------------------------------------- the whole case

    def run(self, benchmarked=False):
        """Run the case to its verdict; returns (status, whether it ran a benchmark)."""
        self.deadline = time.monotonic() + self.ctx.case_timeout
        self.dir.mkdir(parents=True, exist_ok=True)
        logs = {"server": self.facts.server_log, "pipeline": self.dir / "PipelineServingLogs"}
        logs.update(("client" if index == 0 else "client{}".format(index + 1), self.dir / client["log"])
                    for index, client in enumerate(self.case["clients"]))
        self.ctx.report.update_case(self.name, status="running", logs=logs)
        self.ctx.progress("case {}: starting".format(self.name))
        self.facts.refused = self.case.get("fail_reason")
        self.facts.busy_ports = [] if self.facts.refused else busy_ports(self.ports())
        if self.facts.refused or self.facts.busy_ports:
            return self.record(), False
        ran_benchmark = False
        with edited(self.config["web_service_config"], self.case.get("config_edits")), \
                edited_files(self.case.get("file_edits")), self.start_service() as service:
            if self.wait_until_ready(service):
                self.run_clients()
                self.check_whole(service)
                http_answered = self.facts.clients[0].exit_status == 0
                if not self.facts.broken and http_answered and self.wants_benchmark(benchmarked):
                    self.run_benchmark(service)
                    ran_benchmark = True
            self.stop(service)
        if self.facts.not_ready is None:
            answered = self.inference_ran()
            self.read_settings(answered=answered)
            self.check_answers()
            if answered:
                self.compare_tensors()
                self.compare_answers()
        else:  # only what Paddle refused (an op's GPU on a machine without one) is a fact then
            self.read_settings(answered=False)
        return self.record(), ran_benchmark

    def answers(self):
        """The first compared client's answers, as its check read them (None when there were none)."""
        return next((c.served for c in self.facts.clients if c.compared), None)


def check_twins(runs, ctx):
    """A MKLDNN or TensorRT case whose answers are bit-identical to its baseline twin's (the same case with
    the setting off) fails: the setting made no difference, so it very likely never ran."""
    by_name = {run.name: run for run in runs}
    for run in runs:
        twin = by_name.get(run.case.get("twin") or "")
        if run.status not in ("passed", "partial") or twin is None or not (run.answers() and twin.answers()):
            continue
        if identical_answers(run.answers(), twin.answers()):
            run.facts.same_as_twin = ("answers bit-identical to {}'s: the setting made no difference, so it "
                                      "probably never ran".format(twin.name))
            run.record()


def run_cases(ctx):
    """Every case of the run's config, in plan order, then the twin check; 0 when none failed."""
    benchmarked = False
    runs = []
    for case in ctx.config["cases"]:
        if case["skip_reason"]:
            ctx.progress("case {} SKIPPED: {}".format(case["name"], case["skip_reason"]))
            continue
        run = CaseRun(ctx, case)
        try:
            _, ran_benchmark = run.run(benchmarked)
            runs.append(run)
        except OutputError:
            raise  # nothing more can be recorded: the run stops (test_serving.sh)
        except Exception as err:  # a harness bug must fail its case, never the rest of the run
            if output_error(err) is not None:
                raise
            traceback.print_exc()
            reason = "harness error: {}: {}".format(type(err).__name__, err)
            log = run.dir / "harness_error.log"
            log.write_text(traceback.format_exc(), encoding="utf-8")
            run.status_line(False, run.service_argv(), log)
            ctx.report.update_case(case["name"], status="failed", reason=reason)
            ctx.progress("case {} FAILED: {}".format(case["name"], reason))
            ran_benchmark = False
        benchmarked = benchmarked or ran_benchmark
    check_twins(runs, ctx)
    failed = any(run.status == "failed" for run in runs) or len(runs) < sum(1 for c in ctx.config["cases"]
                                                                            if not c["skip_reason"])
    return 1 if failed else 0
