"""Any image classifier by config alone, and nightly runs sharded over many machines (issue 7).

The second model (MobileNetV3-Small) runs through the same test_serving.sh, web_service.py, clients
and checker as AlexNet, with nothing model-specific outside tipc_serving/model/registry.py and configs/; a
model the registry does not know, outputting logits, needs only a config. Sharding is checked at the
plan level (every case in exactly one shard, whatever the GPU) and end to end: a real 3-shard run
over two configs, merged with test_tipc/merge_reports.sh, also as CI artifacts (links followed).
"""
import json
import re
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from conftest import IMAGES, PYTHON, REPO_ROOT, clean_env, export_model, reference, run
from harnesskit import CPU_CASES, GPU_CASES, HarnessRun, run_harness, write_config
from tipc_serving.model import images as image_files
from tipc_serving.report.store import Report

MODEL = "mobilenet_v3_small"
CONFIGS = [REPO_ROOT / "configs" / "alexnet_serving.txt", REPO_ROOT / "configs" / "mobilenet_v3_small_serving.txt"]
MOBILENET_CONFIG = CONFIGS[1]
MERGE = REPO_ROOT / "test_tipc" / "merge_reports.sh"
TEST_IMAGES = len(image_files.list_images(IMAGES))


def plan(tmp_path, *configs, shard=None, gpus="0", env=None):
    """`python -m tipc_serving plan` as test_serving.sh calls it; the parsed plan. gpus "1" plans as on a
    machine with a GPU (TIPC_GPU=1), "0" with GPU cases off."""
    out = tmp_path / "plan-{}-{}.json".format((shard or "all").replace("/", "of"), gpus)
    args = [PYTHON, "-m", "tipc_serving", "plan", *configs, "--output", out, "--gpu", "off" if gpus == "0" else "auto"]
    env = dict(env or {}, **({"TIPC_GPU": "1"} if gpus == "1" else {}))
    run(args + (["--shard", shard] if shard else []), env=clean_env(**env), check=True)
    return json.loads(out.read_text())


def case_keys(plan_data):
    """[(model_name, case name)] of a plan, in plan order."""
    return [(config["model_name"], case["name"]) for config in plan_data["configs"] for case in config["cases"]]


# ---------------------------------------------------------------- the second model, by config alone

def test_mobilenet_config_plans_its_own_service_and_folders(full_plan):
    alexnet, mobilenet = full_plan["configs"]
    assert mobilenet["model_name"] == MODEL and mobilenet["op_name"] == MODEL
    assert mobilenet["url"].endswith("/{}/prediction".format(MODEL))
    case = mobilenet["cases"][0]
    assert case["service"]["argv"][:4] == ["web_service.py", "--config=config.yml", "--name", MODEL]
    http, rpc = case["clients"]
    assert http["argv"][0] == "pipeline_http_client.py" and http["argv"][-1] == mobilenet["url"]
    assert rpc["argv"][0] == "pipeline_rpc_client.py" and rpc["argv"][-1] == mobilenet["endpoint"]
    assert mobilenet["model"]["export_args"][1:3] == ["--model", MODEL]
    # Its own model and conversion folders: both configs can run in one invocation.
    assert mobilenet["model"]["dir"] != alexnet["model"]["dir"]
    for key in ("serving_server", "serving_client"):
        assert mobilenet["convert"][key] != alexnet["convert"][key]
    # The same service code and clients as AlexNet's.
    assert mobilenet["serving_dir"] == alexnet["serving_dir"]
    # Every case option addresses this op, none AlexNet's.
    opts = [opt for case in mobilenet["cases"] for opt in case["opts"]]
    assert opts and all(opt.startswith("op.{}.".format(MODEL)) for opt in opts), opts
    names = {case["name"]: case["skip_reason"] for case in mobilenet["cases"]}
    assert names == {**{n: None for n in CPU_CASES}, **{n: "skipped: no GPU (--gpu off)" for n in GPU_CASES}}


SOURCE_DIRS = ("deploy", "tipc_serving", "test_tipc", "tools")
SOURCE_SUFFIXES = (".py", ".sh", ".yml", ".yaml", ".txt", ".cfg")


def test_nothing_about_the_second_model_outside_the_registry_and_configs():
    """Adding MobileNetV3-Small took a config and a registry entry: no code names it elsewhere."""
    found = []
    for folder in SOURCE_DIRS:
        for path in (REPO_ROOT / folder).rglob("*"):
            relative = path.relative_to(REPO_ROOT)
            if not path.is_file() or path.suffix not in SOURCE_SUFFIXES or "output" in relative.parts \
                    or "PipelineServingLogs" in relative.parts or "__pycache__" in relative.parts:
                continue
            if re.search(r"mobilenet", path.read_text(errors="replace"), re.IGNORECASE):
                found.append(str(relative))
    assert found == ["tipc_serving/model/registry.py"], found


