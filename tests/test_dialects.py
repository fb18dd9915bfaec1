"""PaddlePaddle's own serving TIPC configs (config/dialects.py): every layout parses, plans the commands its
repository's script runs, and runs end to end against stand-in scripts (tests/dialects/) that follow each
repository's command-line conventions, with a verdict that says the answers were not compared.

The configs under tests/dialects/ are written for these tests in each repository's layout; the real files
were read to learn the layouts (the note of issue 12 tabulates the real ones).
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import IMAGES, REPO_ROOT, clean_env
from harnesskit import HARNESS, HarnessRun
from tipc_serving import repos as dialects
from tipc_serving.config import dialect_plan, matrix, tipc
from tipc_serving.config.plan import list_cases
from tipc_serving.errors import ConfigError, ConfigErrors, UsageError, UserError
from tipc_serving.service.ports import free_ports

DIALECT_REPOS = Path(__file__).resolve().parent / "dialects"
CONFIGS = {
    "PaddleClas": "test_tipc/configs/ResNet50_vd/ResNet50_vd_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt",
    "PaddleOCR": "test_tipc/configs/ch_PP-OCRv2/model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt",
    "PaddleSeg": "test_tipc/configs/pp_liteseg_stdc1/"
                 "pp_liteseg_stdc1_model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt",
    "PaddleDetection": "test_tipc/configs/ppyolo/"
                       "ppyolo_mbv3_small_coco_model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt",
    "PaddleVideo": "test_tipc/configs/PP-TSM/model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt",
    "Step6": "test_tipc/configs/mobilenet_v3_small/serving_infer_python.txt",
    "Template": "test/model_linux_gpu_normal_normal_serving_python_linux_gpu_cpu.txt",
}
# dialect -> (dialect name, the model folders its conversions read, the test inputs its clients send)
LAYOUT = {
    "PaddleClas": ("PaddleClas", ["deploy/paddleserving/ResNet50_vd_infer"], ["deploy/paddleserving/daisy.jpg"]),
    "PaddleOCR": ("PaddleOCR", ["inference/ch_PP-OCRv2_det_infer", "inference/ch_PP-OCRv2_rec_infer"],
                  ["doc/imgs/1.jpg"]),
    "PaddleSeg": ("PaddleSeg", ["test_tipc/inferences/pp_liteseg_stdc1/pp_liteseg_infer_model"],
                  ["test_tipc/data/cityscapes_small.png"]),
    "PaddleDetection": ("PaddleDetection", [], ["demo/000000014439.jpg", "weights/ppyolo_mbv3_small_coco.pdparams"]),
    "PaddleVideo": ("PaddleVideo", ["inference/ppTSM"], ["data/example.avi"]),
    "Step6": ("Step6", ["inference/mobilenet_v3_small_infer"], ["images/demo.jpg"]),
    "Template": ("TIPC template", ["model_infer"], ["images/demo.jpg"]),
}


def config_of(dialect, root=DIALECT_REPOS):
    return root / dialect / CONFIGS[dialect]


def parsed(dialect, root=DIALECT_REPOS):
    return tipc.parse(config_of(dialect, root))


# ---------------------------------------------------------------- parsing: every layout, its meaning

@pytest.mark.parametrize("dialect", list(CONFIGS))
def test_each_layout_is_recognised(dialect):
    config = parsed(dialect)
    assert config.dialect == LAYOUT[dialect][0]
    assert config.coverage, "a dialect whose answers are not compared says why"


def test_paddleclas_switches_the_device_in_config_yml_and_sends_its_own_image():
    config = parsed("PaddleClas")
    assert [c.name for c in config.cases] == ["gpu_usetrt__precision_", "cpu"]  # the script's log names
    cpu = config.cases[1]
    assert cpu.service.argv == ["classification_web_service.py"]  # nothing added: the script takes no option
    assert cpu.clients[0].argv == ["pipeline_http_client.py"]  # no image flag: its image is built in
    assert cpu.clients[0].log == "python_client_cpu_pipeline_http_usemkldnn_False_threads_1_batchsize_1.log"
    assert cpu.config_edits == {"local_service_conf.device_type": 0, "local_service_conf.devices": "",
                                "local_service_conf.model_config": "ResNet50_vd_serving"}
    assert config.conversions[0].download.key == "inference_model_url"
    assert "built-in image" in config.coverage


PP_SHITU = """===========================serving_params===========================
model_name:PPShiTu
python:python3.7
cls_inference_model_url:https://example.invalid/general_PPLCNet_x2_5_lite_v1.0_infer.tar
det_inference_model_url:https://example.invalid/picodet_PPLCNet_x2_5_mainbody_lite_v1.0_infer.tar
trans_model:-m paddle_serving_client.convert
--dirname:./models/general_PPLCNet_x2_5_lite_v1.0_infer/
--dirname:./models/picodet_PPLCNet_x2_5_mainbody_lite_v1.0_infer/
--model_filename:inference.pdmodel
--params_filename:inference.pdiparams
--serving_server:./models/general_PPLCNet_x2_5_lite_v1.0_serving/
--serving_client:./models/general_PPLCNet_x2_5_lite_v1.0_client/
--serving_server:./models/picodet_PPLCNet_x2_5_mainbody_lite_v1.0_serving/
--serving_client:./models/picodet_PPLCNet_x2_5_mainbody_lite_v1.0_client/
serving_dir:./paddleserving/recognition
web_service:recognition_web_service.py
--use_gpu:0|null
pipline:pipeline_http_client.py
"""


def test_pp_shitu_repeats_the_model_keys_for_its_two_models():
    config = tipc.parse_text(PP_SHITU, "shitu.txt")
    assert config.dialect == "PaddleClas"
    recognition, detector = config.conversions
    assert (recognition.role, detector.role) == ("cls", "det")
    # The script converts from deploy/ and serves from deploy/paddleserving/recognition.
    assert recognition.command.cwd == "deploy"
    assert recognition.dirname == "deploy/models/general_PPLCNet_x2_5_lite_v1.0_infer"
    assert detector.download.key == "det_inference_model_url"
    assert config.cases[1].service.cwd == "deploy/paddleserving/recognition"


def test_paddleocr_two_models_key_only_lines_and_its_device_words():
    config = parsed("PaddleOCR")
    assert [c.role for c in config.conversions] == ["det", "rec"]
    gpu, cpu = config.cases
    assert (gpu.name, cpu.name) == ("gpu_usetrt_False_precision_fp32", "cpu_usemkldnn_False_threads_6")
    # `devices:gpu|null` is a word, not GPU ids; the CPU case passes devices= (empty), and the key-only
    # model_config lines get the converted folders' names.
    assert cpu.service.argv == [
        "web_service.py", "--config=config.yml", "--opt", "op.det.concurrency=1", "op.rec.concurrency=1",
        "op.det.local_service_conf.devices=", "op.det.local_service_conf.use_mkldnn=False",
        "op.det.local_service_conf.thread_num=6", "op.det.local_service_conf.model_config=ppocr_det_v2_serving",
        "op.rec.local_service_conf.model_config=ppocr_rec_v2_serving"]
    assert cpu.clients[0].argv == ["pipeline_http_client.py", "--image_dir=../../doc/imgs/1.jpg"]


def test_paddleocr_a_null_model_is_not_converted():
    text = config_of("PaddleOCR").read_text().replace("model_name:ch_PP-OCRv2", "model_name:ch_PP-OCRv2_det")
    for key in ("--rec_dirname", "--rec_serving_server", "--rec_serving_client"):
        text = re.sub(r"(?m)^{}:.*$".format(key), key + ":null", text)
    config = tipc.parse_text(text, "det.txt")
    assert [c.role for c in config.conversions] == ["det"]


def test_paddleseg_passes_one_opt_group_and_its_tensor_names():
    config = parsed("PaddleSeg")
    gpu, cpu = config.cases
    assert cpu.service.argv == ["./web_service.py", "--config=config.yml", "--input_name=x",
                                "--output_name=argmax_0.tmp_0", "--opt", "op.seg.local_service_conf.devices="]
    assert gpu.service.argv[-1] == "op.seg.local_service_conf.devices=0"  # the shell removes the quotes
    assert cpu.clients[0].argv == ["./pipeline_http_client.py", "--img_path=../data/cityscapes_small.png",
                                   "--input_name=x"]


def test_paddledetection_header_separators_and_export():
    config = parsed("PaddleDetection")
    export = config.conversions[0].command
    assert export.label == "export" and export.argv[-3:] == [
        "weights=./weights/ppyolo_mbv3_small_coco.pdparams", "filename=ppyolo_mbv3_small_coco",
        "--output_dir=./output_inference"]
    cpu, gpu = config.cases  # file order of the --opt list
    assert cpu.service.cwd == "." and cpu.service.argv[-2:] == [
        "--model_dir=./output_inference/ppyolo_mbv3_small_coco", "--opt=op.ppdet.local_service_conf.device_type=0"]
    assert cpu.clients[0].log == "python_client_cpu.log"


def test_paddlevideo_has_one_case_on_its_own_config():
    """No device line: one case, the service's config.yml as it is (a GPU one), no devices forced."""
    config = parsed("PaddleVideo")
    (case,) = config.cases
    assert (case.name, case.device, case.config_edits) == ("gpu", "gpu", {})
    assert case.service.argv == ["recognition_web_service.py", "--config=configs/PP-TSM.yaml", "--name", "PPTSM"]
    assert case.clients[0].argv == ["pipeline_http_client.py", "--input_file=../../data/example.avi"]
    assert config.service_config == "configs/PP-TSM.yaml"


