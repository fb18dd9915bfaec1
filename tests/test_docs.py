"""The docs show what works: every config block in the README and docs/ parses as it is shown (inline
comments included), and every file the README links to exists."""
import re

import pytest

from conftest import REPO_ROOT
from tipc_serving.config import tipc

DOCS = [REPO_ROOT / "README.md"] + sorted((REPO_ROOT / "docs").glob("*.md"))
HEADER = "===========================serving_params==========================="


def code_blocks(text):
    """Indented (4 spaces) and fenced blocks, as lists of lines."""
    blocks, current, fenced = [], [], False
    for line in text.splitlines() + [""]:
        if line.startswith("```"):
            if fenced:
                blocks.append(current)
                current = []
            fenced = not fenced
        elif fenced:
            current.append(line)
        elif line.startswith("    "):
            current.append(line[4:])
        elif current and not line.strip():
            current.append("")
        elif current:
            blocks.append(current)
            current = []
    return blocks + ([current] if current else [])


def config_blocks():
    found = []
    for doc in DOCS:
        for number, block in enumerate(code_blocks(doc.read_text()), 1):
            if any(re.match(r"model_name:", line) for line in block):
                found.append(pytest.param("\n".join(block).strip() + "\n", id="{}#{}".format(doc.name, number)))
    return found


def test_the_docs_show_configs():
    assert len(config_blocks()) >= 1


@pytest.mark.parametrize("text", config_blocks())
def test_every_config_block_parses(text):
    if not text.startswith("="):
        text = HEADER + "\n" + text
    config = tipc.parse_text(text, "doc block")
    assert config.model_name


def test_readme_links_exist():
    readme = (REPO_ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert links
    for link in links:
        assert (REPO_ROOT / link).exists(), link


def test_readme_has_the_two_set_up_commands():
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in section.splitlines() if line.startswith("    ")]
    assert commands == ["bash test_tipc/test_serving.sh", "bash tools/run_tests.sh"]
