"""The lines of a TIPC serving config, as every dialect writes them: a header, then `key:value` lines.

    ===========================serving_params===========================     (or serving_infer_python_params)
    model_name:alexnet
    --dirname:./inference/alexnet_infer/        # a comment: from ' #' to the end of the line
    op.det.local_service_conf.model_config:     (a key with no value: the script fills it in)
    null:null                                   (a placeholder: keeps TIPC's line numbers, means nothing)
    ##                                          (a comment: every line that starts with '#')

A line splits at its FIRST ':' (values may hold URLs); keys may hold spaces (`--opt op.seg.x.devices`).
A `#` starts a comment only at the start of a line or after a space or tab: `a#b` keeps its `#`. Every
problem is collected (file, line, key), so a config with three mistakes reports three lines at once.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

from ..errors import ConfigError

HEADERS = ("serving_params", "serving_infer_python_params")
HEADER = re.compile(r"^=+\s*(\w+)\s*=+$")
NULL = "null"
COMMENT = re.compile(r"(^|[ \t])#.*$")


@dataclass
class Entry:
    key: str      # as written, stripped
    value: str    # stripped, comment removed
    line: int


@dataclass
class ConfigText:
    path: str
    header: str
    entries: List[Entry]
    placeholders: int = 0                               # null:null lines
    problems: List[ConfigError] = field(default_factory=list)


def read_text(path):
    """The file's text; a missing, unreadable or non-UTF-8 file is an error naming it (and the line)."""
    file = Path(path)
    if file.is_dir():
        raise ConfigError(path, None, None, "is a directory, not a config file")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, None, None, "config file not found") from None
    except OSError as err:
        raise ConfigError(path, None, None, "cannot read config file: {}".format(err.strerror or err)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ConfigError(path, line, None, "not UTF-8 text (byte 0x{:02x})".format(data[err.start])) from None


def strip_comment(line):
    """The line without its comment: `#` at the start, or after a space or tab, to the end."""
    return COMMENT.sub("", line).strip()


def read(text, path="<config>"):
    """The header and entries of a config's text. A bad header ends the reading (nothing after it can be
    trusted); a bad line is a problem collected with the others."""
    path = str(path)
    text = text[1:] if text.startswith("\ufeff") else text  # a UTF-8 BOM (Windows editors) means nothing
    # CRLF files (edited on Windows) are accepted: '\r' is stripped from every line end, so a stray
    # '\r' can never end up inside a value such as a path. A missing final newline is fine.
    lines = [raw.rstrip("\r").strip() for raw in text.split("\n")]
    first = next((number for number, line in enumerate(lines, 1) if line), None)
    if first is None:
        raise ConfigError(path, None, None, "config file is empty")
    match = HEADER.match(lines[first - 1])
    if not match or match.group(1) not in HEADERS:
        raise ConfigError(path, first, None, "expected a header such as '=====serving_params=====' (or "
                                             "serving_infer_python_params) as the first non-blank line, found "
                                             "'{}'".format(shorten(lines[first - 1])))
    found = ConfigText(path, match.group(1), [])
    for number, raw in enumerate(lines[first:], first + 1):
        line = strip_comment(raw)
        if not line:
            continue
        if ":" not in line:
            found.problems.append(ConfigError(path, number, None,
                                              "expected key:value, found no ':' in '{}'".format(shorten(line))))
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        if not key:
            found.problems.append(ConfigError(path, number, None, "empty key before ':' in '{}'".format(shorten(line))))
        elif key == NULL:
            if value != NULL:
                found.problems.append(ConfigError(path, number, key, "a placeholder line must be null:null, found "
                                                                     "value '{}'".format(value)))
            found.placeholders += 1
        else:
            found.entries.append(Entry(key, value, number))
    return found


def shorten(text, limit=60):
    return text if len(text) <= limit else text[:limit - 3] + "..."