def test_step6_gets_no_name_and_no_url():
    config = parsed("Step6")
    gpu, cpu = config.cases
    assert cpu.service.argv == ["web_service.py", "--config=config.yml", "--opt",
                                "op.imagenet.local_service_conf.devices="]
    assert cpu.clients[0].argv == ["pipeline_http_client.py", "--image_dir=../../images/demo.jpg"]


def test_step6_layout_with_this_projects_scripts_is_the_harness_own():
    """The Step6 layout is also the simplest form of the harness's own configs: which one a config is, the
    web service script says (this project's declares --name)."""
    text = config_of("Step6").read_text().replace("serving_dir:./deploy/serving_python",
                                                  "serving_dir:{}".format(REPO_ROOT / "deploy" / "serving_python"))
    assert isinstance(tipc.parse_text(text, "mine.txt"), tipc.TipcConfig)
    forced = tipc.parse_text(text, "mine.txt", dialect="Step6")
    assert forced.dialect == "Step6"


def test_template_placeholders_and_bare_options():
    config = parsed("Template")
    gpu, cpu = config.cases
    assert gpu.service.argv == ["web_service.py", "op.tipc_example.local_service_conf.devices=0"]
    assert gpu.service.log is None  # the template keeps no service log; the harness names it server.log
    assert cpu.clients[0].log == "server_infer_cpu_pipeline_http_usemkldnn_null_threads_1_batchsize_1.log"


