"""The checker (tipc_serving/verdict) and its CLI (test_tipc/compare_results.py) on small hand-made data."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tipc_serving.verdict.golden import compare_golden, write_golden
from tipc_serving.verdict.inputs import InputError, load_export_info, load_reference, load_served
from tipc_serving.verdict.judge import compare
from tipc_serving.verdict.result_lines import ImageResult, format_line

REPO_ROOT = Path(__file__).resolve().parent.parent
CLI = REPO_ROOT / "test_tipc" / "compare_results.py"

# a.jpg: a clear winner; b.jpg: top-2 within tolerance of each other (gap 5e-4 < 1.4e-3);
# c.jpg: five classes, the 5th at 0.03 to test the top-k cut.
REFERENCE = {
    "a.jpg": ImageResult("a.jpg", [1, 2, 3], [0.5, 0.3, 0.1]),
    "b.jpg": ImageResult("b.jpg", [7, 8, 9], [0.4, 0.3995, 0.1]),
    "c.jpg": ImageResult("c.jpg", [4, 5, 6, 10, 11], [0.5, 0.2, 0.1, 0.05, 0.03]),
}
EXPORT_INFO = {"model": "alexnet", "num_classes": 1000, "weights": "seeded", "seed": 0,
               "init": "he_normal, head gain 3.0", "pretrained_sha256": None, "paddle_version": "2.5.2"}


def served_with(*changed, drop=()):
    """The reference's answers as served results, with some replaced (by image) or dropped."""
    by_image = {result.image: result for result in changed}
    return [by_image.pop(image, result) for image, result in REFERENCE.items() if image not in drop] \
        + list(by_image.values())


def answer(image, class_ids, probs):
    return ImageResult(image, list(class_ids), list(probs))


def entry(result, image):
    return next(e for e in result.entries if e.image == image)


# --- compare() -----------------------------------------------------------------------------------

def test_identical_results_pass():
    result = compare(REFERENCE, served_with())
    assert result.passed and not result.failed
    assert result.counts["match"] == 3 and result.ties == 0
    assert result.max_abs_diff == 0 and result.max_rel_diff == 0
    assert result.summary_line() == "PASS 3/3 images, max abs diff 0, max rel diff 0, 0 ties (atol 0.001, rtol 0.001)"
    assert result.diff_text() == ""


@pytest.mark.parametrize("delta, passes", [(5e-4, True), (1.4e-3, True), (1.6e-3, False), (-1.6e-3, False)])
def test_top1_prob_passes_within_tolerance_and_fails_just_beyond(delta, passes):
    # tolerance at prob 0.5: 1e-3 + 1e-3 * 0.5 = 1.5e-3
    result = compare(REFERENCE, served_with(answer("a.jpg", [1, 2, 3], [0.5 + delta, 0.3, 0.1])))
    assert result.passed is passes
    if not passes:
        assert entry(result, "a.jpg").verdict == "prob_mismatch"
        text = result.diff_text()
        for expected in ("a.jpg", "prob_mismatch", "prob (class 1)", "0.5", "{:.9g}".format(0.5 + delta),
                         "0.0016", "0.0015"):
            assert expected in text, (expected, text)
        assert result.summary_line().startswith("FAIL 2/3 images (1 prob_mismatch)")


def test_tolerance_is_configurable():
    served = served_with(answer("a.jpg", [1, 2, 3], [0.502, 0.3, 0.1]))
    assert compare(REFERENCE, served).failed
    assert compare(REFERENCE, served, atol=1e-2).passed
    assert compare(REFERENCE, served, atol=0, rtol=1e-2).passed
    assert "atol 0.01, rtol 0.001" in compare(REFERENCE, served, atol=1e-2).summary_line()


def test_other_topk_prob_beyond_tolerance_is_topk_mismatch():
    result = compare(REFERENCE, served_with(answer("a.jpg", [1, 2, 3], [0.5, 0.3, 0.105])))
    assert entry(result, "a.jpg").verdict == "topk_mismatch" and result.failed
    assert "topk prob (class 3)" in result.diff_text()


