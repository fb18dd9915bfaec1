"""Running the real pipeline service from tests: one helper shared by every test module that needs it.

It starts deploy/serving_python/web_service.py with the command line the plan builds, through the same
Service (own session, stop by group on the way out) and readiness probe as the harness's case runner.
"""
import contextlib
from dataclasses import dataclass
from pathlib import Path

import requests

from conftest import PYTHON, SERVING_DIR, clean_env
from tipc_serving.client import protocol
from tipc_serving.config.plan import web_service_argv
from tipc_serving.service.ports import free_ports
from tipc_serving.service.lifecycle import Service
from tipc_serving.service.process import group_members


@dataclass
class RunningService:
    name: str
    http_port: int
    rpc_port: int
    process: object
    log_path: Path
    workdir: Path

    @property
    def url(self):
        return "http://127.0.0.1:{}/{}/prediction".format(self.http_port, self.name)

    @property
    def endpoint(self):
        return "127.0.0.1:{}".format(self.rpc_port)

    def post(self, body, name=None, raw=None, timeout=30):
        """POST a JSON body (or raw bytes) and return the requests.Response."""
        url = self.url if name is None else "http://127.0.0.1:{}/{}/prediction".format(self.http_port, name)
        session = requests.Session()
        session.trust_env = False
        if raw is not None:
            return session.post(url, data=raw, timeout=timeout)
        return session.post(url, json=body, timeout=timeout)

    def classify(self, images):
        """images: list of (key, bytes). Returns the parsed reply dict."""
        return self.post(protocol.request_body(images)).json()


def service_argv(serving_server, http_port, rpc_port, name=None, opts=()):
    script = [PYTHON, str(SERVING_DIR / "web_service.py"), "--config", str(SERVING_DIR / "config.yml")]
    return web_service_argv(script, name or "alexnet", serving_server, http_port, rpc_port, opts)


@contextlib.contextmanager
def running_service(serving_server, workdir, name=None, opts=(), env=None, ready_timeout=90):
    """Start the service, yield a RunningService once it answers, stop its process group afterwards."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    http_port, rpc_port = free_ports(2)
    log_path = workdir / "server.log"
    child_env = clean_env(SERVING_LOG_PATH=workdir, SERVING_HOME=workdir, **(env or {}))
    with Service(service_argv(serving_server, http_port, rpc_port, name, opts), log_path, cwd=workdir,
                 env=child_env) as started:
        running = RunningService(name or "alexnet", http_port, rpc_port, started.process, log_path, workdir)
        started.wait_ready(running.url, http_port, ready_timeout, rpc_port, workdir / "PipelineServingLogs",
                           [running.name] if "dag.is_thread_op=False" in opts else [])
        yield running


def leftover_processes(pgid):
    """Processes still alive in a group that should be gone (for the no-leftovers assertions)."""
    return [p.pid for p in group_members(pgid)]