def test_another_mobilenet_fails_the_check_despite_flat_outputs(tmp_path, small_model):
    """The seeded MobileNetV3-Small is nearly flat (top-1 about 0.002) for some images, where a class
    swap within tolerance is a tie. The verdict must still tell two different models apart: the
    seed-1 model's answers compared with the seed-0 reference fail on every image that can tell a
    swapped top-1 (its reference's two best classes further apart than the tolerance), and the check
    names the images that cannot."""
    seed0 = reference(small_model, tmp_path / "seed0.json")  # conftest's small_model: MODEL, seed 0
    reference(export_model(tmp_path / "seed1", model=MODEL, seed=1), tmp_path / "seed1.json")
    assert len(seed0["results"]) == TEST_IMAGES
    out = tmp_path / "check.json"
    checked = run([PYTHON, REPO_ROOT / "test_tipc" / "compare_results.py", "--reference", tmp_path / "seed1.json",
                   "--golden", tmp_path / "seed0.json", "--json-out", out])
    assert checked.returncode == 1, checked.stdout + checked.stderr
    golden = json.loads(out.read_text())["golden"]
    telling = [image for image, tells in golden["discrimination"]["per_image"].items() if tells]
    assert telling, golden["discrimination"]
    verdicts = {entry["image"]: entry["verdict"] for entry in golden["entries"]}
    assert all(verdicts[image] not in ("match", "tie") for image in telling), verdicts


@pytest.fixture(scope="module")
def mobilenet_run(tmp_path_factory):
    """The project's own MobileNetV3-Small config through the real script (GPU forced off)."""
    return run_harness([MOBILENET_CONFIG], tmp_path_factory.mktemp("mobilenet") / "output", model_name=MODEL)


@pytest.mark.e2e
def test_mobilenet_passes_every_cpu_case_through_the_same_script(mobilenet_run):
    assert mobilenet_run.result.returncode == 0, mobilenet_run.output[-4000:]
    results = mobilenet_run.results
    assert results["model_name"] == MODEL and results["state"] == "finished"
    statuses = {c["name"]: c["status"] for c in results["cases"]}
    assert statuses == {**{n: "passed" for n in CPU_CASES}, **{n: "skipped" for n in GPU_CASES}}
    assert "{}: 4 passed, 0 failed, 3 skipped, 0 not run".format(MODEL) in mobilenet_run.result.stdout
    assert mobilenet_run.leftovers() == {}


@pytest.mark.e2e
def test_mobilenet_answers_were_served_under_its_name_and_checked(mobilenet_run):
    run_dir = mobilenet_run.run_dir
    used_plan = json.loads((run_dir / "plan.json").read_text())["configs"][0]
    assert used_plan["op_name"] == MODEL and used_plan["url"].endswith("/{}/prediction".format(MODEL))
    for name in CPU_CASES:
        for check_file in ("check.json", "check_rpc.json"):
            check = json.loads((run_dir / name / check_file).read_text())
            assert check["images"] == TEST_IMAGES and check["images_ok"] == TEST_IMAGES, (name, check)
            assert check["max_abs_diff"] < 1e-4, (name, check)
    client_lines = [line for line in mobilenet_run.status_lines if "pipeline_http_client.py" in line]
    assert len(client_lines) == len(CPU_CASES)
    assert all("--url http://127.0.0.1:" in line and "/{}/prediction".format(MODEL) in line for line in client_lines)
    server_lines = [line for line in mobilenet_run.status_lines if "web_service.py" in line]
    assert len(server_lines) == len(CPU_CASES) and all("--name {} ".format(MODEL) in line for line in server_lines)
    steps = {step["name"]: step["status"] for step in mobilenet_run.results["steps"]}
    assert steps["golden"] in ("passed", "skipped") and steps["reference"] == "passed", steps


# ---------------------------------------------------------------- a classifier brought along

EXPORT_LOGITS = """
import sys
import paddle
from paddle.static import InputSpec
from tipc_serving.model import registry as models
paddle.set_device("cpu")
net = models.build("mobilenet_v3_small")
models.seeded_init(net, 0)
net.eval()
static = paddle.jit.to_static(net, input_spec=[InputSpec([None, 3, 224, 224], "float32", "x")])
paddle.jit.save(static, sys.argv[1] + "/inference")
"""


