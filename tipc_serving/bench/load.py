"""Closed-loop load against the classifier service over HTTP or gRPC, with every answer checked.

`concurrency` workers each send one request, wait for the answer, and send the next, until a request
budget or a time budget is spent (whichever comes first). Each worker has its own keep-alive session
(HTTP) or PipelineClient (gRPC); nothing goes through a proxy. An answer counts as correct when err_no
is 0 and, where an expected result is known for the image, the class id is equal and the probability
within tolerance. Each run also says how many CPU cores the load generator and the service used.
"""
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional

import psutil
import requests

from ..client import protocol
from ..service.process import group_members
from ..verdict.tolerance import Tolerance
from . import stats

# An answer under load is right as the verdict judges it: within the fp32 tolerance of the reference (oneDNN,
# IR optimisation and batching change the last digits, never more).
ANSWER_TOLERANCE = Tolerance()


@dataclass
class Sample:
    started: float   # time.monotonic() when sent
    latency: float   # seconds
    ok: bool
    problem: str = ""


@dataclass
class LoadResult:
    concurrency: int
    samples: List[Sample] = field(default_factory=list)
    wall_seconds: float = 0.0
    client_cores: Optional[float] = None    # CPU cores the load generator used while it ran
    service_cores: Optional[float] = None   # CPU cores the service's processes used meanwhile

    @property
    def errors(self):
        return [s for s in self.samples if not s.ok]

    @property
    def qps(self):
        return len(self.samples) / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def latency_ms(self):
        return stats.summarize([s.latency for s in self.samples], scale=1000.0)

    def summary(self):
        return {"concurrency": self.concurrency, "requests": len(self.samples), "errors": len(self.errors),
                "wall_s": self.wall_seconds, "qps": self.qps, "latency_ms": self.latency_ms(),
                "client_cores": self.client_cores, "service_cores": self.service_cores,
                "first_errors": sorted({s.problem for s in self.errors})[:5]}


@dataclass
class Payload:
    """One prepared request: its JSON body and what the answer should say (None: only err_no 0)."""
    image: str
    body: dict
    expected_class: Optional[int] = None
    expected_prob: Optional[float] = None


def payloads_from(images, expected=None):
    """images: list of (name, encoded bytes); expected: {name: (class_id, prob)} from a reference."""
    expected = expected or {}
    result = []
    for name, data in images:
        class_id, prob = expected.get(name, (None, None))
        result.append(Payload(name, protocol.request_body([("image", data)]), class_id, prob))
    return result


def check_answer(payload, reply):
    """'' when the reply (a pipeline reply as a dict: err_no, err_msg, key, value) is right for the payload,
    else a short description of what is wrong."""
    if not isinstance(reply, dict) or reply.get("err_no") != 0:
        return "err_no {}: {}".format(reply.get("err_no"), reply.get("err_msg", ""))[:200] \
            if isinstance(reply, dict) else "not a pipeline reply"
    if payload.expected_class is None:
        return ""
    try:
        result, = protocol.parse_response(reply["key"], reply["value"], 0, "", [payload.image])
    except protocol.ResponseError as err:
        return str(err)
    if result.class_id != payload.expected_class:
        return "{}: class {} != {}".format(payload.image, result.class_id, payload.expected_class)
    if not ANSWER_TOLERANCE.close(result.prob, payload.expected_prob):
        return "{}: prob {} != {}".format(payload.image, result.prob, payload.expected_prob)
    return ""


def http_sender(url, timeout=60.0):
    """A factory of senders over HTTP: each worker gets its own keep-alive session, never a proxy."""
    def make():
        session = requests.Session()
        session.trust_env = False

        def send(payload):
            try:
                response = session.post(url, json=payload.body, timeout=timeout)
                return check_answer(payload, response.json()) if response.status_code == 200 \
                    else "HTTP {}".format(response.status_code)
            except (requests.RequestException, ValueError) as err:
                return "no answer: {}".format(type(err).__name__)
        return send
    return make


def grpc_sender(endpoint, timeout=60.0):
    """A factory of senders over gRPC with Paddle Serving's PipelineClient, one client per worker."""
    import grpc  # here, in the main thread: paddle_serving_server sets a signal handler when imported
    from paddle_serving_server.pipeline import PipelineClient, pipeline_client

    pipeline_client.print = lambda *args, **kwargs: None  # it prints two timestamps per request on stdout

    def make():
        client = PipelineClient()
        client.connect([endpoint])

        def send(payload):
            feed = dict(zip(payload.body["key"], payload.body["value"]), clientip="127.0.0.1")
            try:
                reply = client.predict(feed_dict=feed, asyn=True, log_id=0).call_future_.result(timeout=timeout)
            except grpc.RpcError as err:
                return "no answer: {}".format(err.code().name)
            return check_answer(payload, {"err_no": reply.err_no, "err_msg": reply.err_msg,
                                          "key": list(reply.key), "value": list(reply.value)})
        return send
    return make


def group_cpu_seconds(pgid):
    """User plus system CPU seconds of the processes of a service's group so far."""
    total = 0.0
    for process in group_members(pgid):
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def closed_loop(sender, payloads, concurrency, max_requests, max_seconds, service_pgid=None):
    """Run the load and return a LoadResult; requests cycle through the payloads in order. sender: a
    factory (http_sender, grpc_sender, or a URL for HTTP) of per-worker send(payload) -> problem. The
    result says how many cores the load generator itself (this process) and the service used meanwhile:
    on a small machine they compete."""
    make = http_sender(sender) if isinstance(sender, str) else sender
    result = LoadResult(concurrency)
    counter = itertools.count()
    lock = threading.Lock()
    me = psutil.Process()
    own_before, service_before = sum(me.cpu_times()[:2]), group_cpu_seconds(service_pgid) if service_pgid else None
    start = time.monotonic()
    deadline = start + max_seconds

    def worker():
        send = make()
        while time.monotonic() < deadline:
            index = next(counter)
            if index >= max_requests:
                return
            payload = payloads[index % len(payloads)]
            sent = time.monotonic()
            problem = send(payload)
            sample = Sample(sent, time.monotonic() - sent, not problem, problem)
            with lock:
                result.samples.append(sample)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_seconds = time.monotonic() - start
    if result.wall_seconds > 0:
        result.client_cores = (sum(me.cpu_times()[:2]) - own_before) / result.wall_seconds
        if service_pgid:
            result.service_cores = (group_cpu_seconds(service_pgid) - service_before) / result.wall_seconds
    return result


def group_rss_mb(pgid):
    """Resident memory of every process of a service's group, in MB (the pipeline is 4 processes)."""
    total = 0
    for process in group_members(pgid):
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / (1024.0 * 1024.0)


def expected_from_reference(reference):
    """{image: (class_id, prob)} from a tools/infer.py --output-json document."""
    return {entry["image"]: (entry["class_ids"][0], entry["probs"][0]) for entry in reference["results"]}


def describe(summary):
    latency = summary["latency_ms"]
    return ("concurrency {concurrency}: {requests} requests, {errors} errors, {qps:.1f} req/s, "
            "p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms").format(
        p50=latency.get("p50", 0), p90=latency.get("p90", 0), p99=latency.get("p99", 0), **summary)

