"""The AlexNet pipeline service and its clients, against the real Paddle Serving 0.9.0 (issue 3).

Tolerances: the service runs the same predictor settings as the reference (2 CPU threads, IR optim
off, memory optim on) on the same preprocessed tensor, one image per request, so the answers are
identical in practice; 1e-6 leaves room for MKL's thread scheduling. A batch of three runs one
batched GEMM instead of three single ones, which moves the probabilities by about 1e-6: 1e-5 there.
"""
import base64
import os
import shutil
import signal
import struct
import zlib

import pytest

from conftest import IMAGES, PYTHON, REPO_ROOT, SERVING_DIR, clean_env, convert_model, run
from servicekit import leftover_processes, running_service
from tipc_serving.client import protocol
from tipc_serving.service.ports import free_port, port_holder, port_in_use
from tipc_serving.service.process import wait_group_gone
from tipc_serving.service.lifecycle import Service
from tipc_serving.verdict.result_lines import parse_lines

pytestmark = pytest.mark.e2e

SINGLE_IMAGE_ATOL = 1e-6
BATCH_ATOL = 1e-5


@pytest.fixture(scope="module")
def alexnet_service(alexnet_serving_server, tmp_path_factory):
    with running_service(alexnet_serving_server, tmp_path_factory.mktemp("service")) as running:
        yield running
    assert leftover_processes(running.process.pid) == [], "serving processes left after the fixture stopped"


def reference_by_image(reference):
    return {entry["image"]: entry for entry in reference["results"]}


def assert_matches_reference(results, reference, atol):
    expected = reference_by_image(reference)
    assert sorted(r.image for r in results) == sorted(expected), "served images differ from the reference's"
    for result in results:
        ref = expected[result.image]
        assert result.err_no == 0, "{}: err_no {} {}".format(result.image, result.err_no, result.err_msg)
        assert result.class_ids == ref["class_ids"], result.image
        for served_prob, ref_prob in zip(result.probs, ref["probs"]):
            assert served_prob == pytest.approx(ref_prob, abs=atol), result.image


def run_client(script, *args):
    return run([PYTHON, SERVING_DIR / script, *args], cwd=SERVING_DIR, timeout=120)


def test_http_client_answers_equal_the_reference(alexnet_service, alexnet_service_reference):
    result = run_client("pipeline_http_client.py", "--url", alexnet_service.url, "--image_dir", IMAGES)
    assert result.returncode == 0, result.stderr
    results = parse_lines(result.stdout.splitlines())
    assert len(results) == len(alexnet_service_reference["results"]) == 4
    assert_matches_reference(results, alexnet_service_reference, SINGLE_IMAGE_ATOL)


def test_rpc_client_answers_equal_the_reference(alexnet_service, alexnet_service_reference):
    result = run_client("pipeline_rpc_client.py", "--endpoint", alexnet_service.endpoint, "--img-path", IMAGES)
    assert result.returncode == 0, result.stderr
    results = parse_lines(result.stdout.splitlines())
    assert_matches_reference(results, alexnet_service_reference, SINGLE_IMAGE_ATOL)
    assert "PipelineClient::predict" not in result.stdout  # its timing prints stay out of the results


@pytest.mark.parametrize("flag", ["--img_dir", "--img_path", "--image_path"])
def test_client_accepts_tipc_image_flag_spellings(alexnet_service, flag):
    result = run_client("pipeline_http_client.py", "--url", alexnet_service.url, flag, IMAGES / "coffee.jpg")
    assert result.returncode == 0, result.stderr
    assert [r.image for r in parse_lines(result.stdout.splitlines())] == ["coffee.jpg"]


def test_batch_of_three_images_in_one_request(alexnet_service, alexnet_service_reference):
    names = ["rocket.jpg", "chelsea.jpg", "coffee.jpg"]
    reply = alexnet_service.classify([("img_{}".format(i), (IMAGES / n).read_bytes()) for i, n in enumerate(names)])
    assert reply["err_no"] == 0, reply
    results = protocol.parse_response(reply["key"], reply["value"], reply["err_no"], reply["err_msg"], names)
    assert [r.image for r in results] == names  # the answer keeps the request's order
    assert_matches_reference(results, {"results": [e for e in alexnet_service_reference["results"] if e["image"] in names]},
                             BATCH_ATOL)


