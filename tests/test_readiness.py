"""service/readiness.py: readiness sends nothing that reaches an op's code, so the service's logs get no error
from it (issue 19, finding 7), and it still waits for every op that runs in a process of its own.

The unit tests run a stub service (an HTTP listener that answers as Paddle Serving's gateway answers a body
that is not JSON, a gRPC-port listener, and the log lines a pipeline writes); the real ones run the
harness's own web service, in thread and in process mode."""
import re
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import IMAGES, PYTHON, SERVING_DIR, clean_env, convert_model
from tipc_serving.service.lifecycle import Service
from tipc_serving.service.ports import free_ports, listener_in_group
from tipc_serving.service.readiness import NotReady, process_ops, probe

# argv: http_port rpc_port log_dir then what it does: "listen-rpc", "log:<line>", "print:<line>", "exit:<code>"
STUB = textwrap.dedent('''
    import http.server, os, socket, sys, threading, time
    http_port, rpc_port, log_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(log_dir, exist_ok=True)

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"error":"invalid character \\'t\\' looking for beginning of value","code":3,"details":[]}'
            self.send_response(400)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    for step in sys.argv[4:]:
        what, _, arg = step.partition(":")
        if what == "listen-rpc":
            rpc = socket.socket(socket.AF_INET6)
            rpc.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            rpc.bind(("::", rpc_port))
            rpc.listen()
        elif what == "log":
            with open(os.path.join(log_dir, "pipeline.log"), "a") as log:
                log.write("INFO 2026-12-07 13:24:41,615 [x.py:1] {}\\n".format(arg))
        elif what == "print":
            print(arg, flush=True)
        elif what == "exit":
            sys.exit(int(arg))
        elif what == "gateway":
            server = http.server.HTTPServer(("127.0.0.1", http_port), Gateway)
            threading.Thread(target=server.serve_forever, daemon=True).start()
    time.sleep(300)
''')


@pytest.fixture
def stub(tmp_path):
    """start(*steps, ops=..., timeout=...) -> seconds until ready, or NotReady; the stub is stopped after."""
    script = tmp_path / "stub.py"
    script.write_text(STUB)
    log_dir = tmp_path / "PipelineServingLogs"

    def start(*steps, ops=(), timeout=30.0, rpc=True):
        http_port, rpc_port = free_ports(2)
        argv = [sys.executable, str(script), http_port, rpc_port, log_dir, *steps]
        with Service(argv, tmp_path / "server.log", cwd=tmp_path) as service:
            return service.wait_ready("http://127.0.0.1:{}/ocr/prediction".format(http_port), http_port, timeout,
                                      rpc_port if rpc else None, log_dir, ops)
    return start


SERVING_UP = ("log:[DAG] Succ init", "listen-rpc", "gateway")


def test_ready_when_every_process_op_logged_its_succ_init(stub):
    assert stub(*SERVING_UP, "log:[det|0] Succ init", "log:[rec|0] Succ init", ops=["det", "rec"]) >= 0


def test_ready_when_every_op_process_printed_init_success(stub):
    """Most services never log Succ init (importing paddle sets the root logger to WARNING): each op process's
    printed "[OP Object] init success" is the evidence then."""
    lines = ("log:Init cuda env in process 0", "log:Init cuda env in process 0",
             "print:[OP Object] init success", "print:[OP Object] init success")
    assert stub(*SERVING_UP, *lines, ops=["det", "rec"]) >= 0


def test_an_op_that_never_initialises_times_out_naming_it(stub, tmp_path):
    with pytest.raises(NotReady) as err:
        stub(*SERVING_UP, "log:Init cuda env in process 0", "log:Init cuda env in process 0",
             "log:[det|0] Succ init", "print:[OP Object] init success", ops=["det", "rec"], timeout=1)
    assert str(err.value) == (
        'gateway answers, but op rec logged no Succ init (1 of 2 op processes printed "[OP Object] init success") '
        "within 1 s (see {}, {})".format(tmp_path / "server.log", tmp_path / "PipelineServingLogs" / "pipeline.log"))


def test_an_earlier_starts_lines_do_not_count(stub):
    """pipeline.log is appended to by every start in its folder: only lines after the last [DAG] Succ init
    are this start's."""
    with pytest.raises(NotReady, match=r"op rec logged no Succ init \(0 of 1 op processes"):
        stub("log:[rec|0] Succ init", *SERVING_UP, ops=["rec"], timeout=1)


