"""What the plan of a PaddlePaddle config checks before anything starts (config/dialect_plan.py): the
model, the test inputs the config names, and the web service's imports, each a one-line error naming the
file, line and key; --seeded-export suggested only where it works."""
import sys

import pytest

from test_tipc_config import STEP6
from tipc_serving.config import dialect_plan, tipc
from tipc_serving.errors import ConfigError

# The Step6 tutorial's layout (models repository), as its config reads, with its model's name to vary.
CONFIG = STEP6.replace("model_name:mobilenet_v3_small", "model_name:{model}")
CONFIG_YML = "http_port: 18080\nop:\n  imagenet:\n    local_service_conf:\n      devices: \"0\"\n"


def step6_repo(tmp_path, model="mobilenet_v3_small", with_model=True, with_images=True, web_service="import json\n"):
    root = tmp_path / "Step6"
    serving = root / "deploy" / "serving_python"
    serving.mkdir(parents=True)
    (serving / "config.yml").write_text(CONFIG_YML)
    (serving / "web_service.py").write_text(web_service)
    if with_model:
        (root / "inference" / "mobilenet_v3_small_infer").mkdir(parents=True)
        for name in ("inference.pdmodel", "inference.pdiparams"):
            (root / "inference" / "mobilenet_v3_small_infer" / name).write_bytes(b"model")
    if with_images:
        (root / "lite_data" / "test").mkdir(parents=True)
    config = root / "test_tipc" / "configs" / "serving_infer_python.txt"
    config.parent.mkdir(parents=True)
    config.write_text(CONFIG.format(model=model))
    return config


def plan(config, tmp_path, **options):
    values = dict(http_port=None, rpc_port=None, ready_timeout=None, gpu="off", repo_root=None, seeded_export=False,
                  caller_dir=".")
    values.update(options)
    return dialect_plan.plan_dialect(tipc.parse(config), type("Options", (), values), sys.executable, "", False,
                                     str(tmp_path / "out"))


def test_a_config_whose_inputs_and_imports_are_there_plans(tmp_path):
    planned = plan(step6_repo(tmp_path), tmp_path)
    assert [case["name"] for case in planned["cases"]] == ["gpu", "cpu"]


def test_a_missing_test_input_is_named_with_its_line_and_key(tmp_path):
    config = step6_repo(tmp_path, with_images=False)
    with pytest.raises(ConfigError) as caught:
        plan(config, tmp_path)
    assert (caught.value.line, caught.value.key) == (14, "--image_dir")
    assert "no {}".format(tmp_path / "Step6" / "lite_data" / "test") in str(caught.value)
    assert "prepare.sh test_tipc/configs/serving_infer_python.txt serving_infer" in str(caught.value)


def test_a_web_service_that_cannot_import_is_named_when_the_plan_is_made(tmp_path):
    config = step6_repo(tmp_path, web_service="import json\nimport tipc_no_such_module\n")
    with pytest.raises(ConfigError) as caught:
        plan(config, tmp_path)
    assert (caught.value.line, caught.value.key) == (11, "web_service")
    assert "`import tipc_no_such_module` fails: ModuleNotFoundError" in str(caught.value)


@pytest.mark.parametrize("model, suggested", [("mobilenet_v3_small", True), ("ResNet50_vd", False)])
def test_seeded_export_is_suggested_only_for_a_model_it_builds(tmp_path, model, suggested):
    config = step6_repo(tmp_path, model=model, with_model=False)
    with pytest.raises(ConfigError) as caught:
        plan(config, tmp_path)
    assert caught.value.key == "--dirname"
    assert ("--seeded-export" in str(caught.value)) == suggested


def test_step6s_seeded_export_feeds_the_name_its_own_export_gives(tmp_path):
    # Step6's tools/export_model.py leaves its InputSpec unnamed (the feed is Sequential's `input`), and its
    # web service feeds {"input": ...}: a seeded model fed `x` answers err_no 5000 (seen on the real tutorial)
    planned = plan(step6_repo(tmp_path, with_model=False), tmp_path, seeded_export=True)
    export = planned["prepare"][0]
    assert export["name"] == "export"
    assert export["argv"][-2:] == ["--input_name", "input"]
