"""The edits PaddlePaddle's scripts make with `sed -i` before their cases (tipc_serving/repos/, made and
undone by service/config_edit.py): the same text as GNU sed gives, made for the case, undone byte for byte,
and restored by the next run after a SIGKILL."""
import shutil
import subprocess

import pytest

from tipc_serving import repos
from tipc_serving.config import dialect_plan, tipc
from tipc_serving.errors import UserError
from tipc_serving.service import config_edit

# A converted prototxt as paddle_serving_client.convert writes it: two fetch variables, to see that the
# script's range renames every one of them.
PROTOTXT = """feed_var {
  name: "x"
  alias_name: "x"
  is_lod_tensor: false
  feed_type: 1
  shape: 3
}
fetch_var {
  name: "softmax_1.tmp_0"
  alias_name: "softmax_1.tmp_0"
  is_lod_tensor: false
  fetch_type: 1
  shape: 1000
}
fetch_var {
  name: "argmax_0.tmp_0"
  alias_name: "argmax_0.tmp_0"
  is_lod_tensor: false
  fetch_type: 0
  shape: 1
}
"""
# PaddleClas's web service's shape: the range runs from `def preprocess` to the line with `input_imgs}`.
WEB_SERVICE = """class ImagenetOp(Op):
    def init_op(self):
        self.seq = None

    def preprocess(self, input_dicts, data_id, log_id):
        (_, input_dict), = input_dicts.items()
        input_imgs = np.concatenate(imgs, axis=0)
        return {"inputs": input_imgs}, False, None, ""

    def postprocess(self, input_dicts, fetch_dict, data_id, log_id):
        return {"inputs": input_imgs}
"""


def gnu_sed(expression, text, tmp_path):
    path = tmp_path / "sed_input"
    path.write_text(text)
    subprocess.run(["sed", "-i", expression, str(path)], check=True)
    return path.read_text()


@pytest.mark.skipif(shutil.which("sed") is None, reason="GNU sed is not installed")
@pytest.mark.parametrize("expression, args, text", [
    ('/fetch_var/,/is_lod_tensor/s/alias_name: .*/alias_name: "prediction"/',
     ("fetch_var", "is_lod_tensor", r"alias_name: .*", 'alias_name: "prediction"'), PROTOTXT),
    ('/preprocess/,/input_imgs}/s/{.*: input_imgs}/{"x": input_imgs}/',
     ("preprocess", r"input_imgs}", r"{.*: input_imgs}", '{"x": input_imgs}'), WEB_SERVICE),
    # a range that never closes runs to the end of the file, as sed's does
    ('/fetch_var/,/no_such_line/s/alias_name: .*/alias_name: "y"/',
     ("fetch_var", "no_such_line", r"alias_name: .*", 'alias_name: "y"'), PROTOTXT),
])
def test_the_edit_gives_what_gnu_sed_gives(expression, args, text, tmp_path):
    edited, changed = config_edit.sed_range_substitute(text, *args)
    assert edited == gnu_sed(expression, text, tmp_path)
    assert changed > 0


def test_the_feed_name_is_read_as_the_script_reads_it(tmp_path):
    prototxt = tmp_path / "serving_server_conf.prototxt"
    prototxt.write_text(PROTOTXT)
    assert config_edit.feed_name(prototxt) == '"x"'


def edits_of_paddleclas(tmp_path):
    """The PaddleClas config's file edits, planned, over a repository with its converted model."""
    root = tmp_path / "PaddleClas"
    serving = root / "deploy" / "paddleserving"
    for folder, name in (("ResNet50_vd_serving", "serving_server_conf.prototxt"),
                         ("ResNet50_vd_client", "serving_client_conf.prototxt")):
        (serving / folder).mkdir(parents=True)
        (serving / folder / name).write_text(PROTOTXT)
    (serving / "classification_web_service.py").write_text(WEB_SERVICE)
    config = root / "test_tipc" / "configs" / "ResNet" / "serving.txt"
    config.parent.mkdir(parents=True)
    config.write_text("\n".join([
        "===========================serving_params===========================", "model_name:ResNet50_vd",
        "python:python3.7", "inference_model_url:https://example.invalid/ResNet50_vd_infer.tar",
        "trans_model:-m paddle_serving_client.convert", "--dirname:./deploy/paddleserving/ResNet50_vd_infer/",
        "--model_filename:inference.pdmodel", "--params_filename:inference.pdiparams",
        "--serving_server:./deploy/paddleserving/ResNet50_vd_serving/",
        "--serving_client:./deploy/paddleserving/ResNet50_vd_client/", "serving_dir:./deploy/paddleserving",
        "web_service:classification_web_service.py", "--use_gpu:0|null", "pipline:pipeline_http_client.py", ""]))
    parsed = tipc.parse(config)
    assert parsed.dialect == "PaddleClas"
    case = parsed.cases[-1]
    return serving, [dialect_plan._file_edit(edit, root) for edit in case.file_edits]


