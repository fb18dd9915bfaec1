"""verdict/replies.py: each real client's printed replies, read per repository.

Every sample is what the real client prints, built here with its own print statements (the values as its
web service's postprocess makes them), never copied from its files."""
import io
from contextlib import redirect_stdout

import pytest
from paddle_serving_server.pipeline.proto.pipeline_service_pb2 import Response

from tipc_serving.verdict.replies import (read_dict, read_dict_or_protobuf, read_paddledetection, read_paddleocr,
                                          read_protobuf, read_replies, reader_for)


def printed(*values):
    """What print(value) writes, for each value, as one text."""
    out = io.StringIO()
    with redirect_stdout(out):
        for value in values:
            print(value)
    return out.getvalue()


def http_reply(keys, values, err_no=0, err_msg=""):
    """r.json() of the pipeline's HTTP gateway: what `print(r.json())` prints."""
    return {"err_no": err_no, "err_msg": err_msg, "key": keys, "value": values, "tensors": []}


def grpc_reply(keys, values, err_no=0, err_msg=""):
    """The Response a PipelineClient returns: what `print(ret)` prints."""
    response = Response(err_no=err_no, err_msg=err_msg)
    response.key.extend(keys)
    response.value.extend(values)
    return response


# ---------------------------------------------------------------- PaddleOCR deploy/pdserving

OCR_RESULT = [[("PURE", 0.99343), [[16.0, 11.0], [129.0, 11.0], [129.0, 37.0], [16.0, 37.0]]],
              [("中文 text", 0.8765), [[20.0, 50.0], [190.0, 50.0], [190.0, 80.0], [20.0, 80.0]]]]


def ocr_http_client_output(replies, images):
    """pipeline_http_client.py's loop, print for print, over (result, image) pairs."""
    lines = []
    for result, img_file in zip(replies, images):
        lines.append("{}{}{}".format("*" * 10, img_file, "*" * 10))
        lines.append("erro_no:{}, err_msg:{}".format(result["err_no"], result["err_msg"]))
        if result["err_no"] == 0:
            for item in eval(result["value"][0]):
                lines.append("{}, {}".format(item[0], item[1]))
        else:
            lines.append("For details about error message, see PipelineServingLogs/pipeline.log")
    lines.append("==> total number of test imgs:  {}".format(len(images)))
    return "\n".join(lines) + "\n"


def test_paddleocr_http_client_status_and_result_lines():
    text = ocr_http_client_output([http_reply(["result"], [str(OCR_RESULT)])] * 2,
                                  ["../../doc/imgs/11.jpg", "../../doc/imgs/12.jpg"])
    found = read_paddleocr(text)
    assert (found.count, found.failed, found.problem()) == (2, [], None)
    first = found.replies[0]
    assert first.source == "../../doc/imgs/11.jpg" and found.replies[1].source == "../../doc/imgs/12.jpg"
    assert first.answers == {"ocr": [
        {"text": "PURE", "score": 0.99343, "box": [[16.0, 11.0], [129.0, 11.0], [129.0, 37.0], [16.0, 37.0]]},
        {"text": "中文 text", "score": 0.8765, "box": [[20.0, 50.0], [190.0, 50.0], [190.0, 80.0], [20.0, 80.0]]}]}


def test_paddleocr_error_reply_fails_with_its_message():
    text = ocr_http_client_output([http_reply([], [], 10000, "(log_id=0) rec failed to postprocess: 'NoneType'")],
                                  ["imgs/1.jpg"])
    found = read_paddleocr(text)
    assert found.problem() == "1 of 1 replies failed: err_no 10000: (log_id=0) rec failed to postprocess: 'NoneType'"


def test_paddleocr_recognition_only_client_prints_the_value_as_is():
    # --det=False: `print(ocr_result)`, the rec service's str(res_list)
    text = "**********imgs_words/word_1.jpg**********\nerro_no:0, err_msg:\n['joint']\n==> total number of test imgs:  1\n"
    found = read_paddleocr(text)
    assert found.count == 1 and found.replies[0].answers == {"value": ["joint"]}


def test_paddleocr_scores_printed_by_numpy_2_still_read():
    text = "**********a.jpg**********\nerro_no:0, err_msg:\n('PURE', np.float32(0.99)), [[1, 2], [3, 4]]\n"
    assert read_paddleocr(text).replies[0].answers["ocr"] == [{"text": "PURE", "score": 0.99, "box": [[1, 2], [3, 4]]}]


