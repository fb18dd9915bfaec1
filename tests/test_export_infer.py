"""tools/export_model.py and tools/infer.py on CPU: reproducible exports, the reference's output, its errors.

Every AlexNet export is about 240 MB and 4 s: the session's seed-0 model (conftest's alexnet_model) is
reused wherever possible, and the few extra exports live in one module folder removed at the end.
"""
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import IMAGES, PYTHON, REPO_ROOT, export_model, reference, run
from tipc_serving.verdict import result_lines
from tipc_serving.verdict.result_lines import parse_lines

INFER = REPO_ROOT / "tools" / "infer.py"
EXPORT = REPO_ROOT / "tools" / "export_model.py"
IMAGE_NAMES = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]
KNOWN_MODELS = "alexnet, mobilenet_v2, mobilenet_v3_small, resnet18"


# ------------------------------------------------------------------------------------------- helpers
def infer(model_dir, img_path, *extra, json_path=None):
    """Run tools/infer.py; returns (CompletedProcess, the JSON document or None)."""
    args = [PYTHON, INFER, "--model-dir", model_dir, "--img-path", img_path, *extra]
    if json_path is not None:
        args += ["--output-json", json_path]
    result = run(args)
    document = None
    if json_path is not None and Path(json_path).is_file():
        document = json.loads(Path(json_path).read_text())
    return result, document


def error_lines(stderr, prog="infer.py"):
    return [line for line in stderr.splitlines() if line.startswith(prog + ": error:")]


def assert_clean_failure(result, count, prog="infer.py"):
    """Non-zero exit, `count` one-line errors, no Python traceback; returns the error lines."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = error_lines(result.stderr, prog)
    assert len(lines) == count, result.stderr
    return lines


def by_image(document):
    return {r["image"]: (r["class_ids"], r["probs"]) for r in document["results"]}


def sha256_of(path):
    """Computed here, not with export_model.sha256_of, so the check does not trust what it checks."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def assert_no_staging_left(parent):
    leftovers = [p.name for p in Path(parent).iterdir() if p.name.startswith(".export-")]
    assert leftovers == []


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A folder for this module's extra exports (about 1 GB), removed when the module is done."""
    folder = tmp_path_factory.mktemp("exports")
    yield folder
    shutil.rmtree(str(folder), ignore_errors=True)


@pytest.fixture(scope="module")
def seed7_model(exports):
    return export_model(exports / "alexnet_seed7", seed=7)


@pytest.fixture(scope="module")
def seed7_reference(seed7_model, exports):
    return reference(seed7_model, exports / "seed7.json")


STATE_DICT_SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
import paddle
from tipc_serving.model import registry as models
out = sys.argv[2]
paddle.set_device("cpu")
model = paddle.vision.models.alexnet(num_classes=1000)
models.seeded_init(model, 7)
paddle.save(model.state_dict(), out + "/seed7.pdparams")
paddle.save({"foo": paddle.zeros([2])}, out + "/wrong_keys.pdparams")
paddle.save({name: paddle.zeros([1]) for name in model.state_dict()}, out + "/wrong_shape.pdparams")
paddle.save([1, 2, 3], out + "/not_a_dict.pdparams")
with open(out + "/garbage.pdparams", "wb") as handle:
    handle.write(b"this is not a paddle file\n" * 10)
