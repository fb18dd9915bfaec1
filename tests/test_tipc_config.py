"""The TIPC config parser: PaddlePaddle's own formats parse unchanged, every mistake is one located line."""
import pytest

from conftest import REPO_ROOT
from tipc_serving.errors import ConfigError, ConfigErrors, UsageError
from tipc_serving.repos import OWN
from tipc_serving.config.tipc import Override, parse, parse_text


# PaddlePaddle's 18-line TIPC template, verbatim (`pipline` is TIPC's spelling)
TEMPLATE = """===========================serving_params===========================
model_name:your_model_name
python:python3.7
trans_model:-m paddle_serving_client.convert
--dirname:./model_infer/
--model_filename:inference.pdmodel
--params_filename:inference.pdiparams
--serving_server:./deploy/serving/serving_server
--serving_client:./deploy/serving/serving_client
serving_dir:your_serving_dir
web_service:web_service.py
op.alexnet.local_service_conf.devices:0
null:null
null:null
null:null
null:null
pipline:pipeline_http_client.py
--img_dir:../../images/demo.jpg
"""

# The "Step6" style, verbatim, with the trailing space after config.yml
STEP6 = """===========================serving_params===========================
model_name:mobilenet_v3_small
python:python3.7
trans_model:-m paddle_serving_client.convert
--dirname:./inference/mobilenet_v3_small_infer/
--model_filename:inference.pdmodel
--params_filename:inference.pdiparams
--serving_server:./deploy/serving_python/serving_server/
--serving_client:./deploy/serving_python/serving_client/
serving_dir:./deploy/serving_python
web_service:web_service.py --config=config.yml 
--opt op.imagenet.local_service_conf.devices:"0"|null
pipline:pipeline_http_client.py
--image_dir:../../lite_data/test/
"""

# The 13-line variant: no op line at all
THIRTEEN = """===========================serving_params===========================
model_name:resnet50
python:python3.7
trans_model:-m paddle_serving_client.convert
--dirname:./inference/resnet50_infer/
--model_filename:inference.pdmodel
--params_filename:inference.pdiparams
--serving_server:./deploy/serving_python/serving_server/
--serving_client:./deploy/serving_python/serving_client/
serving_dir:./deploy/serving_python
web_service:web_service.py
pipline:pipeline_http_client.py
--image_dir:../../images/
"""


def own(text, path="<config>"):
    """The text read as the harness's own config: these samples keep PaddlePaddle's layouts, which would
    otherwise read as their dialects (tests/test_dialects.py)."""
    return parse_text(text, path, dialect=OWN)


def problems(error):
    """The ConfigErrors of a parse: one, or several reported at once."""
    return error.errors if isinstance(error, ConfigErrors) else [error]


def replace_line(text, old, new):
    """text with the line starting `old` replaced by `new` (None: removed); the line must exist."""
    lines = text.splitlines()
    matches = [i for i, line in enumerate(lines) if line.startswith(old)]
    assert len(matches) == 1, old
    lines[matches[0]:matches[0] + 1] = [] if new is None else [new]
    return "\n".join(lines) + "\n"


def test_template_parses_every_field():
    config = own(TEMPLATE, "template.txt")
    assert config.path == "template.txt"
    assert config.model_name == "your_model_name"
    assert config.python == "python3.7"
    assert config.trans_model == ["-m", "paddle_serving_client.convert"]
    assert config.convert == {"--dirname": "./model_infer/", "--model_filename": "inference.pdmodel",
                              "--params_filename": "inference.pdiparams",
                              "--serving_server": "./deploy/serving/serving_server",
                              "--serving_client": "./deploy/serving/serving_client"}
    assert list(config.convert) == ["--dirname", "--model_filename", "--params_filename",
                                    "--serving_server", "--serving_client"]
    assert config.serving_dir == "your_serving_dir"
    assert (config.web_service_script, config.web_service_args) == ("web_service.py", [])
    assert (config.client_key, config.client_script) == ("pipline", "pipeline_http_client.py")
    assert (config.client_image_flag, config.client_image_path) == ("--img_dir", "../../images/demo.jpg")
    assert config.rpc_client_script is None
    assert (config.atol, config.rtol, config.ready_timeout) == (None, None, None)
    assert config.overrides == [Override("op.alexnet.local_service_conf.devices", ["0"], 12, True, False)]
    assert config.op_name == "alexnet"
    assert config.lines["model_name"] == 2
    assert config.lines["op.alexnet.local_service_conf.devices"] == 12
    assert config.lines["pipline"] == 17
    assert config.lines["--img_dir"] == 18
    assert "null" not in config.lines