def test_class_mismatch_fails():
    # class 2 served on top although the reference rates it 0.2 below class 1: not a tie
    result = compare(REFERENCE, served_with(answer("a.jpg", [2, 1, 3], [0.3, 0.5, 0.1])))
    check = entry(result, "a.jpg")
    assert check.verdict == "class_mismatch" and result.failed
    assert "class_id: reference 1, served 2" in check.details and "not a tie" in check.details


def test_served_class_outside_reference_topk_is_class_mismatch():
    result = compare(REFERENCE, served_with(answer("a.jpg", [99, 1, 2], [0.6, 0.5, 0.3])))
    assert entry(result, "a.jpg").verdict == "class_mismatch"
    assert "class 99 is not in the reference top-3" in result.diff_text()


def test_swapped_top2_within_tolerance_is_a_tie_not_a_failure():
    result = compare(REFERENCE, served_with(answer("b.jpg", [8, 7, 9], [0.3998, 0.3997, 0.1])))
    assert result.passed
    assert entry(result, "b.jpg").verdict == "tie" and result.ties == 1
    assert result.as_dict()["tie_images"] == ["b.jpg"]
    assert ", 1 tie (" in result.summary_line()
    text = result.diff_text()
    assert "b.jpg" in text and "tie: reference prob 0.4 for class 7, 0.3995 for class 8" in text


def test_tied_classes_still_need_close_probabilities():
    # class 7, the reference's top-1, served 0.39 instead of 0.4: its prob fails although the swap is a tie
    result = compare(REFERENCE, served_with(answer("b.jpg", [8, 7, 9], [0.3998, 0.39, 0.1])))
    assert entry(result, "b.jpg").verdict == "prob_mismatch" and result.failed
    assert "prob (class 7)" in result.diff_text()


def test_missing_image_fails():
    result = compare(REFERENCE, served_with(drop=["c.jpg"]))
    assert entry(result, "c.jpg").verdict == "missing" and result.failed
    assert "no result line for this image in the served log" in result.diff_text()
    assert "(1 missing)" in result.summary_line()


def test_served_error_line_fails_with_its_message():
    result = compare(REFERENCE, served_with(ImageResult("c.jpg", err_no=10001, err_msg="image decode failed")))
    assert entry(result, "c.jpg").verdict == "error" and result.failed
    assert "err_no 10001: image decode failed" in result.diff_text()


def test_unexpected_image_fails():
    result = compare(REFERENCE, served_with(answer("z.jpg", [1], [0.9])))
    assert entry(result, "z.jpg").verdict == "unexpected" and result.failed
    assert "the reference has no such image" in result.diff_text()


def test_reference_error_matches_served_error_only():
    reference = dict(REFERENCE, **{"bad.jpg": ImageResult("bad.jpg", err_no=1, err_msg="not an image")})
    both_rejected = compare(reference, served_with(ImageResult("bad.jpg", err_no=10001, err_msg="decode")))
    assert both_rejected.passed and entry(both_rejected, "bad.jpg").verdict == "match"
    answered = compare(reference, served_with(answer("bad.jpg", [1], [0.9])))
    assert entry(answered, "bad.jpg").verdict == "unexpected" and answered.failed


def test_max_abs_and_rel_diff_over_every_compared_probability():
    result = compare(REFERENCE, served_with(answer("a.jpg", [1, 2, 3], [0.5004, 0.3, 0.1003])))
    assert result.passed
    assert result.max_abs_diff == pytest.approx(4e-4)  # class 1
    assert result.max_rel_diff == pytest.approx(3e-3)  # class 3: 3e-4 / 0.1
    assert entry(result, "b.jpg").max_abs_diff == 0
    assert "max abs diff 4.0e-04, max rel diff 3.0e-03" in result.summary_line()


def test_nan_probability_fails_and_json_stays_valid():
    result = compare(REFERENCE, served_with(answer("a.jpg", [1, 2, 3], [math.nan, 0.3, 0.1])))
    assert entry(result, "a.jpg").verdict == "prob_mismatch"
    assert result.max_abs_diff == math.inf
    json.dumps(result.as_dict(), allow_nan=False)


def with_vector(result, others=0.001, size=20):
    """The result with a whole probability vector: its top-k as given, every other class at `others`."""
    vector = [others] * size
    for class_id, prob in zip(result.class_ids, result.probs):
        vector[class_id] = prob
    return ImageResult(result.image, result.class_ids, result.probs, all_probs=vector)


