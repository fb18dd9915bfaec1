"""Closed-loop HTTP load against the classifier service, with every answer checked.

`concurrency` workers each send one request, wait for the answer, and send the next, until a request
budget or a time budget is spent (whichever comes first). Each worker has its own keep-alive session;
nothing goes through a proxy. An answer counts as correct when err_no is 0 and, where an expected
result is known for the image, the class id is equal and the probability within tolerance.
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
from . import stats

ANSWER_ATOL = 1e-5  # one image per request, the reference's settings: identical in practice


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
    """'' when the reply is right for the payload, else a short description of what is wrong."""
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
    if abs(result.prob - payload.expected_prob) > ANSWER_ATOL:
        return "{}: prob {} != {}".format(payload.image, result.prob, payload.expected_prob)
    return ""


def closed_loop(url, payloads, concurrency, max_requests, max_seconds, timeout=60.0):
    """Run the load and return a LoadResult; requests cycle through the payloads in order."""
    result = LoadResult(concurrency)
    counter = itertools.count()
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + max_seconds

    def worker():
        session = requests.Session()
        session.trust_env = False
        while time.monotonic() < deadline:
            index = next(counter)
            if index >= max_requests:
                return
            payload = payloads[index % len(payloads)]
            sent = time.monotonic()
            try:
                response = session.post(url, json=payload.body, timeout=timeout)
                problem = check_answer(payload, response.json()) if response.status_code == 200 \
                    else "HTTP {}".format(response.status_code)
            except (requests.RequestException, ValueError) as err:
                problem = "no answer: {}".format(type(err).__name__)
            sample = Sample(sent, time.monotonic() - sent, not problem, problem)
            with lock:
                result.samples.append(sample)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_seconds = time.monotonic() - start
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