def test_batch_through_the_client(alexnet_service, alexnet_service_reference):
    result = run_client("pipeline_http_client.py", "--url", alexnet_service.url, "--image_dir", IMAGES,
                        "--batch-size", "3")
    assert result.returncode == 0, result.stderr
    assert_matches_reference(parse_lines(result.stdout.splitlines()), alexnet_service_reference, BATCH_ATOL)


def b64(data):
    return base64.b64encode(data).decode()


def solid_png(width, height):
    """A valid grayscale PNG of one colour, built row by row: 10000x10000 pixels is about 100 KB."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (width + 1)  # filter byte 0, then one byte per pixel
    compressor = zlib.compressobj()
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


BAD_PAYLOADS = {
    # name: (body or None, raw body or None, service name or None, expected err_no or HTTP status, words)
    "bad_base64": ({"key": ["image"], "value": ["not base64 at all!"]}, None, None, protocol.ERR_NOT_BASE64,
                   ["image", "base64"]),
    "base64_of_text": ({"key": ["image"], "value": [b64(b"hello, I am a text file\n")]}, None, None,
                       protocol.ERR_BAD_IMAGE, ["image", "not an image"]),
    "huge_image": ({"key": ["image"], "value": [b64(solid_png(10000, 10000))]}, None, None, protocol.ERR_TOO_LARGE,
                   ["image", "pixels", "limit"]),
    "empty_value": ({"key": ["image"], "value": [""]}, None, None, protocol.ERR_NO_IMAGES, ["image", "empty"]),
    "no_images": ({"key": [], "value": []}, None, None, protocol.ERR_NO_IMAGES, ["no images"]),
    "more_keys_than_values": ({"key": ["a", "b"], "value": [b64(b"x")]}, None, None,
                              protocol.ERR_KEY_VALUE_MISMATCH, ["2 keys", "1 values"]),
    "more_values_than_keys": ({"key": ["a"], "value": [b64(b"x"), b64(b"y")]}, None, None,
                              protocol.ERR_KEY_VALUE_MISMATCH, ["1 keys", "2 values"]),
    "truncated_jpeg": ({"key": ["image"], "value": [b64((IMAGES / "coffee.jpg").read_bytes()[:5000])]}, None, None,
                       protocol.ERR_BAD_IMAGE, ["image", "decode"]),
    "wrong_service_name": ({"key": [], "value": []}, None, "no_such_service", 3002, ["service name"]),
    "body_not_json": (None, b"this is not json", None, "http_400", ["invalid character"]),
    "value_is_a_number": (None, b'{"key": ["image"], "value": [42]}', None, "http_400", ["cannot unmarshal"]),
}


@pytest.mark.parametrize("case", sorted(BAD_PAYLOADS))
def test_bad_payload_gets_a_readable_error_and_the_service_survives(alexnet_service, alexnet_service_reference, case):
    body, raw, name, expected, words = BAD_PAYLOADS[case]
    response = alexnet_service.post(body, name=name, raw=raw)
    if expected == "http_400":
        assert response.status_code == 400, response.text
        message = response.json().get("message", "")
    else:
        assert response.status_code == 200, response.text
        reply = response.json()
        assert reply["err_no"] == expected, reply
        message = reply["err_msg"]
    for word in words:
        assert word.lower() in message.lower(), message
    assert "Traceback" not in message
    # the next good request is still answered correctly
    good = alexnet_service.classify([("image", (IMAGES / "chelsea.jpg").read_bytes())])
    expected_ref = reference_by_image(alexnet_service_reference)["chelsea.jpg"]
    assert good["err_no"] == 0 and good["value"][0] == "[{}]".format(expected_ref["class_ids"][0]), good


def test_http_client_exits_non_zero_on_an_error_reply(alexnet_service):
    wrong_url = alexnet_service.url.replace("/alexnet/", "/no_such_service/")
    result = run_client("pipeline_http_client.py", "--url", wrong_url, "--img-path", IMAGES / "coffee.jpg")
    assert result.returncode == 1
    assert "Service name error" in result.stderr
    assert "err_no: 3002" in result.stdout  # the client log records the failure for the checker


def test_clients_exit_non_zero_when_nothing_answers(tmp_path):
    closed_port = free_port()
    http = run_client("pipeline_http_client.py", "--url", "http://127.0.0.1:{}/alexnet/prediction".format(closed_port),
                      "--img-path", IMAGES / "coffee.jpg", "--connect-timeout", "2")
    rpc = run_client("pipeline_rpc_client.py", "--endpoint", "127.0.0.1:{}".format(closed_port),
                     "--img-path", IMAGES / "coffee.jpg", "--read-timeout", "3")
    for result in (http, rpc):
        assert result.returncode == 1, result.stdout + result.stderr
        assert "no answer from" in result.stderr and "Traceback" not in result.stderr


def test_client_bad_image_path_is_one_line(tmp_path):
    result = run_client("pipeline_http_client.py", "--img-path", tmp_path / "missing.jpg")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "image path not found" in result.stderr


def test_service_with_missing_model_fails_in_one_line(tmp_path):
    result = run([PYTHON, SERVING_DIR / "web_service.py", "--opt",
                  "op.alexnet.local_service_conf.model_config={}".format(tmp_path / "nothing_here")], cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "web_service.py: error" in line]
    assert len(lines) == 1 and "nothing_here" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("opt, words", [
    ("no_equals_sign", "expected KEY=VALUE"),
    ("op.imagenet.local_service_conf.devices=0", "no op 'imagenet'"),
    ("op.alexnet.local_service_conf.thread_nun=2", "unknown key"),
    ("op.alexnet.local_service_conf.thread_num=two", "expected an integer"),
])
def test_malformed_opt_is_one_line(tmp_path, opt, words):
    result = run([PYTHON, SERVING_DIR / "web_service.py", "--opt", opt], cwd=tmp_path)
    assert result.returncode == 1
    assert words in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_stopping_leaves_no_serving_process(alexnet_serving_server, tmp_path):
    with running_service(alexnet_serving_server, tmp_path) as running:
        group = running.process.pid
        members = leftover_processes(group)
        # thread mode (config.yml): the op runs in the main process, beside it the HTTP gateway
        assert len(members) >= 2, "expected the pipeline's main and gateway processes: {}".format(members)
        ports = (running.http_port, running.rpc_port)
    assert leftover_processes(group) == []
    assert not any(port_in_use(port) for port in ports)


def test_service_answers_under_a_renamed_op(alexnet_serving_server, tmp_path, alexnet_service_reference):
    with running_service(alexnet_serving_server, tmp_path, name="imagenet") as running:
        reply = running.classify([("image", (IMAGES / "rocket.jpg").read_bytes())])
        assert reply["err_no"] == 0, reply
        assert running.post({"key": [], "value": []}, name="alexnet").json()["err_no"] == 3002


@pytest.fixture
def by_hand_tree(tmp_path, alexnet_model):
    """A copy of the repo's layout (symlinked code), so seed steps 2.7-2.8 run with every default
    (config.yml's relative model_config, ports 18080/18090, the clients' default URL and images)."""
    root = tmp_path / "repo"
    serving = root / "deploy" / "serving_python"
    serving.mkdir(parents=True)
    for name in ("tipc_serving", "images"):
        (root / name).symlink_to(REPO_ROOT / name)
    for name in ("web_service.py", "config.yml", "pipeline_http_client.py", "pipeline_rpc_client.py"):
        shutil.copy(SERVING_DIR / name, serving / name)
    convert_model(alexnet_model, serving)
    return serving


def test_seed_steps_by_hand_with_defaults(by_hand_tree, alexnet_service_reference):
    holders = [port_holder(port) for port in (18080, 18090)]
    if any(holders):
        pytest.skip("the default ports are taken, so the by-hand defaults cannot be tried: {}".format(holders))
    with Service([PYTHON, "web_service.py"], by_hand_tree / "server.log", cwd=by_hand_tree, env=clean_env()) as server:
        server.wait_ready("http://127.0.0.1:18080/alexnet/prediction", 18080, timeout=90)
        http = run([PYTHON, "pipeline_http_client.py"], cwd=by_hand_tree)
        rpc = run([PYTHON, "pipeline_rpc_client.py"], cwd=by_hand_tree)
    for result in (http, rpc):
        assert result.returncode == 0, result.stderr
        assert_matches_reference(parse_lines(result.stdout.splitlines()), alexnet_service_reference, SINGLE_IMAGE_ATOL)
    assert (by_hand_tree / "PipelineServingLogs").is_dir()


def test_sigint_to_the_service_shuts_it_down_cleanly(alexnet_serving_server, tmp_path):
    with running_service(alexnet_serving_server, tmp_path) as running:
        os.kill(running.process.pid, signal.SIGINT)
        assert running.process.wait(timeout=30) == 0
        assert wait_group_gone(running.process.pid, 15), leftover_processes(running.process.pid)