def test_step6_parses_every_field():
    config = own(STEP6, "step6.txt")
    assert config.model_name == "mobilenet_v3_small"
    assert config.python == "python3.7"
    assert config.trans_model == ["-m", "paddle_serving_client.convert"]
    assert config.convert == {"--dirname": "./inference/mobilenet_v3_small_infer/",
                              "--model_filename": "inference.pdmodel",
                              "--params_filename": "inference.pdiparams",
                              "--serving_server": "./deploy/serving_python/serving_server/",
                              "--serving_client": "./deploy/serving_python/serving_client/"}
    assert config.serving_dir == "./deploy/serving_python"
    assert config.web_service_script == "web_service.py"
    assert config.web_service_args == ["--config=config.yml"]
    assert (config.client_key, config.client_script) == ("pipline", "pipeline_http_client.py")
    assert (config.client_image_flag, config.client_image_path) == ("--image_dir", "../../lite_data/test/")
    assert config.rpc_client_script is None
    assert config.overrides == [Override("op.imagenet.local_service_conf.devices", ['"0"', None], 12, True, True)]
    assert config.op_name == "imagenet"
    assert config.lines["web_service"] == 11
    assert config.lines["--image_dir"] == 14


def test_thirteen_line_variant_has_no_overrides():
    config = own(THIRTEEN, "v13.txt")
    assert config.model_name == "resnet50"
    assert config.overrides == []
    assert config.op_name is None
    assert len(config.lines) == 12
    assert config.client_image_path == "../../images/"


def test_project_config_parses():
    config = parse(REPO_ROOT / "configs" / "alexnet_serving.txt")
    assert config.model_name == "alexnet"
    assert config.python == "python3.9"
    assert config.convert["--dirname"] == "./inference/alexnet_infer/"
    assert config.convert["--serving_server"] == "./deploy/serving_python/alexnet_serving_server/"
    assert config.convert["--serving_client"] == "./deploy/serving_python/alexnet_serving_client/"
    assert config.rpc_client_script == "pipeline_rpc_client.py"
    assert (config.client_image_flag, config.client_image_path) == ("--image_dir", "../../images/")
    assert config.op_name == "alexnet"
    assert [o.leaf for o in config.overrides] == ["devices", "use_mkldnn", "thread_num", "use_trt", "precision"]
    assert all(o.is_matrix and o.opt_prefix for o in config.overrides)


def test_value_splits_at_first_colon_only():
    text = replace_line(STEP6, "--image_dir:", "--image_dir:http://127.0.0.1:8080/a:b.jpg")
    text += "--opt op.imagenet.client_config:grpc://host:9292\n"
    config = own(text)
    assert config.client_image_path == "http://127.0.0.1:8080/a:b.jpg"
    assert config.fixed_overrides == [Override("op.imagenet.client_config", ["grpc://host:9292"], 15, False, True)]


def test_comments_blank_lines_and_moved_lines():
    lines = STEP6.splitlines()
    text = "\n\n" + lines[0] + "\n# a comment: with a colon\n\n" + "\n".join(reversed(lines[1:])) + "\n   # indented\n"
    config = own(text)
    assert config.model_name == "mobilenet_v3_small"
    assert config.lines["model_name"] == 3 + 2 + len(lines) - 1
    assert config.lines["--image_dir"] == 6


