"""The case matrix (TIPC's CPU/GPU rules), the machine probes and sharding."""
import pytest

from conftest import REPO_ROOT
from test_tipc_config import STEP6, TEMPLATE, THIRTEEN, own, replace_line
from tipc_serving.config import machine, matrix
from tipc_serving.config.shard import parse_shard, shard
from tipc_serving.errors import ConfigError, UserError
from tipc_serving.config.tipc import parse

CONF = "op.alexnet.local_service_conf."
CPU_NAMES = ["cpu_usemkldnn_True_threads_2", "cpu_usemkldnn_True_threads_1",
             "cpu_usemkldnn_False_threads_2", "cpu_usemkldnn_False_threads_1"]  # the config lists True|False, 2|1
GPU_NAMES = ["gpu_usetrt_False_precision_fp32", "gpu_usetrt_True_precision_fp32", "gpu_usetrt_True_precision_fp16"]


def alexnet_cases(gpu=True, trt=True):
    return matrix.expand(parse(REPO_ROOT / "configs" / "alexnet_serving.txt"), gpu_available=gpu, trt_available=trt)


def by_name(cases):
    return {case.name: case for case in cases}


def test_alexnet_yields_four_cpu_and_three_gpu_cases():
    cases = alexnet_cases()
    assert [c.name for c in cases] == GPU_NAMES + CPU_NAMES  # file order: devices "0"|null
    assert [c.device for c in cases] == ["gpu"] * 3 + ["cpu"] * 4
    assert all(c.skip_reason is None and c.model_name == "alexnet" for c in cases)


def test_alexnet_cpu_opts():
    case = by_name(alexnet_cases())["cpu_usemkldnn_True_threads_2"]
    # oneDNN only takes effect with IR optimisation, so the case asks for both
    assert case.opts == [CONF + 'devices=""', CONF + "use_mkldnn=True", CONF + "thread_num=2", CONF + "ir_optim=True",
                         CONF + "device_type=0", CONF + "precision=fp32"]
    assert case.settings == {"devices": "", "use_mkldnn": "True", "thread_num": "2"}
    assert case.precision == "fp32"


def test_alexnet_gpu_opts():
    cases = by_name(alexnet_cases())
    assert cases["gpu_usetrt_False_precision_fp32"].opts == [
        CONF + 'devices="0"', CONF + "device_type=1", CONF + "precision=fp32"]
    fp16 = cases["gpu_usetrt_True_precision_fp16"]
    # the TensorRT engine is built by an IR pass, so the case asks for IR optimisation too
    assert fp16.opts == [CONF + 'devices="0"', CONF + "ir_optim=True", CONF + "device_type=2", CONF + "precision=fp16"]
    assert fp16.settings == {"devices": "0", "use_trt": "True", "precision": "fp16"}
    assert fp16.precision == "fp16"
    assert "gpu_usetrt_False_precision_fp16" not in cases  # TIPC: fp16 only with TensorRT, not a case


def test_no_gpu_skips_only_gpu_cases():
    cases = alexnet_cases(gpu=False, trt=True)
    assert len(cases) == 7
    assert {c.name: c.skip_reason for c in cases if c.device == "gpu"} == dict.fromkeys(GPU_NAMES, "skipped: no GPU")
    assert all(c.skip_reason is None for c in cases if c.device == "cpu")


def test_no_tensorrt_skips_only_trt_cases():
    reasons = {c.name: c.skip_reason for c in alexnet_cases(gpu=True, trt=False)}
    assert reasons == {**dict.fromkeys(CPU_NAMES), "gpu_usetrt_False_precision_fp32": None,
                       "gpu_usetrt_True_precision_fp32": "skipped: TensorRT not available",
                       "gpu_usetrt_True_precision_fp16": "skipped: TensorRT not available"}


def test_template_devices_zero_is_one_gpu_case():
    cases = matrix.expand(own(TEMPLATE), gpu_available=True, trt_available=True)
    assert [(c.name, c.device, c.opts) for c in cases] == [
        ("gpu_usetrt_False_precision_fp32", "gpu", [CONF + 'devices="0"', CONF + "device_type=1",
                                                    CONF + "precision=fp32"])]