print("ok")
"""


@pytest.fixture(scope="module")
def pdparams(exports):
    """State dicts written by paddle in a child process: AlexNet seeded with 7, and some bad files."""
    folder = exports / "pdparams"
    folder.mkdir()
    result = run([PYTHON, "-c", STATE_DICT_SCRIPT, REPO_ROOT, folder], check=True)
    assert result.stdout.strip().splitlines()[-1] == "ok"
    return folder


@pytest.fixture(scope="module")
def bench_run(alexnet_model, tmp_path_factory):
    """infer.py --benchmark --output-json over images/ at batch size 1."""
    json_path = tmp_path_factory.mktemp("bench") / "bench.json"
    result, document = infer(alexnet_model, IMAGES, "--benchmark", "--warmup", "1", "--repeats", "2",
                             json_path=json_path)
    assert result.returncode == 0, result.stderr
    return result, document


@pytest.fixture(scope="module")
def batch3_run(alexnet_model, tmp_path_factory):
    """infer.py --topk 3 --batch-size 3 --benchmark: 4 images make one full batch and one of 1."""
    json_path = tmp_path_factory.mktemp("batch3") / "batch3.json"
    result, document = infer(alexnet_model, IMAGES, "--topk", "3", "--batch-size", "3", "--benchmark",
                             "--warmup", "0", "--repeats", "1", json_path=json_path)
    assert result.returncode == 0, result.stderr
    return result, document


# --------------------------------------------------------------------------------------------- export
def test_export_writes_the_model_and_its_info(alexnet_model):
    assert (alexnet_model / "inference.pdmodel").is_file()
    assert (alexnet_model / "inference.pdiparams").stat().st_size > 200 * 1024 * 1024
    info = json.loads((alexnet_model / "export_info.json").read_text())
    assert info["model"] == "alexnet"
    assert info["num_classes"] == 1000
    assert info["weights"] == "seeded"
    assert info["seed"] == 0
    assert info["init"] == "he_normal, head gain 3.0"
    assert info["pretrained_sha256"] is None
    assert info["paddle_version"] == "2.5.2"
    assert info["input_shape"][1:] == [3, 224, 224]
    assert_no_staging_left(alexnet_model.parent)


def test_same_seed_twice_gives_identical_models_and_outputs(alexnet_model, alexnet_reference, exports):
    again = export_model(exports / "alexnet_seed0_again", seed=0)
    assert sha256_of(again / "inference.pdiparams") == sha256_of(alexnet_model / "inference.pdiparams")
    document = reference(again, exports / "seed0_again.json")
    assert [r["image"] for r in document["results"]] == IMAGE_NAMES
    assert document["results"] == alexnet_reference["results"]  # exactly: same ids, same float probs
    shutil.rmtree(str(again))


def test_a_different_seed_gives_different_outputs(seed7_model, seed7_reference, alexnet_reference):
    info = json.loads((seed7_model / "export_info.json").read_text())
    assert (info["weights"], info["seed"]) == ("seeded", 7)
    seed0, seed7 = by_image(alexnet_reference), by_image(seed7_reference)
    assert set(seed0) == set(seed7) == set(IMAGE_NAMES)
    for name in IMAGE_NAMES:
        assert seed0[name][1] != seed7[name][1], name
    assert any(seed0[name][0] != seed7[name][0] for name in IMAGE_NAMES)


def test_pretrained_state_dict_reproduces_the_seeded_model(pdparams, seed7_reference, exports):
    state = pdparams / "seed7.pdparams"
    save_dir = exports / "alexnet_pretrained7"
    result = run([PYTHON, EXPORT, "--model", "alexnet", "--pretrained", state, "--save_dir", save_dir], check=True)
    assert "exported alexnet (pretrained {}) to {}".format(state, save_dir) in result.stdout
    info = json.loads((save_dir / "export_info.json").read_text())
    assert info["weights"] == "pretrained"
    assert info["seed"] is None and info["init"] is None
    assert info["pretrained_sha256"] == sha256_of(state)
    document = reference(save_dir, exports / "pretrained7.json")
    assert document["results"] == seed7_reference["results"]


def test_unknown_model_is_a_one_line_error(tmp_path):
    result = run([PYTHON, EXPORT, "--model", "nosuchnet", "--save_dir", tmp_path / "out"])
    assert result.returncode == 1
    assert result.stderr.strip() == \
        "export_model.py: error: unknown model 'nosuchnet'; known models: {}".format(KNOWN_MODELS)
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, message", [
    ("missing.pdparams", r"--pretrained: no such file: {path}$"),
    ("garbage.pdparams", r"--pretrained: cannot read {path}: .+"),
    ("not_a_dict.pdparams", r"--pretrained: {path} does not hold a state dict$"),
    ("wrong_keys.pdparams", r"--pretrained: {path} lacks 16 parameters of AlexNet, e\.g\. '_conv1\._conv\.bias'$"),
    ("wrong_shape.pdparams", r"--pretrained: parameter '_conv1\._conv\.weight' has shape \[1\], "
                             r"the model expects \[64, 3, 11, 11\]$"),
], ids=["missing", "garbage", "not-a-dict", "wrong-keys", "wrong-shape"])
def test_bad_pretrained_file_is_a_one_line_error(pdparams, tmp_path, name, message):
    path = pdparams / name
    save_dir = tmp_path / "out"
    result = run([PYTHON, EXPORT, "--model", "alexnet", "--pretrained", path, "--save_dir", save_dir])
    lines = assert_clean_failure(result, 1, prog="export_model.py")
    assert result.returncode == 1
    assert re.match("export_model.py: error: " + message.format(path=re.escape(str(path))), lines[0]), lines[0]
    assert not save_dir.exists()
    assert_no_staging_left(tmp_path)


def test_export_replaces_an_existing_folder(tmp_path):
    save_dir = tmp_path / "small"
    save_dir.mkdir()
    (save_dir / "stale.txt").write_text("old")
    run([PYTHON, EXPORT, "--model", "mobilenet_v3_small", "--seed", "3", "--save_dir", save_dir], check=True)
    assert sorted(p.name for p in save_dir.iterdir()) == [
        "export_info.json", "inference.pdiparams", "inference.pdiparams.info", "inference.pdmodel"]
    info = json.loads((save_dir / "export_info.json").read_text())
    assert (info["model"], info["seed"]) == ("mobilenet_v3_small", 3)
    assert_no_staging_left(tmp_path)


# ------------------------------------------------------------------------------------- the reference
def test_reference_json(alexnet_reference, alexnet_model):
    doc = alexnet_reference
    assert doc["tool"] == "tools/infer.py"
    assert doc["model_dir"] == str(alexnet_model)
    assert doc["topk"] == 5
    # Plain fp32 (Paddle Serving 0.9.0's local_service_conf defaults): the reference every case is judged by.
    assert doc["settings"] == {"use_gpu": False, "gpu_id": 0, "cpu_threads": 2, "use_mkldnn": False,
                               "mkldnn_cache_capacity": 0, "ir_optim": False, "mem_optim": True, "use_trt": False,
                               "precision": "fp32"}
    assert doc["errors"] == []
    assert "benchmark" not in doc
    assert [r["image"] for r in doc["results"]] == IMAGE_NAMES
    for entry in doc["results"]:
        ids, probs = entry["class_ids"], entry["probs"]
        assert len(ids) == 5 and len(set(ids)) == 5 and all(0 <= i < 1000 for i in ids)
        assert all(0.0 < p <= 1.0 for p in probs)
        assert probs == sorted(probs, reverse=True)
        assert sum(probs) <= 1.0 + 1e-6
        assert probs[0] > 1.2 * probs[1], entry  # the seeded head makes the top-1 decisive


def test_output_json_agrees_with_printed_lines(bench_run, alexnet_reference):
    result, document = bench_run
    printed = parse_lines(result.stdout.splitlines())
    assert [r.image for r in printed] == IMAGE_NAMES
    assert len([line for line in result.stdout.splitlines() if line.startswith("image_name: ")]) == 4
    for line_result, entry in zip(printed, document["results"]):
        assert line_result.image == entry["image"]
        assert line_result.err_no == 0
        assert line_result.class_ids == entry["class_ids"]
        assert line_result.class_id == entry["class_ids"][0]
        for shown, exact in zip(line_result.probs, entry["probs"]):
            assert result_lines.format_prob(exact) == result_lines.format_prob(shown)
            assert shown == pytest.approx(exact, rel=1e-8)
    # Same settings, same model: the benchmark run's results are the session reference's.
    assert document["results"] == alexnet_reference["results"]


def test_benchmark_report(bench_run):
    result, document = bench_run
    out = result.stdout
    assert "benchmark: batch_size 1, 4 images x 2 rounds after 1 warm-up" in out.splitlines()
    number = r"\s+(\d+\.\d\d) ms"
    printed = {}
    for stage in ("preprocess", "inference", "postprocess", "total"):
        match = re.search(r"^  {}\s+mean{n}\s+p50{n}\s+p99{n}$".format(stage, n=number), out, re.M)
        assert match, "no {} line in:\n{}".format(stage, out)
        printed[stage] = [float(v) for v in match.groups()]
    assert re.search(r"^  throughput\s+\d+\.\d images/s$", out, re.M), out
    rss = re.search(r"^  peak RSS\s+(\d+\.\d) MB$", out, re.M)
    assert rss, out

    report = document["benchmark"]
    assert (report["batch_size"], report["warmup"], report["repeats"], report["images"]) == (1, 1, 2, 4)
    for stage in ("preprocess", "inference", "postprocess", "total"):
        s = report[stage]
        assert s["count"] == 8  # 4 images x 2 rounds, one image per run
        assert 0 < s["min"] <= s["p50"] <= s["p90"] <= s["p99"] <= s["max"]
        assert s["min"] <= s["mean"] <= s["max"]
        assert printed[stage] == pytest.approx([s["mean"], s["p50"], s["p99"]], abs=0.006)
    parts = sum(report[stage]["mean"] for stage in ("preprocess", "inference", "postprocess"))
    assert report["total"]["mean"] == pytest.approx(parts, rel=1e-9)
    seconds = report["total"]["mean"] * report["total"]["count"] / 1000.0
    assert report["images_per_second"] == pytest.approx(8 / seconds, rel=1e-9)
    # The process holds the 244 MB of AlexNet weights at least.
    assert report["peak_rss_mb"] > 244
    assert float(rss.group(1)) == pytest.approx(report["peak_rss_mb"], abs=0.06)


def test_topk_and_batch_size(batch3_run, alexnet_reference):
    result, document = batch3_run
    assert document["topk"] == 3
    reference_results = by_image(alexnet_reference)
    printed = parse_lines(result.stdout.splitlines())
    assert [r.image for r in printed] == IMAGE_NAMES
    for entry in document["results"]:
        ids, probs = entry["class_ids"], entry["probs"]
        ref_ids, ref_probs = reference_results[entry["image"]]
        assert ids == ref_ids[:3]
        # A batch of 3 runs other kernels than a batch of 1: equal within float32 noise, not bit for bit.
        assert probs == pytest.approx(ref_probs[:3], rel=1e-4)
    assert all(len(r.class_ids) == 3 for r in printed)


def test_full_topk_is_the_whole_distribution(alexnet_model, alexnet_reference, tmp_path):
    result, document = infer(alexnet_model, IMAGES / "coffee.jpg", "--topk", "1000",
                             json_path=tmp_path / "all.json")
    assert result.returncode == 0, result.stderr
    (entry,) = document["results"]
    assert sorted(entry["class_ids"]) == list(range(1000))
    assert entry["probs"] == sorted(entry["probs"], reverse=True)
    assert sum(entry["probs"]) == pytest.approx(1.0, abs=1e-4)  # the exported model ends in softmax
    reference_ids, reference_probs = by_image(alexnet_reference)["coffee.jpg"]
    assert entry["class_ids"][:5] == reference_ids and entry["probs"][:5] == reference_probs


def test_benchmark_throughput_counts_a_partial_last_batch(batch3_run):
    _, document = batch3_run
    report = document["benchmark"]
    assert report["total"]["count"] == 2  # one batch of 3 and one of 1
    seconds = report["total"]["mean"] * report["total"]["count"] / 1000.0
    assert report["images_per_second"] == pytest.approx(4 / seconds, rel=1e-9)


# ---------------------------------------------------------------------------------- infer: bad input
def test_missing_model_directory(tmp_path):
    missing = tmp_path / "no_model"
    result, _ = infer(missing, IMAGES)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "infer.py: error: model directory not found: {}".format(missing)


@pytest.mark.parametrize("keep, lacks", [("inference.pdmodel", "inference.pdiparams"),
                                         ("inference.pdiparams", "inference.pdmodel")],
                         ids=["no-params", "no-model"])
def test_model_directory_missing_a_file(alexnet_model, tmp_path, keep, lacks):
    model_dir = tmp_path / "partial"
    model_dir.mkdir()
    (model_dir / keep).symlink_to(alexnet_model / keep)
    result, _ = infer(model_dir, IMAGES)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "infer.py: error: model directory {} has no {}".format(model_dir, lacks)


def test_truncated_params_file(alexnet_model, tmp_path):
    model_dir = tmp_path / "corrupt"
    model_dir.mkdir()
    (model_dir / "inference.pdmodel").symlink_to(alexnet_model / "inference.pdmodel")
    with open(alexnet_model / "inference.pdiparams", "rb") as handle:
        (model_dir / "inference.pdiparams").write_bytes(handle.read(1 << 20))
    result, _ = infer(model_dir, IMAGES / "coffee.jpg")
    lines = assert_clean_failure(result, 1)
    assert result.returncode == 1
    assert lines[0].startswith("infer.py: error: cannot load the model in {}: ".format(model_dir))
    assert result.stdout == ""


def test_corrupt_model_file(alexnet_model, tmp_path):
    model_dir = tmp_path / "corrupt_model"
    model_dir.mkdir()
    (model_dir / "inference.pdmodel").write_bytes(b"garbage\n")
    (model_dir / "inference.pdiparams").symlink_to(alexnet_model / "inference.pdiparams")
    result, _ = infer(model_dir, IMAGES / "coffee.jpg")
    assert result.returncode == 1, result.returncode
    lines = assert_clean_failure(result, 1)
    assert str(model_dir) in lines[0] and "not a Paddle inference program" in lines[0]


def test_empty_image_directory(alexnet_model, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.txt").write_text("not an image\n")
    result, _ = infer(alexnet_model, empty)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == \
        "infer.py: error: no images in {} (looked for .jpg, .jpeg, .png, .bmp, .webp)".format(empty)


def test_missing_image_path(alexnet_model, tmp_path):
    missing = tmp_path / "nothing.jpg"
    result, _ = infer(alexnet_model, missing)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "infer.py: error: image path not found: {}".format(missing)


def half_of(name):
    data = (IMAGES / name).read_bytes()
    return data[:len(data) // 2]


@pytest.mark.parametrize("content, message", [
    (half_of("chelsea.jpg"), r"cannot decode the JPEG image: image file is truncated"),
    (b"just some text, saved with the wrong name\n", r"not an image: the data is none of JPEG, PNG"),
], ids=["truncated-jpeg", "text-named-jpg"])
def test_one_bad_image_file(alexnet_model, tmp_path, content, message):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    result, document = infer(alexnet_model, path, json_path=tmp_path / "out.json")
    lines = assert_clean_failure(result, 1)
    assert result.returncode == 1
    assert re.match(r"infer\.py: error: {}: {}".format(re.escape(str(path)), message), lines[0]), lines[0]
    assert parse_lines(result.stdout.splitlines()) == []
    assert document["results"] == []
    assert [e["image"] for e in document["errors"]] == ["bad.jpg"]


def test_folder_mixing_good_and_bad_images(alexnet_model, alexnet_reference, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("chelsea.jpg", "coffee.jpg"):
        shutil.copy(str(IMAGES / name), str(folder / name))
    (folder / "broken.jpg").write_bytes(half_of("rocket.jpg"))
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("text, not a picture\n")
    result, document = infer(alexnet_model, folder, json_path=tmp_path / "mixed.json")
    lines = assert_clean_failure(result, 3)
    assert result.returncode == 1
    expected = {
        "broken.jpg": "cannot decode the JPEG image: image file is truncated",
        "empty.png": "empty image data",
        "notes.jpg": "not an image",
    }
    for line, (name, message) in zip(lines, sorted(expected.items())):
        assert line.startswith("infer.py: error: {}: {}".format(folder / name, message)), line
    # The good images are still classified, exactly as in the reference over images/.
    printed = parse_lines(result.stdout.splitlines())
    assert [r.image for r in printed] == ["chelsea.jpg", "coffee.jpg"]
    reference_results = by_image(alexnet_reference)
    for entry in document["results"]:
        assert (entry["class_ids"], entry["probs"]) == reference_results[entry["image"]]
    assert [e["image"] for e in document["errors"]] == sorted(expected)


def test_jpeg_cut_inside_its_header_is_one_error_line(alexnet_model, tmp_path):
    folder = tmp_path / "header_cut"
    folder.mkdir()
    shutil.copy(str(IMAGES / "coffee.jpg"), str(folder / "coffee.jpg"))
    (folder / "cut.jpg").write_bytes((IMAGES / "chelsea.jpg").read_bytes()[:100])
    result, _ = infer(alexnet_model, folder)
    lines = assert_clean_failure(result, 1)
    assert result.returncode == 1
    assert lines[0].startswith("infer.py: error: {}: cannot read the image header: ".format(folder / "cut.jpg"))
    assert [r.image for r in parse_lines(result.stdout.splitlines())] == ["coffee.jpg"]