def test_topk_boundary_tie_passes_when_the_class_is_just_outside_the_reference_topk():
    # reference 5th: class 11 at 0.03; class 12, just outside, at 0.0299; served 5th: class 12 at 0.0301
    reference = dict(REFERENCE, **{"c.jpg": with_vector(REFERENCE["c.jpg"])})
    reference["c.jpg"].all_probs[12] = 0.0299
    result = compare(reference, served_with(answer("c.jpg", [4, 5, 6, 10, 12], [0.5, 0.2, 0.1, 0.05, 0.0301])))
    assert result.passed and entry(result, "c.jpg").verdict == "tie"
    text = result.diff_text()
    assert "top-5 (class 11)" in text and "top-5 (class 12)" in text and "tie at the cut" in text


def test_a_class_from_far_outside_the_reference_topk_is_compared_with_its_own_probability():
    # The hole this closes: class 12 served 5th at 0.0301 passed as a tie with the reference's 5th (0.03),
    # although the reference rates class 12 itself at 0.001.
    reference = dict(REFERENCE, **{"c.jpg": with_vector(REFERENCE["c.jpg"])})
    result = compare(reference, served_with(answer("c.jpg", [4, 5, 6, 10, 12], [0.5, 0.2, 0.1, 0.05, 0.0301])))
    assert result.failed and entry(result, "c.jpg").verdict == "topk_mismatch"
    assert "topk prob (class 12): reference 0.001, served 0.0301" in entry(result, "c.jpg").details


def test_a_class_the_reference_did_not_record_cannot_tie():
    result = compare(REFERENCE, served_with(answer("c.jpg", [4, 5, 6, 10, 12], [0.5, 0.2, 0.1, 0.05, 0.0301])))
    assert result.failed and "the reference has no probability for it" in result.diff_text()


def test_topk_class_beyond_the_cut_fails():
    result = compare(REFERENCE, served_with(answer("c.jpg", [4, 5, 6, 10, 12], [0.5, 0.2, 0.1, 0.05, 0.04])))
    assert entry(result, "c.jpg").verdict == "topk_mismatch" and result.failed


@pytest.mark.parametrize("served", [answer("c.jpg", [4], [0.5]), answer("c.jpg", [4, 5, 6], [0.5, 0.2, 0.1])])
def test_a_served_topk_shorter_than_the_references_fails(served):
    # The hole this closes: a line with only the top-1 (or a top-k cut short) passed.
    result = compare(REFERENCE, served_with(served))
    assert result.failed and entry(result, "c.jpg").verdict == "topk_short"
    assert "top-5: reference 5 classes, served {} classes".format(len(served.class_ids)) in entry(result, "c.jpg").details


@pytest.mark.parametrize("order", ["wrong_first", "wrong_last"])
def test_duplicated_image_lines_that_disagree_fail_whatever_their_order(order):
    # The hole this closes: the last line won, so a wrong answer followed by a right one passed.
    wrong = answer("a.jpg", [3, 2, 1], [0.9, 0.05, 0.01])
    served = [wrong] + served_with() if order == "wrong_first" else served_with() + [wrong]
    result = compare(REFERENCE, served)
    assert result.failed and entry(result, "a.jpg").verdict == "class_mismatch"
    assert "the served log answers this image 2 times, differently" in result.diff_text()


def test_identical_duplicate_lines_pass_and_say_so():
    result = compare(REFERENCE, served_with() + [REFERENCE["a.jpg"]])
    assert result.passed
    assert "a.jpg: 2 identical result lines in the served log" in result.diff_text()


def test_a_swapped_top1_is_a_tie_only_within_the_references_own_margin():
    # At the int8 tolerance (5e-2): class 2 rated 0.3 by the reference, 0.2 below its top-1, is no tie
    reference = {"a.jpg": with_vector(REFERENCE["a.jpg"])}
    result = compare(reference, [answer("a.jpg", [2, 1, 3], [0.5, 0.5, 0.1])], atol=5e-2, rtol=5e-2)
    assert result.failed and "not a tie: reference prob 0.5 for class 1, 0.3 for class 2" in result.diff_text()