def test_absent_devices_is_cpu_only_with_defaults():
    text = STEP6.replace("--opt op.imagenet.local_service_conf.devices:\"0\"|null",
                         "--opt op.imagenet.local_service_conf.use_trt:True")
    cases = matrix.expand(own(text), gpu_available=True, trt_available=True)
    assert [c.name for c in cases] == ["cpu_usemkldnn_False_threads_default"]
    prefix = "op.imagenet.local_service_conf."
    assert cases[0].opts == [prefix + 'devices=""', prefix + "use_mkldnn=False", prefix + "device_type=0",
                             prefix + "precision=fp32"]


def test_no_op_line_is_one_cpu_case_without_service_opts():
    cases = matrix.expand(own(THIRTEEN + "--opt http_port:18081\n"), gpu_available=True, trt_available=True)
    assert [(c.name, c.opts) for c in cases] == [("cpu_usemkldnn_False_threads_default", ["http_port=18081"])]
    named = matrix.expand(own(THIRTEEN), gpu_available=True, trt_available=True, op_name="resnet")
    prefix = "op.resnet.local_service_conf."
    assert named[0].opts == [prefix + 'devices=""', prefix + "use_mkldnn=False", prefix + "device_type=0",
                             prefix + "precision=fp32"]


def test_fixed_overrides_follow_every_case():
    text = replace_line(STEP6, "pipline:", "pipline:pipeline_http_client.py\n--opt op.imagenet.concurrency:2\n"
                                           "--opt http_port:18081\n--opt op.imagenet.topk:null")
    cases = matrix.expand(own(text), gpu_available=False, trt_available=False)
    assert [c.name for c in cases] == ["gpu_usetrt_False_precision_fp32", "cpu_usemkldnn_False_threads_default"]
    assert all(c.opts[-2:] == ["op.imagenet.concurrency=2", "http_port=18081"] for c in cases)


def test_lowercase_booleans_and_quoted_values_are_normalised():
    text = STEP6 + 'op.imagenet.local_service_conf.use_mkldnn:true\nop.imagenet.local_service_conf.thread_num:"4"\n'
    cpu = [c for c in matrix.expand(own(text), True, True) if c.device == "cpu"]
    assert [c.name for c in cpu] == ["cpu_usemkldnn_True_threads_4"]
    assert "op.imagenet.local_service_conf.thread_num=4" in cpu[0].opts


def test_gpu_without_any_runnable_precision_is_an_error():
    text = STEP6 + "op.imagenet.local_service_conf.precision:fp16\n"
    with pytest.raises(ConfigError) as caught:
        matrix.expand(own(text, "c.txt"), True, True)
    assert caught.value.line == 15 and "use_trt True" in str(caught.value)


@pytest.mark.parametrize("value, expected", [("1", True), ("0", False)])
def test_env_overrides_machine_probes(monkeypatch, value, expected):
    monkeypatch.setenv("TIPC_GPU", value)
    monkeypatch.setenv("TIPC_TRT", value)
    assert machine.gpu_available() is expected
    assert machine.trt_available() is expected


def test_hidden_cuda_devices_mean_no_gpu(monkeypatch):
    monkeypatch.delenv("TIPC_GPU", raising=False)
    for hidden in ("", "-1"):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
        assert machine.gpu_available() is False


def test_bad_env_flag_is_a_user_error(monkeypatch):
    monkeypatch.setenv("TIPC_GPU", "yes")
    with pytest.raises(UserError, match="TIPC_GPU"):
        machine.gpu_available()


# --- sharding ------------------------------------------------------------------------------------

def two_configs(gpu):
    """~20 cases from two configs: alexnet (7) and a second model with a bigger CPU matrix (14)."""
    second = (STEP6 + "op.imagenet.local_service_conf.thread_num:1|2|4|8|null|16\n"
              "op.imagenet.local_service_conf.use_mkldnn:False|True\n")
    return [("configs/alexnet_serving.txt", alexnet_cases(gpu=gpu, trt=gpu)),
            ("configs/mobilenet.txt", matrix.expand(own(second), gpu_available=gpu, trt_available=gpu))]