def test_crlf_and_bom_accepted(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(b"\xef\xbb\xbf" + STEP6.replace("\n", "\r\n").encode("utf-8"))
    config = parse(path, dialect=OWN)
    assert config.model_name == "mobilenet_v3_small"
    assert config.web_service_args == ["--config=config.yml"]
    assert config.client_image_path == "../../lite_data/test/"
    assert config.overrides[0].values == ['"0"', None]
    assert config.lines["--image_dir"] == 14


def test_optional_extensions_and_aliases():
    text = replace_line(STEP6, "pipline:", "pipeline:pipeline_http_client.py")
    text = replace_line(text, "--image_dir:", "--img-path:./images/")
    text += "pipeline_rpc:pipeline_rpc_client.py\natol:1e-5\nrtol:0.001\nready_timeout:120\n"
    text += "op.imagenet.concurrency:2\n--opt http_port:18081\n--opt op.imagenet.topk:null\n"
    config = own(text)
    assert config.client_key == "pipeline"
    assert (config.client_image_flag, config.client_image_path) == ("--img-path", "./images/")
    assert config.rpc_client_script == "pipeline_rpc_client.py"
    assert (config.atol, config.rtol, config.ready_timeout) == (1e-5, 0.001, 120.0)
    assert [(o.key, o.values, o.opt_prefix) for o in config.fixed_overrides] == [
        ("op.imagenet.concurrency", ["2"], False), ("http_port", ["18081"], True), ("op.imagenet.topk", [None], True)]


def test_optional_convert_flag_null_is_left_out():
    config = own(replace_line(STEP6, "--params_filename:", "--params_filename:null"))
    assert "--params_filename" not in config.convert
    assert config.lines["--params_filename"] == 7


MALFORMED_TEXT = [
    # (what, text, line, key or None, part of the problem)
    ("header missing", STEP6.split("\n", 1)[1], 1, None, "header"),
    ("wrong header", "=====train_params=====\n" + STEP6.split("\n", 1)[1], 1, None, "header"),
    ("required key missing", replace_line(STEP6, "serving_dir:", None), None, "serving_dir", "missing"),
    ("image flag missing", replace_line(STEP6, "--image_dir:", None), None, "image flag", "missing"),
    ("unknown key", replace_line(STEP6, "serving_dir:", "serving_dri:./deploy"), 10, "serving_dri", "unknown key"),
    ("duplicate key", STEP6 + "model_name:other\n", 15, "model_name", "line 2"),
    ("duplicate alias", STEP6 + "pipeline:x.py\n", 15, "pipeline", "line 13"),
    ("two image flags", STEP6 + "--img_dir:x\n", 15, "--img_dir", "line 14"),
    ("duplicate override", STEP6 + "op.imagenet.local_service_conf.devices:null\n", 15,
     "op.imagenet.local_service_conf.devices", "line 12"),
    ("line without colon", replace_line(STEP6, "serving_dir:", "serving_dir ./deploy"), 10, None, "no ':'"),
    ("empty key", STEP6 + ":value\n", 15, None, "empty key"),
    ("required key null", replace_line(STEP6, "--dirname:", "--dirname:null"), 5, "--dirname", "null"),
    ("required key empty", replace_line(STEP6, "model_name:", "model_name:   "), 2, "model_name", "empty"),
    ("use_mkldnn maybe", STEP6 + "--opt op.imagenet.local_service_conf.use_mkldnn:True|maybe\n", 15,
     "--opt op.imagenet.local_service_conf.use_mkldnn", "'maybe'"),
    ("thread_num 0", STEP6 + "op.imagenet.local_service_conf.thread_num:1|0\n", 15,
     "op.imagenet.local_service_conf.thread_num", "positive integer"),
    ("precision fp64", STEP6 + "op.imagenet.local_service_conf.precision:fp32|fp64\n", 15,
     "op.imagenet.local_service_conf.precision", "fp64"),
    ("devices gpu0", replace_line(STEP6, "--opt op.imagenet.local_service_conf.devices:",
                                  '--opt op.imagenet.local_service_conf.devices:gpu0|null'), 12,
     "--opt op.imagenet.local_service_conf.devices", "gpu0"),
    ("two GPU settings", replace_line(STEP6, "--opt op.imagenet.local_service_conf.devices:",
                                      '--opt op.imagenet.local_service_conf.devices:"0"|"1"'), 12,
     "--opt op.imagenet.local_service_conf.devices", "repeated"),
    ("repeated matrix value", STEP6 + "op.imagenet.local_service_conf.thread_num:1|1\n", 15,
     "op.imagenet.local_service_conf.thread_num", "repeated"),
    ("empty matrix value", STEP6 + "op.imagenet.local_service_conf.use_trt:True||False\n", 15,
     "op.imagenet.local_service_conf.use_trt", "empty value"),
    ("matrix key outside local_service_conf", STEP6 + "--opt precision:fp16\n", 15, "--opt precision",
     "op.<name>.local_service_conf.precision"),
    ("| in a fixed override", STEP6 + "--opt op.imagenet.concurrency:1|2\n", 15, "--opt op.imagenet.concurrency",
     "one value"),
    ("| in a plain key", replace_line(STEP6, "python:", "python:python3.7|python3.9"), 3, "python", "one value"),
    ("two op names", STEP6 + "op.alexnet.concurrency:2\n", 15, "op.alexnet.concurrency", "line 12"),
    ("--opt without a key", STEP6 + "--opt :1\n", 15, "--opt", "empty option name"),
    ("op key too short", STEP6 + "op.imagenet:1\n", 15, "op.imagenet", "op.<name>.<option>"),
    ("null placeholder with a value", STEP6 + "null:1\n", 15, "null", "null:null"),
    ("atol not a number", STEP6 + "atol:tiny\n", 15, "atol", "number > 0"),
    ("rtol zero", STEP6 + "rtol:0\n", 15, "rtol", "number > 0"),
    ("unbalanced quote", replace_line(STEP6, "web_service:", 'web_service:web_service.py "--config'), 11,
     "web_service", "cannot split"),
]


@pytest.mark.parametrize("what, text, line, key, problem", MALFORMED_TEXT, ids=[m[0] for m in MALFORMED_TEXT])
def test_malformed_text_is_a_located_error(what, text, line, key, problem):
    """The mistake is the first error reported (a missing key it causes, such as a misspelt required one,
    comes after it): file, line, key and the problem on one line."""
    with pytest.raises(UsageError) as caught:
        own(text, "configs/bad.txt")
    assert caught.value.exit_code == 2
    error = problems(caught.value)[0]
    assert (error.line, error.key) == (line, key)
    message = str(error)
    assert "\n" not in message
    where = "configs/bad.txt" if line is None else "configs/bad.txt:{}".format(line)
    assert message.startswith(where + ":")
    if key is not None:
        assert "key '{}':".format(key) in message
    assert problem in message


def test_unknown_key_suggests_and_lists_known_keys():
    with pytest.raises(UsageError) as caught:
        own(replace_line(STEP6, "--image_dir:", "--imge_dir:x"), "c.txt")
    unknown, missing = problems(caught.value)
    assert "did you mean '--image_dir'" in str(unknown)
    assert "model_name" in str(unknown) and "pipeline_rpc" in str(unknown)
    assert (missing.key, missing.line) == ("image flag", None)


def test_every_mistake_is_reported_at_once():
    text = replace_line(STEP6, "python:", "python:a|b")
    text = replace_line(text, "serving_dir:", "servng_dir:./deploy")
    text += "op.imagenet.local_service_conf.thread_num:0\natol:tiny\n"
    with pytest.raises(ConfigErrors) as caught:
        own(text, "c.txt")
    found = [(e.line, e.key) for e in caught.value.errors]
    assert found == [(3, "python"), (10, "servng_dir"), (15, "op.imagenet.local_service_conf.thread_num"),
                     (16, "atol"), (None, "serving_dir")]
    assert str(caught.value).count("\n") == 4
    assert all(line.startswith("c.txt") for line in str(caught.value).splitlines())


def test_a_key_of_another_dialect_is_named_so():
    """A PaddleSeg key in a config that reads as the harness's own is not called unknown (no misleading
    did-you-mean): the message names its dialect and why this file is read as the harness's own."""
    with pytest.raises(ConfigError) as caught:
        own(replace_line(STEP6, "pipline:", "pipline:pipeline_http_client.py\n--input_name:x"), "c.txt")
    assert caught.value.key == "--input_name"
    assert "did you mean" not in str(caught.value)
    assert "a key of PaddleSeg configs" in str(caught.value)


def test_inline_comments():
    """' #' starts a comment, as does '#' at the start of a line; a '#' inside a word is kept."""
    text = replace_line(STEP6, "--image_dir:", "--image_dir:../../lite_data/test/   # the images\t")
    text = replace_line(text, "model_name:", "model_name:mobilenet_v3_small\t# CPU only")
    text = replace_line(text, "--dirname:", "--dirname:./inference/a#b/")
    config = own(text + "  # an indented comment line\n")
    assert config.client_image_path == "../../lite_data/test/"
    assert config.model_name == "mobilenet_v3_small"
    assert config.convert["--dirname"] == "./inference/a#b/"


def write(path, data):
    path.write_bytes(data)
    return path


MALFORMED_FILES = [
    # (what, make(tmp_path) -> path, line, part of the problem)
    ("missing file", lambda tmp: tmp / "absent.txt", None, "not found"),
    ("directory", lambda tmp: tmp, None, "directory"),
    ("empty file", lambda tmp: write(tmp / "empty.txt", b""), None, "empty"),
    ("blank file", lambda tmp: write(tmp / "blank.txt", b"\n  \r\n\t\n"), None, "empty"),
    ("non-UTF-8", lambda tmp: write(tmp / "latin1.txt", STEP6.replace("lite_data", "d\xe9mo").encode("latin-1")),
     14, "UTF-8"),
]


@pytest.mark.parametrize("what, make, line, problem", MALFORMED_FILES, ids=[m[0] for m in MALFORMED_FILES])
def test_unreadable_file_is_one_error(tmp_path, what, make, line, problem):
    path = make(tmp_path)
    with pytest.raises(ConfigError) as caught:
        parse(path)
    error = caught.value
    assert error.exit_code == 2
    assert (error.line, error.key) == (line, None)
    where = str(path) if line is None else "{}:{}".format(path, line)
    assert str(error).startswith(where + ":")
    assert problem in str(error)