@pytest.fixture(scope="module")
def logits_model(tmp_path_factory):
    """An inference model the export tool did not make: no softmax at the end, no export_info.json."""
    folder = tmp_path_factory.mktemp("logits_model")
    run([PYTHON, "-c", EXPORT_LOGITS, folder], check=True)
    assert not (folder / "export_info.json").exists()
    return folder


def one_cpu_case(model_name):
    return ["--opt op.{}.local_service_conf.devices:null".format(model_name),
            "--opt op.{}.local_service_conf.thread_num:2".format(model_name)]


@pytest.mark.e2e
def test_own_model_by_config_alone_outputting_logits(tmp_path, logits_model):
    """A name the registry does not know, an existing model that outputs logits: a config is all it
    takes; the service and the reference both turn the logits into probabilities."""
    name = "my_classifier"
    config = write_config(tmp_path / "my_classifier.txt", logits_model, tmp_path / "converted", model_name=name,
                          matrix=one_cpu_case(name))
    harness = run_harness([config], tmp_path / "out", model_name=name)
    assert harness.result.returncode == 0, harness.output[-4000:]
    steps = {step["name"]: step for step in harness.results["steps"]}
    assert steps["export"]["status"] == "skipped" and steps["golden"]["status"] == "skipped"
    case = harness.case("cpu_usemkldnn_False_threads_2")
    assert case["status"] == "passed" and case["check"]["images"] == TEST_IMAGES, case
    served = json.loads((harness.run_dir / "plan.json").read_text())["configs"][0]
    assert served["url"].endswith("/{}/prediction".format(name))
    # The same weights as the seeded export that ends in softmax (the golden file): same probabilities.
    refs = json.loads((harness.run_dir / "reference.json").read_text())["results"]
    golden = json.loads((REPO_ROOT / "test_tipc" / "results" / "{}_fp32.json".format(MODEL)).read_text())["results"]
    assert [r["image"] for r in refs] == [g["image"] for g in golden]
    for ours, theirs in zip(refs, golden):
        # (top-1 only: lower ranks of the near-flat images may be as close as 1e-6 apart)
        assert ours["class_ids"][0] == theirs["class_ids"][0], (ours, theirs)
        assert max(abs(a - b) for a, b in zip(ours["probs"], theirs["probs"])) < 1e-5, (ours, theirs)


@pytest.mark.e2e
def test_own_model_under_a_name_with_a_golden_file_skips_the_golden_check(tmp_path, logits_model):
    """test_tipc/results/mobilenet_v3_small_fp32.json describes the seeded export; a model brought
    along under that name (no export_info.json) is not compared with it, and its cases run."""
    config = write_config(tmp_path / "config.txt", logits_model, tmp_path / "converted", model_name=MODEL,
                          matrix=one_cpu_case(MODEL))
    harness = run_harness([config], tmp_path / "out", model_name=MODEL)
    assert harness.result.returncode == 0, harness.output[-4000:]
    golden = harness.step("golden")
    assert golden["status"] == "skipped" and "no export_info.json" in golden["reason"], golden
    assert harness.case("cpu_usemkldnn_False_threads_2")["status"] == "passed"


# ---------------------------------------------------------------- sharding at the plan level

@pytest.fixture(scope="module")
def shard_plans(tmp_path_factory):
    """plans(shard, gpus, trt) -> the plan of both configs, each made once per module."""
    folder, made = tmp_path_factory.mktemp("shard_plans"), {}

    def plans(shard=None, gpus="0", trt="0"):
        key = (shard, gpus, trt)
        if key not in made:
            where = folder / "{}".format(len(made))
            where.mkdir()
            made[key] = plan(where, *CONFIGS, shard=shard, gpus=gpus, env={"TIPC_TRT": trt})
        return made[key]

    return plans


@pytest.fixture(scope="module")
def full_plan(shard_plans):
    return shard_plans()


def test_both_configs_together_have_fourteen_distinct_cases(full_plan):
    keys = case_keys(full_plan)
    assert len(keys) == 14 and len(set(keys)) == 14
    assert full_plan["shard"] is None


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_shards_of_both_configs_cover_every_case_exactly_once(shard_plans, full_plan, count):
    everything = case_keys(full_plan)
    seen = []
    sizes = []
    for index in range(1, count + 1):
        part = shard_plans("{}/{}".format(index, count))
        assert part["shard"] == "{}/{}".format(index, count)
        # Every config is in every shard's plan (its report is written even with no case in it).
        assert [c["model_name"] for c in part["configs"]] == ["alexnet", MODEL]
        keys = case_keys(part)
        sizes.append(len(keys))
        seen += keys
    assert sorted(seen) == sorted(everything)  # the union is everything, and nothing twice
    assert len(seen) == len(set(seen))
    assert max(sizes) - min(sizes) <= 1, sizes