def assignment(groups, count):
    """{(config_id, case name): shard index} over all shards."""
    return {(config_id, case.name): index for index in range(1, count + 1)
            for config_id, cases in shard(groups, index, count) for case in cases}


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_shards_cover_every_case_once_and_balance(count):
    groups = two_configs(gpu=True)
    everything = sorted((config_id, case.name) for config_id, cases in groups for case in cases)
    assert len(everything) == 20
    dealt = []
    sizes = []
    for index in range(1, count + 1):
        part = shard(groups, index, count)
        assert [config_id for config_id, _ in part] == [config_id for config_id, _ in groups]
        names = [(config_id, case.name) for config_id, cases in part for case in cases]
        dealt += names
        sizes.append(len(names))
    assert sorted(dealt) == everything
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("count", [2, 3, 5])
def test_shards_are_deterministic_and_ignore_gpu(count):
    first = assignment(two_configs(gpu=True), count)
    assert assignment(two_configs(gpu=True), count) == first
    assert assignment(two_configs(gpu=False), count) == first
    assert assignment(list(reversed(two_configs(gpu=False))), count) == first


def test_shard_keeps_each_configs_case_order():
    groups = two_configs(gpu=True)
    for config_id, cases in shard(groups, 1, 2):
        original = [c.name for c in dict(groups)[config_id]]
        assert [c.name for c in cases] == [name for name in original if name in {c.name for c in cases}]


@pytest.mark.parametrize("text, expected", [("2/3", (2, 3)), ("1/1", (1, 1)), (" 3 / 3 ", (3, 3))])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text, problem", [("0/3", "between 1 and 3"), ("4/3", "between 1 and 3"),
                                           ("x", "expected I/N"), ("1/0", "at least 1"), ("-1/3", "expected I/N"),
                                           ("", "expected I/N")])
def test_parse_shard_errors(text, problem):
    with pytest.raises(UserError) as caught:
        parse_shard(text)
    assert problem in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.exit_code == 1


# --- the table -----------------------------------------------------------------------------------

def test_a_new_dimension_is_one_row(monkeypatch):
    """A dimension added to the table is parsed, named, multiplied and turned into service options."""
    batch = matrix.Dimension("batch_size", matrix.parse_threads, 1, "cpu", "batchsize",
                             options=lambda size: (("batch_size", size),))
    monkeypatch.setattr(matrix, "DIMENSIONS", matrix.DIMENSIONS + (batch,))
    text = STEP6 + "op.imagenet.local_service_conf.thread_num:1|2\nop.imagenet.local_service_conf.batch_size:1|8\n"
    cases = [c for c in matrix.expand(own(text), False, False) if c.device == "cpu"]
    assert [c.name for c in cases] == ["cpu_usemkldnn_False_threads_1_batchsize_1", "cpu_usemkldnn_False_threads_1_batchsize_8",
                                       "cpu_usemkldnn_False_threads_2_batchsize_1", "cpu_usemkldnn_False_threads_2_batchsize_8"]
    assert cases[1].settings == {"devices": "", "use_mkldnn": "False", "thread_num": "1", "batch_size": "8"}
    assert cases[1].opts[-1] == "op.imagenet.local_service_conf.batch_size=8"
    with pytest.raises(ConfigError, match="expected a positive integer"):
        own(STEP6 + "op.imagenet.local_service_conf.batch_size:1|big\n")


def test_gpu_options_of_every_dimension_follow_the_table_order():
    """The --opt list keeps one order whatever the table's: devices, the dimensions' options, then others."""
    cases = {c.name: c for c in alexnet_cases()}
    leaves = [o.split("=", 1)[0].rsplit(".", 1)[-1] for o in cases["cpu_usemkldnn_True_threads_1"].opts]
    assert leaves == ["devices", "use_mkldnn", "thread_num", "ir_optim", "device_type", "precision"]
    leaves = [o.split("=", 1)[0].rsplit(".", 1)[-1] for o in cases["cpu_usemkldnn_False_threads_1"].opts]
    assert leaves == ["devices", "use_mkldnn", "thread_num", "device_type", "precision"]