def test_discrimination_counts_the_images_that_can_tell_a_swapped_top1_and_warns_under_half():
    reference = {name: with_vector(result) for name, result in REFERENCE.items()}
    strict = compare(reference, list(reference.values()))
    assert strict.discrimination["discriminating"] == 2 and strict.discrimination["images"] == 3
    assert strict.discrimination["per_image"] == {"a.jpg": True, "b.jpg": False, "c.jpg": True}
    assert strict.discrimination_warning is None
    loose = compare(reference, list(reference.values()), atol=0.2, rtol=0)
    assert loose.passed and loose.discrimination["discriminating"] == 1
    assert loose.discrimination_warning == ("warning: only 1 of 3 images can tell a swapped top-1 from a right one at "
                                            "this tolerance (their reference's two best classes are closer than it)")
    assert loose.discrimination_warning in loose.diff_text()


def test_invalid_tolerance_is_rejected():
    with pytest.raises(ValueError):
        compare(REFERENCE, served_with(), atol=-1)


# --- files ---------------------------------------------------------------------------------------

def reference_document(reference=REFERENCE):
    return {"tool": "tools/infer.py", "model_dir": "inference/alexnet_infer", "settings": {"cpu_threads": 2},
            "topk": 5, "results": [r.as_dict() for r in reference.values() if not r.err_no],
            "errors": [{"image": r.image, "error": r.err_msg} for r in reference.values() if r.err_no]}


def write_json(path, document):
    path.write_text(json.dumps(document))
    return path


def write_log(path, results, noise=True):
    lines = ["some server log line", "2024-01-01 WARNING: a warning"] if noise else []
    path.write_text("\n".join(lines + [format_line(r) for r in results]) + "\n")
    return path


def test_load_reference_reads_infer_documents(tmp_path):
    reference = dict(REFERENCE, **{"bad.jpg": ImageResult("bad.jpg", err_no=1, err_msg="not an image")})
    loaded = load_reference(write_json(tmp_path / "ref.json", reference_document(reference)))
    assert loaded == reference


@pytest.mark.parametrize("content, problem", [
    (None, "does not exist"),
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "is not a JSON object"),
    (json.dumps({"results": {}}), "must be lists"),
    (json.dumps({"results": [{"image": "a.jpg", "class_ids": [1, 2], "probs": [0.5]}]}), "results[0]"),
    (json.dumps({"results": [{"image": "a.jpg", "class_ids": ["1"], "probs": [0.5]}]}), "list of integers"),
    (json.dumps({"results": [{"image": "a.jpg", "class_ids": [1], "probs": [0.5]}] * 2}), "listed twice"),
])
def test_bad_reference_is_a_one_line_input_error_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "ref.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as caught:
        load_reference(path)
    message = str(caught.value)
    assert str(path) in message and problem in message and "\n" not in message
    assert caught.value.exit_code == 2


def test_load_served_reads_every_log_ignoring_other_lines(tmp_path):
    first = write_log(tmp_path / "http.log", served_with()[:2])
    second = write_log(tmp_path / "rpc.log", served_with()[2:])
    served = load_served([first, second])
    assert served == served_with() and served.problems == []
    assert compare(REFERENCE, served).passed


def test_log_without_result_lines_is_a_failure_that_says_so(tmp_path):
    empty = write_log(tmp_path / "client.log", [])
    result = compare(REFERENCE, load_served(empty))
    assert result.failed
    expected = "client log {} has no result lines".format(empty)
    assert expected in result.summary_line() and expected in result.diff_text()


def test_missing_log_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="client log .*nope.log does not exist"):
        load_served(tmp_path / "nope.log")


# --- golden files --------------------------------------------------------------------------------

@pytest.fixture
def golden(tmp_path):
    """A golden file written from REFERENCE with EXPORT_INFO."""
    document = dict(reference_document(), benchmark={"total": {"mean": 1.0}})
    return write_golden(document, EXPORT_INFO, tmp_path / "results" / "golden.json")