@pytest.mark.parametrize("count", [2, 3, 4])
def test_gpu_availability_does_not_change_the_shards(shard_plans, count):
    """--gpus 0 plans (as the coverage test made them) against GPU machines with and without TensorRT."""
    for index in range(1, count + 1):
        shard = "{}/{}".format(index, count)
        without_gpu = shard_plans(shard, gpus="0")
        with_gpu = shard_plans(shard, gpus="1", trt="1")
        with_gpu_no_trt = shard_plans(shard, gpus="1", trt="0")
        assert {c["skip_reason"] for config in with_gpu_no_trt["configs"] for c in config["cases"]} <= {
            None, "skipped: TensorRT not available"}
        assert case_keys(without_gpu) == case_keys(with_gpu) == case_keys(with_gpu_no_trt), shard
        assert not any(c["skip_reason"] for config in with_gpu["configs"] for c in config["cases"])


# ---------------------------------------------------------------- merging CI artifacts

def fake_shard(output, index, count, case_name):
    """A finished one-case shard report laid out as test_serving.sh writes it, `latest` link included."""
    model_dir = output / "alexnet" / "serving_python"
    run_id = "20260101T000000Z-{}".format(index)
    report = Report.create(model_dir / run_id, "alexnet", "configs/alexnet_serving.txt", run_id,
                               shard="{}/{}".format(index, count),
                               cases=[{"name": case_name, "device": "cpu", "settings": {}}])
    report.update_case(case_name, status="passed", reason="PASS 4/4 images")
    report.finish()
    (model_dir / "latest").symlink_to(run_id)


def test_merge_of_artifacts_with_followed_latest_links_counts_each_run_once(tmp_path):
    """CI uploaders (GitHub's upload-artifact) follow symbolic links: `latest` arrives as a second
    folder with the same results.json. That copy is the same run, not a duplicate case."""
    for index in (1, 2):
        fake_shard(tmp_path / "machine{}".format(index) / "output", index, 2, "case{}".format(index))
    downloaded = tmp_path / "artifacts"
    shutil.copytree(str(tmp_path / "machine1"), str(downloaded / "shard-1"), symlinks=False)
    shutil.copytree(str(tmp_path / "machine2"), str(downloaded / "shard-2"), symlinks=False)
    assert not (downloaded / "shard-1" / "output" / "alexnet" / "serving_python" / "latest").is_symlink()
    merged = merge(tmp_path / "merged", downloaded)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "all (2 runs): 2 passed, 0 failed, 0 skipped, 0 not run" in merged.stdout, merged.stdout
    assert merged.stderr.count("(the same run)") == 2, merged.stderr
    data = json.loads((tmp_path / "merged" / "results.json").read_text())
    assert data["duplicates"] == [] and len(data["merged_from"]) == 2
    assert all("latest" not in path for path in data["merged_from"])


# ---------------------------------------------------------------- a real sharded run, merged

SHARDS = 3
SMALL_CPU = ["cpu_usemkldnn_False_threads_1", "cpu_usemkldnn_False_threads_2"]
SMALL_GPU = "gpu_usetrt_False_precision_fp32"


def small_matrix(model_name):
    """2 CPU cases and 1 GPU case (skipped here: --gpus 0)."""
    prefix = "--opt op.{}.local_service_conf.".format(model_name)
    return [prefix + 'devices:"0"|null', prefix + "use_mkldnn:False", prefix + "thread_num:1|2",
            prefix + "use_trt:False", prefix + "precision:fp32"]


@pytest.fixture(scope="module")
def sharded_run(tmp_path_factory, alexnet_model, small_model):
    """Two small configs (3 cases each: 2 CPU, 1 GPU) run as 3 shards, each into its own output dir."""
    root = tmp_path_factory.mktemp("sharded")
    configs = [write_config(root / "alexnet.txt", alexnet_model, root / "alexnet_converted",
                            matrix=small_matrix("alexnet")),
               write_config(root / "mobilenet.txt", small_model, root / "mobilenet_converted",
                            model_name=MODEL, matrix=small_matrix(MODEL))]
    shards = []
    for index in range(1, SHARDS + 1):
        output = root / "shard{}".format(index)
        shards.append(run_harness(configs, output, extra=["--shard", "{}/{}".format(index, SHARDS)]))
    return root, shards


def shard_results(shard_run, model_name):
    return HarnessRun(shard_run.result, shard_run.output_dir, model_name).results


def merge(out_dir, *inputs):
    return run(["bash", MERGE, out_dir, *inputs], timeout=120)