# ---------------------------------------------------------------- mistakes: all at once, each located

def test_a_dialect_config_reports_every_problem_at_once():
    text = config_of("PaddleSeg").read_text().replace("--img_path:", "--img_pth:").replace("serving_dir:", "srving_dir:")
    with pytest.raises(ConfigErrors) as caught:
        tipc.parse_text(text, "seg.txt")
    keys = [(e.key, e.line) for e in caught.value.errors]
    assert ("srving_dir", 10) in keys and ("--img_pth", 15) in keys and ("serving_dir", None) in keys
    assert all(str(e).startswith("seg.txt") for e in caught.value.errors)
    assert "not a key of PaddleSeg configs" in str(caught.value)


def test_a_command_the_shell_cannot_split_is_a_located_error():
    text = config_of("Step6").read_text().replace("web_service:web_service.py --config=config.yml",
                                                  'web_service:web_service.py "--config=config.yml')
    with pytest.raises(ConfigError) as caught:
        tipc.parse_text(text, "step6.txt", dialect="Step6")
    assert (caught.value.line, caught.value.key) == (11, "web_service")
    assert "the shell cannot split" in str(caught.value)


def test_an_unknown_dialect_name_is_refused():
    with pytest.raises(UsageError, match="unknown dialect 'PaddleNLP'"):
        dialects.by_name("PaddleNLP")