def test_golden_write_then_compare_passes(golden):
    document = json.loads(golden.read_text())
    assert document["export_info"] == EXPORT_INFO and "benchmark" not in document
    result = compare_golden(golden, REFERENCE, EXPORT_INFO)
    assert result.passed and result.counts["match"] == 3


@pytest.mark.parametrize("key, value", [("seed", 1), ("weights", "pretrained"), ("model", "resnet50"),
                                        ("init", "xavier")])
def test_golden_from_another_export_is_skipped_with_the_reason(golden, key, value):
    result = compare_golden(golden, REFERENCE, dict(EXPORT_INFO, **{key: value}))
    assert result.skipped and not result.failed and not result.passed
    assert key in result.skip_reason and "not comparable" in result.skip_reason
    assert result.summary_line().startswith("SKIP: golden file")


def test_golden_ignores_the_paddle_version(golden):
    assert compare_golden(golden, REFERENCE, dict(EXPORT_INFO, paddle_version="2.6.0")).passed


def test_absent_golden_is_skipped(tmp_path):
    result = compare_golden(tmp_path / "none.json", REFERENCE, EXPORT_INFO)
    assert result.skipped and not result.failed and "write one with --write-golden" in result.skip_reason


def test_golden_with_a_changed_probability_fails(golden):
    current = dict(REFERENCE, **{"a.jpg": answer("a.jpg", [1, 2, 3], [0.51, 0.3, 0.1])})
    result = compare_golden(golden, current, EXPORT_INFO)
    assert result.failed and entry(result, "a.jpg").verdict == "prob_mismatch"


def test_export_info_may_be_the_model_folder(tmp_path):
    write_json(tmp_path / "export_info.json", EXPORT_INFO)
    assert load_export_info(tmp_path) == EXPORT_INFO


# --- the CLI -------------------------------------------------------------------------------------