def test_paddleclas_edits_are_made_for_the_case_and_undone_byte_for_byte(tmp_path):
    serving, edits = edits_of_paddleclas(tmp_path)
    files = [serving / "ResNet50_vd_serving" / "serving_server_conf.prototxt",
             serving / "ResNet50_vd_client" / "serving_client_conf.prototxt", serving / "classification_web_service.py"]
    assert [e["path"] for e in edits] == [str(f) for f in files]
    before = [f.read_bytes() for f in files]
    with config_edit.edited_files(edits):
        server, client, web = (f.read_text() for f in files)
        assert server.count('alias_name: "prediction"') == 2 and 'alias_name: "x"' in server
        assert client.count('alias_name: "prediction"') == 2
        # the feed key becomes the model's feed name; the postprocess line outside the range stays
        assert '        return {"x": input_imgs}, False, None, ""' in web
        assert '        return {"inputs": input_imgs}\n' in web
        assert all(config_edit.original_of(f).is_file() for f in files)
    assert [f.read_bytes() for f in files] == before
    assert not any(config_edit.original_of(f).exists() for f in files)


def test_a_file_the_edit_needs_is_missing_nothing_is_left_edited(tmp_path):
    serving, edits = edits_of_paddleclas(tmp_path)
    web = serving / "classification_web_service.py"
    before = web.read_bytes()
    (serving / "ResNet50_vd_client" / "serving_client_conf.prototxt").unlink()
    with pytest.raises(UserError, match="serving_client_conf.prototxt does not exist"):
        with config_edit.edited_files(edits):
            pass
    assert (serving / "ResNet50_vd_serving" / "serving_server_conf.prototxt").read_text() == PROTOTXT
    assert web.read_bytes() == before


def test_the_original_a_killed_run_left_is_restored_first(tmp_path):
    serving, edits = edits_of_paddleclas(tmp_path)
    web = serving / "classification_web_service.py"
    # a run killed with SIGKILL during its case: the edited file, and the original beside it
    config_edit.original_of(web).write_text(WEB_SERVICE)
    web.write_text(WEB_SERVICE.replace('"inputs"', '"stale"'))
    with config_edit.edited_files(edits):
        assert '"stale"' not in web.read_text()
    assert web.read_text() == WEB_SERVICE


def test_paddlevideo_renames_its_fetch_alias_outputs():
    video = tipc.parse_text("\n".join([
        "===========================serving_params===========================", "model_name:PP-TSM",
        "python:python3.7", "trans_model:-m paddle_serving_client.convert", "--dirname:./inference/ppTSM/",
        "--model_filename:ppTSM.pdmodel", "--params_filename:ppTSM.pdiparams",
        "--serving_server:./deploy/python_serving/ppTSM_serving_server/",
        "--serving_client:./deploy/python_serving/ppTSM_serving_client/", "serving_dir:./deploy/python_serving",
        "web_service:recognition_web_service.py --config=configs/PP-TSM.yaml", "pipline:pipeline_http_client.py",
        "--input_file:../../data/example.avi", ""]), "video.txt")
    assert video.dialect == repos.PADDLEVIDEO.name
    edits = video.cases[0].file_edits
    assert [e.path for e in edits] == ["deploy/python_serving/ppTSM_serving_server/serving_server_conf.prototxt",
                                       "deploy/python_serving/ppTSM_serving_client/serving_client_conf.prototxt"]
    assert all(e.replacement == 'alias_name: "outputs"' and e.feed_from is None for e in edits)


def test_pp_shitu_renames_its_recognition_model_features_and_its_feed_key():
    shitu = tipc.parse_text("\n".join([
        "===========================serving_params===========================", "model_name:PPShiTu",
        "python:python3.7", "cls_inference_model_url:https://example.invalid/rec.tar",
        "det_inference_model_url:https://example.invalid/det.tar", "trans_model:-m paddle_serving_client.convert",
        "--dirname:./models/rec_infer/", "--model_filename:inference.pdmodel",
        "--params_filename:inference.pdiparams", "--serving_server:./models/rec_serving/",
        "--serving_client:./models/rec_client/", "--dirname:./models/det_infer/",
        "--serving_server:./models/det_serving/", "--serving_client:./models/det_client/",
        "serving_dir:./paddleserving/recognition", "web_service:recognition_web_service.py",
        "--use_gpu:0|null", "pipline:pipeline_http_client.py", ""]), "shitu.txt")
    edits = shitu.cases[0].file_edits
    assert [e.path for e in edits] == ["deploy/models/rec_serving/serving_server_conf.prototxt",
                                       "deploy/models/rec_client/serving_client_conf.prototxt",
                                       "deploy/paddleserving/recognition/recognition_web_service.py"]
    assert all(e.replacement == 'alias_name: "features"' for e in edits[:2])
    assert edits[2].feed_from == "deploy/models/rec_serving/serving_server_conf.prototxt"