@pytest.mark.e2e
@pytest.mark.slow
def test_each_shard_runs_its_part_of_both_configs(sharded_run):
    _, shards = sharded_run
    seen = []
    for index, shard_run in enumerate(shards, start=1):
        assert shard_run.result.returncode == 0, shard_run.output[-4000:]
        for model_name in ("alexnet", MODEL):
            results = shard_results(shard_run, model_name)
            assert results["shard"] == "{}/{}".format(index, SHARDS)
            assert results["state"] == "finished"
            seen += [(model_name, case["name"], case["status"]) for case in results["cases"]]
    expected = [(m, name, "passed") for m in ("alexnet", MODEL) for name in SMALL_CPU] + \
               [(m, SMALL_GPU, "skipped") for m in ("alexnet", MODEL)]
    assert sorted(seen) == sorted(expected)


@pytest.mark.e2e
@pytest.mark.slow
def test_merged_shards_count_every_case_once_and_pass(sharded_run, tmp_path):
    root, _ = sharded_run
    merged = merge(tmp_path / "merged", *[root / "shard{}".format(i) for i in range(1, SHARDS + 1)])
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "all (6 runs): 4 passed, 0 failed, 2 skipped, 0 not run" in merged.stdout, merged.stdout
    data = json.loads((tmp_path / "merged" / "results.json").read_text())
    assert data["totals"]["passed"] == 4 and data["totals"]["failed"] == 0 and data["totals"]["skipped"] == 2
    assert data["duplicates"] == [] and data["missing_shards"] == [] and len(data["merged_from"]) == 2 * SHARDS
    junit = ElementTree.parse(str(tmp_path / "merged" / "junit.xml")).getroot()
    counts = tuple(junit.get(key) for key in ("tests", "failures", "skipped", "errors"))
    assert counts == ("6", "0", "2", "0"), counts


def fail_one_case(results_path, out_path):
    """A copy of a shard's results.json in which its first passed case failed."""
    data = json.loads(Path(results_path).read_text())
    case = next(c for c in data["cases"] if c["status"] == "passed")
    case["status"], case["reason"] = "failed", "HTTP answers: FAIL 3/4 images (1 class_mismatch)"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(data))
    return case["name"]


@pytest.mark.e2e
@pytest.mark.slow
def test_merge_with_a_failed_shard_exits_1_with_the_right_totals(sharded_run, tmp_path):
    root, shards = sharded_run
    # Shard 2 as a CI artifact whose MobileNet run failed a case; its AlexNet run stays as it was.
    artifacts = tmp_path / "artifacts"
    shutil.copytree(str(root / "shard2"), str(artifacts / "shard2"), symlinks=True)
    mobilenet_results = HarnessRun(shards[1].result, artifacts / "shard2", MODEL).run_dir / "results.json"
    failed = fail_one_case(mobilenet_results, mobilenet_results)
    merged = merge(tmp_path / "merged", root / "shard1", artifacts / "shard2", root / "shard3")
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert "all (6 runs): 3 passed, 1 failed, 2 skipped, 0 not run" in merged.stdout, merged.stdout
    assert re.search(r"^mobilenet\S*\s+FAILED", merged.stdout, re.MULTILINE), merged.stdout
    data = json.loads((tmp_path / "merged" / "results.json").read_text())
    assert [(c["model_name"], c["name"]) for c in data["cases"] if c["status"] == "failed"] == [(MODEL, failed)]
    junit = ElementTree.parse(str(tmp_path / "merged" / "junit.xml")).getroot()
    assert (junit.get("tests"), junit.get("failures")) == ("6", "1")


@pytest.mark.e2e
@pytest.mark.slow
def test_merge_of_downloaded_artifacts_passes(sharded_run, tmp_path):
    """The shards as a CI merge job sees them: copied with symbolic links followed, one folder each."""
    root, _ = sharded_run
    for index in range(1, SHARDS + 1):
        shutil.copytree(str(root / "shard{}".format(index)), str(tmp_path / "artifacts" / "shard-{}".format(index)))
    merged = merge(tmp_path / "merged", tmp_path / "artifacts")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "all (6 runs): 4 passed, 0 failed, 2 skipped, 0 not run" in merged.stdout, merged.stdout


@pytest.mark.e2e
@pytest.mark.slow
def test_merge_without_a_shard_exits_1_naming_it(sharded_run, tmp_path):
    root, _ = sharded_run
    merged = run([PYTHON, "-m", "tipc_serving", "report", "merge", tmp_path / "merged", root / "shard1",
                  root / "shard3"])
    assert merged.returncode == 1
    assert "missing shard: 2/3" in merged.stdout, merged.stdout