def test_paddleocr_rpc_client_prints_responses():
    text = printed(grpc_reply(["result"], [str(OCR_RESULT)]), grpc_reply(["result"], [str(OCR_RESULT)]))
    found = read_paddleocr(text)
    assert found.count == 2 and found.problem() is None
    assert found.replies[0].answers["result"][1][0] == ("中文 text", 0.8765)


# ---------------------------------------------------------------- print(r.json()) and print(ret)

CLAS = (["label", "prob"], [str(["daisy"]), str([0.9341])])


@pytest.mark.parametrize("keys, values, answers", [
    (*CLAS, {"label": ["daisy"], "prob": [0.9341]}),                                   # PaddleClas
    (["result"], [str([{"bbox": [1, 2, 3, 4], "rec_docs": "cola", "rec_scores": 0.8}])],   # PP-ShiTu
     {"result": [{"bbox": [1, 2, 3, 4], "rec_docs": "cola", "rec_scores": 0.8}]}),
    (["res_mean_val"], [str([0.4567])], {"res_mean_val": [0.4567]}),                  # PaddleSeg
    (["label", "prob"], [str(["archery"]), str([0.998])], {"label": ["archery"], "prob": [0.998]}),  # PaddleVideo
    (["class_id", "prob"], [str([8]), str([0.9])], {"class_id": [8], "prob": [0.9]}),  # Step6, template
])
def test_print_r_json_replies_keep_their_answers(keys, values, answers):
    found = read_dict(printed(http_reply(keys, values)))
    assert (found.count, found.problem()) == (1, None) and found.replies[0].answers == answers


def test_grpc_response_with_err_no_0_has_no_err_no_line_and_still_counts():
    text = printed(grpc_reply(*CLAS), grpc_reply(*CLAS))
    assert "err_no" not in text
    found = read_protobuf(text)
    assert found.count == 2 and found.replies[1].answers == {"label": ["daisy"], "prob": [0.9341]}


def test_grpc_error_response():
    text = printed(grpc_reply([], [], 5000, "(log_id=0) imagenet failed to predict."), grpc_reply(*CLAS))
    found = read_dict_or_protobuf(text)
    assert found.count == 2 and found.failed == ["err_no 5000: (log_id=0) imagenet failed to predict."]


def test_paddledetection_answers_are_boxes():
    value = ["0 0.8732 12.5 30.0 200.25 180.0", "2 0.61 1.0 2.0 3.0 4.0"]
    text = "Found 2 inference images in total.\n" + printed(http_reply(["image_0"], [value]),
                                                            http_reply(["image_0"], ["No object detected!"]))
    found = read_paddledetection(text)
    assert found.count == 2
    assert found.replies[0].answers == {"image_0": [{"class_id": 0, "score": 0.8732, "box": [12.5, 30.0, 200.25, 180.0]},
                                                    {"class_id": 2, "score": 0.61, "box": [1.0, 2.0, 3.0, 4.0]}]}
    assert found.replies[1].answers == {"image_0": []}


# ---------------------------------------------------------------- no reply, and picking the reader

def test_no_reply_quotes_the_clients_last_lines():
    text = ("Traceback (most recent call last):\n  File \"pipeline_http_client.py\", line 63, in <module>\n"
            "    r = requests.post(url=url, data=json.dumps(data))\n"
            "requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9998)\n")
    problem = read_paddleocr(text).problem()
    assert problem.startswith("no pipeline reply in the client's output (paddleocr format); its last lines: ")
    assert problem.endswith("'requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9998)'")
    assert "no err_no" not in problem
    assert read_dict("").problem() == "no pipeline reply in the client's output (dict format); its last lines: " \
                                      "(it printed nothing)"


def test_the_ocr_status_line_is_a_reply_only_to_the_ocr_reader_and_the_generic_one():
    text = ocr_http_client_output([http_reply(["result"], [str(OCR_RESULT)])], ["a.jpg"])
    assert read_dict(text).count == 0
    assert read_replies(text).count == 1


@pytest.mark.parametrize("name, reader", [
    ("PaddleOCR", read_paddleocr), ("paddleocr", read_paddleocr), ("PaddleOCR legacy", read_paddleocr),
    ("PaddleDetection", read_paddledetection), ("PaddleClas", read_dict_or_protobuf),
    ("paddleseg", read_dict_or_protobuf), ("PaddleVideo", read_dict_or_protobuf), ("Step6", read_dict_or_protobuf),
    ("models_template", read_dict_or_protobuf), ("TIPC template", read_dict_or_protobuf), ("unknown", read_replies),
    (None, read_replies),
])
def test_reader_by_repository_name(name, reader):
    assert reader_for(name) is reader