def test_thread_mode_ops_need_no_op_lines(stub):
    assert stub(*SERVING_UP, ops=[]) >= 0


def test_without_a_listener_on_the_grpc_port_it_is_not_ready(stub):
    with pytest.raises(NotReady, match=r"gateway answers, but service group \d+ does not listen on its gRPC port "
                                       r"\d+ within 1 s"):
        stub("log:[DAG] Succ init", "gateway", timeout=1)
    assert stub("log:[DAG] Succ init", "gateway", rpc=False, timeout=30) >= 0  # rpc_port unknown: not checked


def test_a_service_that_dies_fails_at_once(stub):
    """The deadline is far; the message says the process exited (a timeout would say "within 600 s")."""
    with pytest.raises(NotReady, match=r"^service process \d+ exited before it was ready"):
        stub("log:[DAG] Succ init", "exit:1", ops=["rec"], timeout=600)


def test_the_probe_takes_the_gateways_own_refusal_and_nothing_else(tmp_path):
    http_port, = free_ports(1)
    url = "http://127.0.0.1:{}/x/prediction".format(http_port)
    assert probe(url) is None  # nothing listens
    # Python's http.server answers a POST with an HTML 501: not a gateway's answer
    with Service([sys.executable, "-m", "http.server", http_port, "--bind", "127.0.0.1"], tmp_path / "http.log",
                 cwd=tmp_path) as plain:
        while not listener_in_group(http_port, plain.pid):
            assert plain.exit_status() is None, (tmp_path / "http.log").read_text()
            time.sleep(0.05)
        assert probe(url) is None


def test_process_ops_follow_dag_is_thread_op():
    ops = {"det": {}, "rec": {}}
    assert process_ops({"dag": {"is_thread_op": False}, "op": ops}) == ["det", "rec"]
    assert process_ops({"dag": {"is_thread_op": True}, "op": ops}) == []
    assert process_ops({"op": ops}) == []  # Paddle Serving's default: thread mode


# ---------------------------------------------------------------- a real service's logs stay clean

ERROR_LINE = re.compile(r"^(ERROR|CRITICAL)\b|Traceback", re.M)


@pytest.fixture(scope="module")
def small_serving_server(small_model, tmp_path_factory):
    return convert_model(small_model, tmp_path_factory.mktemp("small_serving"))


@pytest.mark.parametrize("thread_mode", [True, False])
def test_readiness_and_a_request_leave_no_error_in_the_services_logs(small_serving_server, tmp_path, thread_mode):
    http_port, rpc_port = free_ports(2)
    url = "http://127.0.0.1:{}/mb/prediction".format(http_port)
    argv = [PYTHON, SERVING_DIR / "web_service.py", "--config", SERVING_DIR / "config.yml", "--name", "mb", "--opt",
            "op.mb.local_service_conf.model_config={}".format(small_serving_server), "http_port={}".format(http_port),
            "rpc_port={}".format(rpc_port), "dag.is_thread_op={}".format(thread_mode), "op.mb.concurrency=1"]
    ops = process_ops({"dag": {"is_thread_op": thread_mode}, "op": {"mb": {}}})
    env = clean_env(SERVING_LOG_PATH=tmp_path, SERVING_HOME=tmp_path)
    log_dir = tmp_path / "PipelineServingLogs"
    with Service(argv, tmp_path / "server.log", cwd=tmp_path, env=env) as service:
        service.wait_ready(url, http_port, 120, rpc_port, log_dir, ops)
        if not thread_mode:  # the op process had initialised when readiness returned
            assert "[OP Object] init success" in (tmp_path / "server.log").read_text(errors="replace")
        image = sorted(IMAGES.glob("*.jpg"))[0]
        client = subprocess.run([PYTHON, str(SERVING_DIR / "pipeline_http_client.py"), "--url", url,
                                 "--image_dir", str(image)], env=clean_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=120)
    assert client.returncode == 0 and "class_id" in client.stdout, client.stdout
    for name in ("pipeline.log", "pipeline.log.wf"):
        text = (log_dir / name).read_text()
        assert "[DAG] Succ init" in text or name.endswith(".wf")
        assert not ERROR_LINE.findall(text), "{}:\n{}".format(name, text[-3000:])
