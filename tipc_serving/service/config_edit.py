"""The edits a repository's script makes with `sed -i` before its cases, for the case only.

PaddleClas's script points its service at the converted model and switches the device by editing
config.yml in place, because its web service takes no options; it also renames the converted models' fetch
alias and rewrites the web service's feed key (PaddleVideo renames the alias too). The harness makes the
same edits for the case and puts each file back afterwards, byte for byte. The original is kept next to it
(`<file>.tipc-serving-original`) while the case runs, so that a harness killed with SIGKILL leaves it
behind, and the next case that edits the file restores it first.
"""
import contextlib
import os
import re
from pathlib import Path

import yaml

from ..errors import UserError
from . import pipeline_config

SUFFIX = ".tipc-serving-original"


def original_of(path):
    return Path(str(path) + SUFFIX)


def restore_leftover(path):
    """Put back the original an interrupted run left behind; True when there was one."""
    original = original_of(path)
    if not original.is_file():
        return False
    os.replace(str(original), str(path))
    return True


def sed_range_substitute(text, start, end, pattern, replacement):
    """`sed '/start/,/end/s/pattern/replacement/'`: on every line of each range (a line matching start to
    the next line, after it, matching end; to the end of the text if none does), the first match of
    pattern is replaced. Returns (new text, lines changed)."""
    lines, inside, changed = text.splitlines(keepends=True), False, 0
    for index, line in enumerate(lines):
        if not inside:
            inside = re.search(start, line) is not None
            opened = inside
        else:
            opened = False
        if inside:
            new = re.sub(pattern, lambda _: replacement, line, count=1)
            changed += new != line
            lines[index] = new
            if not opened and re.search(end, line):
                inside = False
    return "".join(lines), changed


def feed_name(prototxt):
    """The script's `func_parser_value` of the prototxt's third line: the feed variable's alias, quotes
    and all (`alias_name: "x"` gives `"x"`)."""
    lines = Path(prototxt).read_text(encoding="utf-8").splitlines()
    if len(lines) < 3 or ":" not in lines[2]:
        raise UserError("{}: no feed variable on its third line, where the script reads it".format(prototxt))
    return lines[2].split(":")[1].strip()


def _edited_text(edit):
    path = Path(edit["path"])
    if not path.is_file():
        raise UserError("cannot make the script's edit ({}): {} does not exist".format(edit["script"], path))
    replacement = edit["replacement"]
    if edit.get("feed_from"):
        replacement = replacement.format(feed=feed_name(edit["feed_from"]))
    text, _ = sed_range_substitute(path.read_text(encoding="utf-8"), edit["start"], edit["end"], edit["pattern"],
                                   replacement)
    return text


@contextlib.contextmanager
def edited_files(edits):
    """Each file edited as its script edits it (see FileEdit in repos/base.py) while the block runs;
    every file restored after, byte for byte, also when an edit fails."""
    with contextlib.ExitStack() as stack:
        for edit in edits or []:
            path = Path(edit["path"])
            restore_leftover(path)
            text = _edited_text(edit)
            stack.enter_context(_kept_original(path))
            path.write_text(text, encoding="utf-8")
        yield


@contextlib.contextmanager
def _kept_original(path):
    data = path.read_bytes()
    original = original_of(path)
    original.write_bytes(data)
    try:
        yield
    finally:
        path.write_bytes(data)
        original.unlink()


@contextlib.contextmanager
def edited(path, edits):
    """config.yml with edits ({dotted key: value}) applied while the block runs; restored after."""
    if not edits:
        yield None
        return
    path = Path(path)
    restore_leftover(path)
    config = pipeline_config.load(path)
    for key, value in edits.items():
        try:
            pipeline_config.apply_override(config, "{}={}".format(key, value))
        except UserError as err:
            raise UserError("{}: cannot make the script's edit: {}".format(path, err)) from None
    with _kept_original(path):
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        yield path