def run_cli(cwd, *args):
    """The CLI from another folder without PYTHONPATH: it must find the repo by itself."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, str(CLI)] + [str(a) for a in args], cwd=str(cwd), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


@pytest.fixture
def case(tmp_path):
    """tmp_path with ref.json (REFERENCE) and export_info.json written."""
    write_json(tmp_path / "ref.json", reference_document())
    write_json(tmp_path / "export_info.json", EXPORT_INFO)
    return tmp_path


def test_cli_passes_on_a_matching_log(case):
    write_log(case / "client.log", served_with())
    done = run_cli(case, "--reference", "ref.json", "--client-log", "client.log", "--json-out", "out/check.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("PASS 3/3 images") and done.stderr == ""
    document = json.loads((case / "out" / "check.json").read_text())
    assert document["status"] == "pass" and document["counts"]["match"] == 3 and document["golden"] is None
    assert [e["image"] for e in document["entries"]] == list(REFERENCE)


def test_cli_fails_with_a_readable_diff(case):
    write_log(case / "client.log", served_with(answer("a.jpg", [1, 2, 3], [0.51, 0.3, 0.1])))
    done = run_cli(case, "--reference", "ref.json", "--client-log", "client.log")
    assert done.returncode == 1
    assert done.stdout.startswith("FAIL 2/3 images (1 prob_mismatch)")
    row = next(line for line in done.stdout.splitlines() if line.startswith("a.jpg"))
    assert row.split()[:7] == ["a.jpg", "prob_mismatch", "prob", "(class", "1)", "0.5", "0.51"]


def test_cli_reports_a_tie_and_passes(case):
    write_log(case / "client.log", served_with(answer("b.jpg", [8, 7, 9], [0.3998, 0.3997, 0.1])))
    done = run_cli(case, "--reference", "ref.json", "--client-log", "client.log")
    assert done.returncode == 0
    assert "1 tie" in done.stdout and "b.jpg" in done.stdout and "tie:" in done.stdout


@pytest.mark.parametrize("args", [
    ["--reference", "missing.json", "--client-log", "client.log"],
    ["--reference", "ref.json", "--client-log", "missing.log"],
    ["--reference", "ref.json"],
    ["--reference", "ref.json", "--client-log", "client.log", "--atol", "-1"],
])
def test_cli_input_and_usage_errors_exit_2_in_one_line(case, args):
    write_log(case / "client.log", served_with())
    done = run_cli(case, *args)
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("compare_results.py: error: ") and "Traceback" not in done.stderr


def test_cli_missing_reference_names_it(case):
    done = run_cli(case, "--reference", "missing.json", "--client-log", "client.log")
    assert done.stderr.strip() == "compare_results.py: error: reference missing.json does not exist"


def test_cli_golden_write_compare_skip_and_fail(case):
    write_log(case / "client.log", served_with())
    done = run_cli(case, "--reference", "ref.json", "--write-golden", "results/golden.json",
                   "--export-info", "export_info.json")
    assert done.returncode == 0 and "wrote golden file" in done.stdout
    compare_args = ["--reference", "ref.json", "--client-log", "client.log", "--golden", "results/golden.json",
                    "--export-info", "export_info.json", "--json-out", "check.json"]

    done = run_cli(case, *compare_args)
    assert done.returncode == 0 and "golden: PASS 3/3 images" in done.stdout
    assert json.loads((case / "check.json").read_text())["golden"]["status"] == "pass"

    write_json(case / "export_info.json", dict(EXPORT_INFO, seed=7))
    done = run_cli(case, *compare_args)
    assert done.returncode == 0 and "golden: SKIP: golden file" in done.stdout and "seed" in done.stdout

    write_json(case / "export_info.json", EXPORT_INFO)
    golden = json.loads((case / "results" / "golden.json").read_text())
    golden["results"][0]["probs"][0] = 0.6
    write_json(case / "results" / "golden.json", golden)
    done = run_cli(case, *compare_args)
    assert done.returncode == 1 and "golden: FAIL 2/3 images (1 prob_mismatch)" in done.stdout


def test_cli_write_golden_shows_the_difference_and_keeps_a_differing_file_without_force(case):
    assert run_cli(case, "--reference", "ref.json", "--write-golden", "golden.json").returncode == 0
    same = run_cli(case, "--reference", "ref.json", "--write-golden", "golden.json")
    assert same.returncode == 0 and same.stdout.strip() == "golden file golden.json is unchanged"

    document = json.loads((case / "ref.json").read_text())
    document["results"][0]["probs"][0] = 0.6  # a.jpg's top-1 moved: the new reference differs
    write_json(case / "ref.json", document)
    before = (case / "golden.json").read_bytes()
    refused = run_cli(case, "--reference", "ref.json", "--write-golden", "golden.json")
    assert refused.returncode == 1 and (case / "golden.json").read_bytes() == before
    assert "existing golden file against this reference: FAIL 2/3 images (1 prob_mismatch)" in refused.stdout
    assert "a.jpg" in refused.stdout and "fields that would change: results" in refused.stdout
    assert refused.stderr.strip() == ("compare_results.py: error: golden.json differs from this reference (shown "
                                      "above); pass --force to overwrite it")
    forced = run_cli(case, "--reference", "ref.json", "--write-golden", "golden.json", "--force")
    assert forced.returncode == 0 and "wrote golden file golden.json" in forced.stdout
    assert json.loads((case / "golden.json").read_text())["results"][0]["probs"][0] == 0.6


def test_cli_force_goes_with_write_golden_only(case):
    done = run_cli(case, "--reference", "ref.json", "--golden", "g.json", "--force")
    assert done.returncode == 2 and "--force goes with --write-golden" in done.stderr


def test_golden_names_a_preprocessing_drift(tmp_path):
    document = dict(reference_document(), input_sha256={"a.jpg": "1" * 64, "b.jpg": "2" * 64},
                    image_sha256={"a.jpg": "a" * 64, "b.jpg": "b" * 64})
    golden = write_golden(document, EXPORT_INFO, tmp_path / "golden.json")
    same = compare_golden(golden, REFERENCE, EXPORT_INFO, image_hashes=document["image_sha256"],
                          input_hashes=document["input_sha256"])
    assert same.passed
    drifted = compare_golden(golden, REFERENCE, EXPORT_INFO, image_hashes=document["image_sha256"],
                             input_hashes={"a.jpg": "1" * 64, "b.jpg": "3" * 64})
    assert drifted.failed and ("preprocessing drift: the preprocessed tensor of b.jpg differs from the golden "
                               "file's for the same image bytes") in drifted.summary_line()
