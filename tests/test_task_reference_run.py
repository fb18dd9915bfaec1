"""The reference's run (chain/answers.run_reference): once per config run, in a process group of its own,
within the limit it is given (--case-timeout, however long the clients took); one past it is stopped and
named, one that fails is quoted, and its answers are read by the reader the plan names."""
import sys
import time

from tipc_serving.chain import answers


def spec(tmp_path, body, reader="paddleocr:read_system_results"):
    script = tmp_path / "infer.py"
    script.write_text(body)
    return {"task": "ocr", "script": "tools/infer/predict_system.py", "argv": [str(script), "--out={out}"],
            "cwd": str(tmp_path), "reader": reader}


def test_a_reference_past_its_limit_is_stopped_and_named(tmp_path):
    start = time.monotonic()
    found, problem, _, _ = answers.run_reference(sys.executable, spec(tmp_path, "import time\ntime.sleep(60)\n"),
                                                 tmp_path / "run", timeout=2)
    assert found is None and time.monotonic() - start < 30
    assert problem.startswith("tools/infer/predict_system.py gave no answer within 2 s (--case-timeout; see ")


def test_a_failing_reference_is_quoted_and_its_run_is_not_repeated(tmp_path):
    run = tmp_path / "run"
    found, problem, _, _ = answers.run_reference(sys.executable, spec(tmp_path, "raise SystemExit('no model in x')\n"),
                                                 run)
    assert found is None and "failed (exit status 1): no model in x" in problem
    (tmp_path / "infer.py").write_text("print('ran again')\n")
    assert answers.run_reference(sys.executable, spec(tmp_path, "print('ran again')\n"), run)[1] == problem


def test_the_answers_are_read_by_the_reader_the_plan_names(tmp_path):
    body = ("import sys\nout = sys.argv[1].split('=', 1)[1]\n"
            "open(out + '/system_results.txt', 'w').write('1.jpg\\t[{\"transcription\": \"PADDLE\", "
            "\"points\": [[0, 0], [9, 0], [9, 3], [0, 3]]}]\\n')\n"
            "print('Predict time of ./1.jpg: 0.1s')\nprint('ppocr DEBUG: PADDLE, 0.987')\n")
    found, problem, argv, _ = answers.run_reference(sys.executable, spec(tmp_path, body), tmp_path / "run")
    assert problem is None, problem
    assert found == {"1.jpg": [{"text": "PADDLE", "score": 0.987, "box": [[0, 0], [9, 0], [9, 3], [0, 3]]}]}
    assert argv[-1] == "--out={}".format(tmp_path / "run" / "task_reference" / "out")


def test_a_reader_that_does_not_exist_is_a_problem_not_a_traceback(tmp_path):
    found, problem, _, _ = answers.run_reference(sys.executable, spec(tmp_path, "pass\n", reader="paddleocr:no_such"),
                                                 tmp_path / "run")
    assert found is None and problem.startswith("tools/infer/predict_system.py's answers could not be read")
