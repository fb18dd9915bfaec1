"""Readiness: a started service is ready when its main process lives, its HTTP gateway and its gRPC server
listen from the service's own process group (a leftover service on the same port is never mistaken for
ours), every op that runs in a process of its own has initialised, and a deadline holds. A service that
dies fails at once.

Nothing sent reaches an op's code, so the service's logs get no error from readiness (a pipeline request,
even an empty one, runs the op's preprocess, which in every real PaddlePaddle web service fails on it and
logs a traceback). What proves each part, read from Paddle Serving 0.9.0 (pipeline_server.py, dag.py,
operator.py) and measured:
- the gateway: a body that is not JSON is answered by the Go gateway itself (HTTP 400,
  {"error": "invalid character ...", "code": 3, ...}) and never passed on.
- the gRPC server: the gateway is started only after the DAG was built and started and the gRPC server
  started, and that server listens on rpc_port (with build_dag_each_worker, only once a worker's DAG is
  up). In thread mode the DAG's start also builds each op's predictor, in the main thread.
- in process mode (dag: is_thread_op: False) each op process builds its predictor and runs init_op after
  the gateway is up; then it prints "[OP Object] init success" (stdout, the server log) and logs
  "[<op>|<index>] Succ init" to pipeline.log. That line is INFO, and `import paddle`, which the op process
  does when it builds its predictor, sets the root logger to WARNING: in most services the line is never
  written. So an op is initialised when its Succ init line is logged, or when every op process started
  printed its "init success" (stdout is unbuffered in services the harness starts: lifecycle.py).
  An op whose init fails ends the whole group, which is found at once.
"""
import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

from .ports import listener_in_group
from .process import health_problem

DEFAULT_READY_TIMEOUT = 60.0
POLL_INTERVAL = 0.05

# Not JSON: the HTTP gateway refuses it itself, so nothing reaches the pipeline's Python code.
PROBE_BODY = b"tipc-serving readiness probe"
SUCC_INIT = re.compile(r"\[(?P<op>[^|\]\s]+)\|\d+\] Succ init")
DAG_INIT = "[DAG] Succ init"
OP_PROCESS_STARTED = "Init cuda env in process"  # logged (INFO, before paddle is imported) per op process
OP_INIT_PRINTED = "[OP Object] init success"  # printed by each op process (and thread) after init_op


class NotReady(Exception):
    """The service did not become ready; the message says why and where to look."""


def probe(url, timeout=2.0):
    """POST a body that is not JSON; the HTTP gateway's own answer (JSON with "code", or a pipeline reply
    with err_no from a gateway that passed it on) proves the gateway answers. Returns the parsed answer, or
    None when nothing (or something else) answered."""
    request = urllib.request.Request(url, data=PROBE_BODY, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            text = response.read()
    except urllib.error.HTTPError as err:  # the gateway refuses the body with HTTP 400
        text = err.read()
    except (urllib.error.URLError, OSError):
        return None
    try:
        reply = json.loads(text.decode("utf-8", "replace"))
    except ValueError:
        return None
    return reply if isinstance(reply, dict) and ("code" in reply or "err_no" in reply) else None


def process_ops(service_config):
    """The op names of a pipeline config.yml whose ops run in processes of their own (dag: is_thread_op:
    False; Paddle Serving's default is thread mode)."""
    dag = service_config.get("dag") or {}
    if dag.get("is_thread_op", True):
        return []
    return list(service_config.get("op") or {})


def _read(path, offset=0):
    try:
        with open(str(path), "rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def ops_not_initialised(process_ops, pipeline_log_dir, server_log=None, server_log_offset=0):
    """(ops with no evidence yet that they initialised, a note on what was seen) for the ops that run in
    processes of their own; ([], "") once all have. Only this start's part of each log is read: the server
    log from server_log_offset, pipeline.log from its last "[DAG] Succ init" (each start logs one)."""
    if not process_ops:
        return [], ""
    pipeline_log = _read(Path(str(pipeline_log_dir)) / "pipeline.log")
    pipeline_log = pipeline_log[max(0, pipeline_log.rfind(DAG_INIT)):]
    logged = {match.group("op") for match in SUCC_INIT.finditer(pipeline_log)}
    missing = [op for op in process_ops if op not in logged]
    if not missing:
        return [], ""
    printed = _read(server_log, server_log_offset).count(OP_INIT_PRINTED) if server_log else 0
    started = max(len(process_ops), pipeline_log.count(OP_PROCESS_STARTED))
    if printed >= started:
        return [], ""
    return missing, "{} of {} op processes printed \"{}\"".format(printed, started, OP_INIT_PRINTED)


def _gateway_problem(pid, url, http_port, rpc_port):
    """None when the gateway answers from a listener of group pid and the gRPC port (if known) is listened on
    from the group; else (kind, text) saying what is missing."""
    if probe(url) is None:
        return "silent", "service did not answer on {}".format(url)
    owner = listener_in_group(http_port, pid)
    if owner is False:
        return "outside", "port {} answers, but from a process outside service group {} (a leftover service?)" \
            .format(http_port, pid)
    if owner is None:
        return "unseen", "port {} answers, but who listens on it cannot be seen, so it is not taken for service " \
                         "group {}".format(http_port, pid)
    if rpc_port and not listener_in_group(rpc_port, pid):
        return "rpc", "gateway answers, but service group {} does not listen on its gRPC port {}".format(
            pid, rpc_port)
    return None


def wait_ready(pid, url, http_port, timeout=DEFAULT_READY_TIMEOUT, log_path=None, interval=POLL_INTERVAL,
               started=None, rpc_port=None, pipeline_log_dir=None, process_ops=(), log_offset=0):
    """Return seconds until ready, or raise NotReady naming the cause and the log to read. The answer counts
    only when the port's listener is positively in the service's group: one whose owner cannot be seen
    is not taken for ours. process_ops: the ops that run in processes of their own (config.yml's dag:
    is_thread_op: False), checked in pipeline_log_dir's pipeline.log and in log_path from log_offset."""
    start = time.monotonic()
    see_log = " (see {})".format(log_path) if log_path else ""
    zombies_seen = {}
    check_ops = list(process_ops or ()) if pipeline_log_dir else []
    while True:
        problem = health_problem(pid, zombies_seen, started)
        if problem:
            raise NotReady("{} before it was ready{}".format(problem, see_log))
        missing = _gateway_problem(pid, url, http_port, rpc_port)
        if missing is None:
            ops, seen = ops_not_initialised(check_ops, pipeline_log_dir, log_path, log_offset)
            if not ops:
                return time.monotonic() - start
            missing = "ops", "gateway answers, but op{} {} logged no Succ init ({})".format(
                "s" if len(ops) > 1 else "", ", ".join(ops), seen)
        if time.monotonic() - start >= timeout:
            kind, why = missing
            if kind in ("silent", "rpc", "ops"):
                why += " within {:.0f} s".format(timeout)
            logs = [str(log_path)] if log_path else []
            if kind == "ops":
                logs.append(str(Path(str(pipeline_log_dir)) / "pipeline.log"))
            where = " (see {})".format(", ".join(logs)) if logs else ""
            raise NotReady(why + where)
        time.sleep(interval)
