"""The harness's own configs at the task level (issue 21, point 5): tools/infer.py is their repository's own
inference, and verdict/judge.py already judges their answers against it; results.json's "answers" gives that
judgement in the task level's terms, so every config has one report."""
from tipc_serving.verdict.judge import compare
from tipc_serving.verdict.result_lines import ImageResult
from tipc_serving.verdict.tasks.classification import from_judged

REFERENCE = {"a.jpg": ImageResult("a.jpg", [1, 2, 3], [0.5, 0.3, 0.1]),
             "b.jpg": ImageResult("b.jpg", [7, 8, 9], [0.6, 0.2, 0.1])}


def test_answers_as_tools_infer_gives_them_are_one_report_line():
    check = from_judged(compare(REFERENCE, list(REFERENCE.values())))
    assert not check.failed and check.items == 2
    assert check.summary_line() == "classification: 2 images as tools/infer.py gives them"
    assert check.as_dict()["tolerance"] == {"atol": 1e-3, "rtol": 1e-3}  # the judge's, as the case uses them


def test_a_differing_answer_is_a_difference_of_its_image():
    served = [REFERENCE["a.jpg"], ImageResult("b.jpg", [8, 7, 9], [0.6, 0.2, 0.1])]
    check = from_judged(compare(REFERENCE, served))
    assert check.failed and check.differing_items and all(d.image == "b.jpg" for d in check.differences)
    assert check.summary_line().startswith("classification: 1 of 2 images differ from tools/infer.py: b.jpg")


def test_a_judgement_that_could_not_be_made_fails():
    check = from_judged(compare({}, []))
    assert check.failed and "the reference has no images" in check.summary_line()


def test_the_template_says_why_it_has_no_task_level_and_a_layout_copied_from_it_does_not_inherit_that():
    from tipc_serving.repos import by_name
    assert "has no task of its own" in by_name("TIPC template").task_reference(None, None)["unavailable"]
    assert "has no task of its own" not in by_name("PaddleOCR legacy").task_reference(None, None)["unavailable"]