# ---------------------------------------------------------------- --list-cases: from the config alone

def test_list_cases_reads_nothing_but_the_configs(tmp_path):
    """Only the config files exist here: no model, no serving folder, no images."""
    names = []
    for dialect in CONFIGS:
        copy = config_of(dialect, tmp_path)
        copy.parent.mkdir(parents=True)
        shutil.copy(str(config_of(dialect)), str(copy))
        names.append(copy)
    options = type("Options", (), {"dialect": None, "repo_root": None, "caller_dir": str(tmp_path)})
    text = "\n".join(list_cases([str(p) for p in names], options))
    assert "PaddleOCR config" in text and "case cpu_usemkldnn_False_threads_6 (cpu)" in text
    assert "python_client_cpu_pipeline_http_usemkldnn_False_threads_6_batchsize_1.log" in text
    assert "service (cwd ./deploy/paddleserving) python classification_web_service.py" in text
    assert text.count("verdict: answers not compared:") == len(CONFIGS)


def test_list_cases_from_the_harness(tmp_path):
    result = subprocess.run(["bash", str(HARNESS), str(config_of("PaddleOCR")), "--list-cases"], cwd=str(tmp_path),
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "case gpu_usetrt_False_precision_fp32 (gpu)" in result.stdout
    assert not (REPO_ROOT / "test_tipc" / "output" / "ch_PP-OCRv2").exists()


# ---------------------------------------------------------------- no silent substitutions

def fresh_repo(dialect, root, ports=None, model=None):
    """A copy of the dialect's stand-in repository under root, with free ports in its config.yml, the model
    (when given) in its model folders and the test inputs its clients send."""
    target = root / dialect
    shutil.copytree(str(DIALECT_REPOS / dialect), str(target))
    http_port, rpc_port = ports or free_ports(2)
    for yml in list(target.rglob("*.yml")) + list(target.rglob("*.yaml")):
        yml.write_text(yml.read_text().replace("{http_port}", str(http_port)).replace("{rpc_port}", str(rpc_port)))
    image = sorted(IMAGES.iterdir())[0]
    for relative in LAYOUT[dialect][2]:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(str(image), str(target / relative))
    for relative in LAYOUT[dialect][1] if model is not None else []:
        if model == "empty":  # enough for a plan, which only looks for the files
            (target / relative).mkdir(parents=True)
            for name in ("inference.pdmodel", "inference.pdiparams"):
                (target / relative / name).write_bytes(b"")
        else:
            shutil.copytree(str(model), str(target / relative))
    return target


def plan_options(**overrides):
    values = dict(http_port=None, rpc_port=None, ready_timeout=None, gpu="off", repo_root=None, seeded_export=False,
                  caller_dir=".")
    values.update(overrides)
    return type("Options", (), values)


def test_a_missing_model_names_the_download_key(tmp_path):
    repo = fresh_repo("PaddleClas", tmp_path)
    config = parsed("PaddleClas", tmp_path)
    with pytest.raises(ConfigError) as caught:
        dialect_plan.plan_dialect(config, plan_options(), "python", "", False, str(tmp_path / "out"))
    message = str(caught.value)
    assert caught.value.key == "--dirname"
    assert str(repo / "deploy/paddleserving/ResNet50_vd_infer") in message
    assert "inference_model_url" in message and "line 4" in message and "--seeded-export" in message


def test_pp_shitus_missing_detector_is_named_by_its_own_dirname_line(tmp_path):
    # PP-ShiTu writes --dirname twice (recognition model, then detector): the detector's error points at the
    # second line, under the key the config really has.
    config_path = tmp_path / "test_tipc" / "shitu.txt"
    config_path.parent.mkdir()
    config_path.write_text(PP_SHITU)
    serving = tmp_path / "deploy" / "paddleserving" / "recognition"
    serving.mkdir(parents=True)
    (serving / "config.yml").write_text("http_port: 18081\nop:\n  rec:\n    local_service_conf:\n      model_config: x\n")
    recognition = tmp_path / "deploy" / "models" / "general_PPLCNet_x2_5_lite_v1.0_infer"
    recognition.mkdir(parents=True)
    for name in ("inference.pdmodel", "inference.pdiparams"):
        (recognition / name).write_bytes(b"")
    with pytest.raises(ConfigError) as caught:
        dialect_plan.plan_dialect(tipc.parse(config_path), plan_options(), "python", "", False, str(tmp_path / "out"))
    assert (caught.value.key, caught.value.line) == ("--dirname", 8)
    assert "picodet_PPLCNet_x2_5_mainbody_lite_v1.0_infer" in str(caught.value)
    assert "det_inference_model_url" in str(caught.value)


def test_seeded_export_only_when_asked_and_only_for_known_models(tmp_path):
    fresh_repo("Step6", tmp_path)
    config = parsed("Step6", tmp_path)  # mobilenet_v3_small: a model tools/export_model.py builds
    planned = dialect_plan.plan_dialect(config, plan_options(seeded_export=True), "python", "", False, "out")
    export = planned["prepare"][0]
    assert export["name"] == "export" and export["argv"][1:3] == ["--model", "mobilenet_v3_small"]
    renamed = config_of("Step6", tmp_path)
    renamed.write_text(renamed.read_text().replace("--model_filename:inference.pdmodel", "--model_filename:model.pdmodel"))
    with pytest.raises(ConfigError, match="export_model.py writes inference.pdmodel and inference.pdiparams"):
        dialect_plan.plan_dialect(tipc.parse(renamed), plan_options(seeded_export=True), "python", "", False, "out")
    fresh_repo("PaddleSeg", tmp_path)
    with pytest.raises(ConfigError, match="not a model tools/export_model.py builds"):
        dialect_plan.plan_dialect(parsed("PaddleSeg", tmp_path), plan_options(seeded_export=True), "python", "",
                                  False, "out")


def test_detection_weights_must_be_local(tmp_path):
    repo = fresh_repo("PaddleDetection", tmp_path)
    config_path = config_of("PaddleDetection", tmp_path)
    config_path.write_text(config_path.read_text().replace("weights:./weights/", "weights:https://example.invalid/"))
    with pytest.raises(ConfigError, match="would download https://example.invalid/"):
        dialect_plan.plan_dialect(tipc.parse(config_path), plan_options(), "python", "", False, "out")
    assert repo.is_dir()


def test_gpu_cases_follow_the_machine_and_the_ports_come_from_config_yml(tmp_path):
    fresh_repo("PaddleSeg", tmp_path, ports=(18555, 18556), model="empty")
    planned = dialect_plan.plan_dialect(parsed("PaddleSeg", tmp_path), plan_options(gpu="auto"), "python", "", False,
                                        "out")
    gpu, cpu = planned["cases"]
    assert gpu["skip_reason"] == matrix.SKIP_NO_GPU and cpu["skip_reason"] is None
    on = dialect_plan.plan_dialect(parsed("PaddleSeg", tmp_path), plan_options(gpu="on"), "python", "", False, "out")
    assert on["cases"][0]["fail_reason"] == matrix.FAIL_NO_GPU
    assert (planned["http_port"], planned["rpc_port"]) == (18555, 18556)
    assert cpu["requested"]["device"] == "cpu" and gpu["requested"]["device"] == "gpu"
    with pytest.raises(UserError, match="takes its ports from its config.yml"):
        dialect_plan.plan_dialect(parsed("PaddleSeg", tmp_path), plan_options(http_port=1), "python", "", False, "o")


# ---------------------------------------------------------------- end to end, every dialect

WRONG_NAME_CLIENT = '''"""A Step6 client that asks for a service name the service does not have: every reply has err_no 10000."""
import os
import sys

sys.path.insert(0, os.environ["TIPC_STANDIN_DIR"])
import standin  # noqa: E402

print(standin.post(standin.load_config("config.yml")["http_port"], "no_such_service", ["../../images/demo.jpg"]))
'''


@pytest.fixture(scope="module")
def dialect_run(tmp_path_factory, small_model):
    """One harness run of every dialect's config (and a Step6 copy whose client gets err_no 10000), from
    inside the first repository (relative paths), with the GPU cases run against the stand-ins."""
    root = tmp_path_factory.mktemp("dialect_repos")
    configs = []
    for dialect in CONFIGS:
        fresh_repo(dialect, root, model=small_model)
        configs.append(config_of(dialect, root))
    broken = fresh_repo("Step6", root / "broken", model=small_model)
    (broken / "deploy/serving_python/pipeline_http_client.py").write_text(WRONG_NAME_CLIENT)
    broken_config = config_of("Step6", root / "broken")
    broken_config.write_text(broken_config.read_text().replace("model_name:mobilenet_v3_small",
                                                               "model_name:mobilenet_v3_small_wrong_service"))
    configs.append(broken_config)
    yml = root / "PaddleClas/deploy/paddleserving/config.yml"
    before = yml.read_bytes()
    output = root / "out"
    # Template's paths are taken from where the user stands: its repository's root.
    args = ["bash", str(HARNESS), *[str(c.relative_to(root / "Template")) if "Template" in str(c) else str(c)
                                    for c in configs], "--output-dir", "../out"]
    result = subprocess.run(args, cwd=str(root / "Template"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=clean_env(TIPC_GPU="1", TIPC_TRT="0", TIPC_STANDIN_DIR=DIALECT_REPOS), text=True,
                            timeout=900)
    return result, output, yml, before


def run_of(dialect_run, model_name):
    result, output, _, _ = dialect_run
    return HarnessRun(result, output, model_name)


MODELS = {"PaddleClas": "ResNet50_vd", "PaddleOCR": "ch_PP-OCRv2", "PaddleSeg": "pp_liteseg_stdc1",
          "PaddleDetection": "ppyolo_mbv3_small_coco", "PaddleVideo": "PP-TSM", "Step6": "mobilenet_v3_small",
          "Template": "tipc_example"}


@pytest.mark.parametrize("dialect", list(CONFIGS))
def test_every_dialect_runs_end_to_end_with_its_coverage_stated(dialect_run, dialect):
    run = run_of(dialect_run, MODELS[dialect])
    results = run.results
    assert results["dialect"] == LAYOUT[dialect][0]
    assert results["coverage"].startswith("answers not compared: ")
    assert [c["status"] for c in results["cases"]] == ["partial"] * len(results["cases"]), results["cases"]
    plan = json.loads((run.run_dir / "plan.json").read_text())
    mine = next(c for c in plan["configs"] if Path(c["run_dir"]) == run.run_dir.resolve())
    for case in results["cases"]:
        assert case["reason"].startswith(results["coverage"]), case["reason"]
        assert re.search(r"HTTP \d+ repl(y|ies) with err_no 0", case["reason"]), case["reason"]
        # every log under the name the repository's script gives it
        planned = next(c for c in mine["cases"] if c["name"] == case["name"])
        for client in planned["clients"]:
            assert (run.run_dir / case["name"] / client["log"]).is_file()
    steps = {step["name"]: step for step in results["steps"]}
    assert steps["reference"]["status"] == "skipped" and steps["reference"]["reason"] == results["coverage"]
    skipped = run.junit.findall(".//testcase/skipped")
    assert skipped and all("answers not compared" in s.get("message", "") for s in skipped)
    run.assert_status_log_agrees()
    assert run.leftovers() == {}


def test_the_whole_dialect_run(dialect_run):
    result, output, yml, before = dialect_run
    # Partial cases do not fail the run; the one whose replies carry err_no 10000 does.
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    broken = run_of(dialect_run, "mobilenet_v3_small_wrong_service")
    for case in broken.results["cases"]:
        assert case["status"] == "failed"
        assert "HTTP replies: 1 of 1 replies failed: err_no 10000" in case["reason"]
    assert yml.read_bytes() == before  # PaddleClas's config.yml: the script's edits undone
    assert not Path(str(yml) + ".tipc-serving-original").exists()
    clas = run_of(dialect_run, "ResNet50_vd")
    server_log = (clas.run_dir / "cpu" / "python_server_cpu.log").read_text()
    assert "device_type=0 devices=''" in server_log  # the edits were in effect while it ran
    assert "mode serving_infer" in result.stdout


# ---------------------------------------------------------------- PaddleClas's config.yml edits, undone

def test_config_yml_edits_last_for_the_case_and_survive_a_killed_harness(tmp_path):
    from tipc_serving.service import config_edit

    yml = tmp_path / "config.yml"
    original = "# comment kept\nhttp_port: 18080\nop:\n  imagenet:\n    local_service_conf:\n      device_type: 1\n" \
               "      devices: \"0\"\n      model_config: x\n"
    yml.write_text(original)
    edits = {"op.imagenet.local_service_conf.device_type": 0, "op.imagenet.local_service_conf.devices": ""}
    with config_edit.edited(yml, edits):
        import yaml
        conf = yaml.safe_load(yml.read_text())["op"]["imagenet"]["local_service_conf"]
        assert (conf["device_type"], conf["devices"], conf["model_config"]) == (0, "", "x")
        assert config_edit.original_of(yml).read_text() == original
    assert yml.read_text() == original and not config_edit.original_of(yml).exists()
    # A harness killed with SIGKILL leaves the edited file and the original beside it: the next case
    # that edits the file puts the original back first.
    config_edit.original_of(yml).write_text(original)
    yml.write_text("edited by a killed run\n")
    with config_edit.edited(yml, edits):
        pass
    assert yml.read_text() == original
    with pytest.raises(Exception, match="cannot make the script's edit"):
        with config_edit.edited(yml, {"op.imagenet.local_service_conf.no_such_key": 1}):
            pass
    assert yml.read_text() == original and not config_edit.original_of(yml).exists()


def test_require_golden_fails_a_dialect_config_whose_answers_are_not_compared(tmp_path, small_model):
    fresh_repo("Step6", tmp_path, model=small_model)
    result = subprocess.run(["bash", str(HARNESS), str(config_of("Step6", tmp_path)), "--require-golden", "--gpu", "off",
                             "--output-dir", str(tmp_path / "out")], cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=600,
                            env=clean_env(TIPC_STANDIN_DIR=DIALECT_REPOS))
    run = HarnessRun(result, tmp_path / "out", "mobilenet_v3_small")
    assert result.returncode == 1, result.stdout[-2000:]
    golden = run.step("golden")
    assert golden["status"] == "failed"
    assert golden["reason"].startswith("golden check required (--require-golden) but skipped: answers not compared")
    assert all(case["status"] in ("not_run", "skipped") for case in run.results["cases"]), run.results["cases"]
    run.assert_status_log_agrees()
