"""The parameters each side used, side by side (issue 21, point 4): the pairs a repository's module names
(PARAMETER_PAIRS), each side's value, whether they differ; a failing case's reason names the differing ones,
so a difference points at its cause; parameters.txt shows them all."""
from tipc_serving.repos.paddleocr import PARAMETER_PAIRS
from tipc_serving.verdict.tasks import TaskCheck, ocr, same_value
from tipc_serving.verdict.tolerance import for_task

FP32 = for_task("fp32")
BOX = [[10, 10], [90, 10], [90, 30], [10, 30]]
SERVICE = {"det thresh": "0.3", "det box_thresh": "0.7", "char dict": "../../ppocr/utils/ppocr_keys_v1.txt",
           "drop score": "0.5"}
REFERENCE = {"det_db_thresh": "0.3", "det_db_box_thresh": "0.6", "rec_char_dict_path": "./ppocr/utils/ppocr_keys_v1.txt",
             "drop_score": "0.5", "det_db_unclip_ratio": "1.5"}


def parameters():
    return {"service": SERVICE, "reference": REFERENCE, "pairs": PARAMETER_PAIRS}


def test_values_are_the_same_by_number_or_file_name():
    assert same_value("0.5", 0.50) and same_value("'0.6'", "0.6")
    assert same_value("../../ppocr/utils/ppocr_keys_v1.txt", "./ppocr/utils/ppocr_keys_v1.txt")
    assert not same_value("0.7", "0.6")
    assert not same_value("ppocr_keys_v1.txt", "en_dict.txt")


def test_rows_pair_each_side_and_mark_what_differs():
    rows = {row[0]: row[1:] for row in TaskCheck(parameters=parameters()).parameter_rows()}
    assert rows["box threshold"] == ("0.7", "0.6", True)
    assert rows["detection threshold"][2] is False and rows["character list"][2] is False
    assert rows["unclip ratio"] == (None, "1.5", None)  # the service's value could not be read: not a difference


def test_a_failing_reason_names_the_parameters_that_differ_and_a_passing_one_does_not():
    failing = ocr.compare({"1.jpg": []}, {"1.jpg": [{"text": "东园", "score": 0.9, "box": BOX}]}, FP32)
    failing.reference, failing.parameters = "tools/infer/predict_system.py", parameters()
    assert failing.failed
    assert "parameters that differ: box threshold (service 0.7, reference 0.6)" in failing.summary_line()
    assert "drop score" not in failing.summary_line()
    same = {"1.jpg": [{"text": "东园", "score": 0.9, "box": BOX}]}
    passing = ocr.compare(same, same, FP32)
    passing.parameters = parameters()
    assert not passing.failed and "parameters that differ" not in passing.summary_line()


def test_parameters_text_shows_both_sides_side_by_side():
    check = TaskCheck(reference="tools/infer/predict_system.py", parameters=parameters())
    text = check.parameters_text()
    row = next(line for line in text.splitlines() if line.startswith("box threshold"))
    assert "0.7" in row and "0.6" in row and row.endswith("<- differs")
    assert "service reads:" in text and "  det_db_unclip_ratio: 1.5" in text


def test_number_lists_compare_by_value_and_one_value_stands_for_every_channel():
    assert same_value("0.5, 0.5, 0.5", [0.5]) and same_value("[0.485, 0.456, 0.406]", [0.485, 0.456, 0.406])
    assert not same_value("0.45, 0.5, 0.5", [0.5]) and not same_value("0.5, 0.5", "0.5, 0.5, 0.5")


def test_paddleseg_and_paddleclas_read_their_preprocessing_on_both_sides():
    from tipc_serving.repos import paddleclas, paddleseg
    from tipc_serving.repos.reference import service_parameters
    import tempfile, os
    with tempfile.TemporaryDirectory() as folder:
        web = os.path.join(folder, "web_service.py")
        with open(web, "w") as f:
            f.write("self.seq = Compose([\n    NormalizeImage(\n        mean=[0.45, 0.5, 0.5], std=[0.5, 0.5, 0.5]), ToCHW()\n])\n")
        seg = service_parameters(web, paddleseg.SERVICE_PARAMETERS, paddleseg.SERVICE_LISTS)
        with open(web, "w") as f:
            f.write("self.seq = Sequential([\n    Resize(256), CenterCrop(224), RGB2BGR(), Transpose((2, 0, 1)),\n"
                    "    Div(255), Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225],\n    True)\n])\n")
        clas = service_parameters(web, paddleclas.SERVICE_PARAMETERS, paddleclas.SERVICE_LISTS)
    seg_ref = paddleseg.normalize_values([{"type": "Normalize"}])
    rows = {r[0]: r for r in TaskCheck(parameters={"service": seg, "reference": seg_ref,
                                                   "pairs": paddleseg.PARAMETER_PAIRS}).parameter_rows()}
    assert rows["normalize mean"][3] is True and rows["normalize std"][3] is False
    assert seg["preprocess"].endswith("ToCHW()")
    yaml_ops = {"transform_ops": [{"ResizeImage": {"resize_short": 256}}, {"CropImage": {"size": 224}},
                                  {"NormalizeImage": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}]}
    rows = TaskCheck(parameters={"service": clas, "reference": paddleclas.preprocess_values(yaml_ops),
                                 "pairs": paddleclas.PARAMETER_PAIRS}).parameter_rows()
    assert [r[3] for r in rows] == [False] * 4 and len(rows) == 4


def test_a_long_reason_reads_differences_then_how_many_more_then_parameters_then_accepted_ones():
    served = {"1.jpg": []}
    reference = {"1.jpg": [{"text": "w{}".format(i), "score": 0.9, "box": [[0, 10 * i], [9, 10 * i], [9, 10 * i + 5],
                                                                             [0, 10 * i + 5]]} for i in range(5)]}
    check = ocr.compare(served, reference, FP32)
    check.reference, check.parameters = "tools/infer/predict_system.py", parameters()
    check.differences[-1].accepted = True
    reason = check.summary_line()
    more, differ, accepted = (reason.index(part) for part in ("(and 1 more)", "parameters that differ",
                                                              "1 accepted difference"))
    assert reason.index("'w2': missing") < more < differ < accepted, reason
