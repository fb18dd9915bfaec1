"""PaddlePaddle TIPC serving configs (`key:value` lines) parsed into a TipcConfig.

The format is TIPC's own (test_tipc/configs/*/serving_*.txt), so PaddlePaddle's templates parse
unchanged:

    ===========================serving_params===========================
    model_name:alexnet
    --dirname:./inference/alexnet_infer/
    web_service:web_service.py --config=config.yml
    --opt op.alexnet.local_service_conf.devices:"0"|null
    pipline:pipeline_http_client.py
    --image_dir:../../images/

TIPC's shell scripts read these files by line number; here keys are looked up by name, so lines may
move, and every mistake is a ConfigError naming the file, the line and the key.

Rules: the header is the first non-blank line; blank lines and `#` lines are comments (no inline
comments: a value may contain '#'); a line splits at its FIRST ':' (values may hold URLs); values are
stripped; `null` means "not set"; `null:null` lines are TIPC's placeholders and are skipped; `|`
separates the values of a matrix key (config/matrix.py's dimensions) and is an error anywhere else.
"""
import difflib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from ..client.runner import IMAGE_FLAGS
from ..errors import ConfigError
from . import matrix

HEADER = re.compile(r"^=+\s*serving_params\s*=+$")
NULL = "null"
OPT_PREFIX = "--opt"

# paddle_serving_client.convert flags: flag -> required
CONVERT_FLAGS = {"--dirname": True, "--model_filename": False, "--params_filename": False,
                 "--serving_server": True, "--serving_client": True}
# Keys with one value each: key -> required
SINGLE_KEYS = {"model_name": True, "python": True, "trans_model": True, "serving_dir": True,
               "web_service": True, "pipeline_rpc": False, "atol": False, "rtol": False,
               "ready_timeout": False}
# The HTTP client script: TIPC spells it `pipline`; both spellings mean the same key
CLIENT_KEYS = ("pipline", "pipeline")
# The client's image flag (any spelling the clients accept) is kept as spelled: the harness passes it on.
# Service options that may list several values are the case matrix's dimensions (config/matrix.py).

KNOWN_KEYS_HELP = ("model_name, python, trans_model, {}, serving_dir, web_service, pipline (or pipeline), "
                   "pipeline_rpc, one image flag ({}), [--opt ]op.<name>.<option>, --opt <dotted.key>, "
                   "atol, rtol, ready_timeout").format(", ".join(CONVERT_FLAGS), " / ".join(IMAGE_FLAGS))


@dataclass
class Override:
    """One service option for `web_service.py --opt key=value`; a matrix key lists several values."""

    key: str                      # dotted, without `--opt`: op.alexnet.local_service_conf.devices
    values: List[Optional[str]]   # as written (quotes kept: "0" stays a string); null -> None
    line: int
    is_matrix: bool
    opt_prefix: bool              # written as `--opt key` (Step6 style) rather than bare `op.key`

    @property
    def leaf(self):
        return self.key.rsplit(".", 1)[-1]

    @property
    def written(self):
        """The key as the config file writes it, for messages."""
        return "--opt " + self.key if self.opt_prefix else self.key


@dataclass
class TipcConfig:
    path: str
    model_name: str
    python: str
    trans_model: List[str]
    convert: Dict[str, str]       # paddle_serving_client.convert flag -> value, in file order
    serving_dir: str
    web_service_script: str
    web_service_args: List[str]
    client_key: str               # "pipline" or "pipeline", as written
    client_script: str
    client_image_flag: str
    client_image_path: str
    rpc_client_script: Optional[str] = None
    atol: Optional[float] = None
    rtol: Optional[float] = None
    ready_timeout: Optional[float] = None
    overrides: List[Override] = field(default_factory=list)
    op_name: Optional[str] = None
    lines: Dict[str, int] = field(default_factory=dict)  # key as written (overrides: dotted) -> line

    def matrix_override(self, leaf):
        """The matrix Override whose last dotted component is `leaf`, or None when the file has none."""
        return next((o for o in self.overrides if o.is_matrix and o.leaf == leaf), None)

    @property
    def fixed_overrides(self):
        return [o for o in self.overrides if not o.is_matrix]

    def error(self, key, problem):
        """A ConfigError at the line of `key` (as in `lines`), for checks made after parsing."""
        return ConfigError(self.path, self.lines.get(key), key, problem)


@dataclass
class _Entry:
    key: str      # as written, stripped
    value: str    # stripped
    line: int


def parse(path):
    """Read and parse a TIPC serving config file; every problem is a ConfigError."""
    return parse_text(_read_text(path), path)


def parse_text(text, path="<config>"):
    """Parse the text of a TIPC serving config; `path` only names the file in errors."""
    path = str(path)
    entries = _entries(text, path)
    slots = _slots(entries, path)
    return _build(slots, path)


# --- reading -------------------------------------------------------------------------------------

def _read_text(path):
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


def _entries(text, path):
    """The key:value entries after the header, with their line numbers; comments and null:null dropped."""
    text = text[1:] if text.startswith("\ufeff") else text  # a UTF-8 BOM (Windows editors) means nothing
    # CRLF files (edited on Windows) are accepted: '\r' is stripped from every line end, so a stray
    # '\r' can never end up inside a value such as a path.
    lines = [raw.rstrip("\r").strip() for raw in text.split("\n")]
    first = next((number for number, line in enumerate(lines, 1) if line), None)
    if first is None:
        raise ConfigError(path, None, None, "config file is empty")
    if not HEADER.match(lines[first - 1]):
        raise ConfigError(path, first, None, "expected the header '=====serving_params=====' as the first "
                                             "non-blank line, found '{}'".format(_shorten(lines[first - 1])))
    entries = []
    for number, line in enumerate(lines[first:], first + 1):
        if not line or line.startswith("#"):
            continue
        entry = _split_line(line, number, path)
        if entry is not None:
            entries.append(entry)
    return entries


def _split_line(line, number, path):
    """One `key:value` line split at its first ':'; None for a null:null placeholder."""
    if ":" not in line:
        raise ConfigError(path, number, None, "expected key:value, found no ':' in '{}'".format(_shorten(line)))
    key, value = (part.strip() for part in line.split(":", 1))
    if not key:
        raise ConfigError(path, number, None, "empty key before ':' in '{}'".format(_shorten(line)))
    if key == NULL:
        if value != NULL:
            raise ConfigError(path, number, key, "a placeholder line must be null:null, found value '{}'".format(value))
        return None
    return _Entry(key, value, number)


# --- classifying ---------------------------------------------------------------------------------

def _slot(entry, path):
    """The key's meaning: the name two lines must not share (pipline and pipeline are one slot)."""
    key = entry.key
    if key in SINGLE_KEYS or key in CONVERT_FLAGS:
        return key
    if key in CLIENT_KEYS:
        return "client"
    if key in IMAGE_FLAGS:
        return "image_flag"
    dotted = _override_key(entry, path)
    if dotted is not None:
        return "override " + dotted
    raise ConfigError(path, entry.line, key, "unknown key{}; known keys: {}".format(_suggestion(key), KNOWN_KEYS_HELP))


def _override_key(entry, path):
    """The dotted key of an override line (`op.x.y` or `--opt dotted.key`), else None."""
    key = entry.key
    if key == OPT_PREFIX or key.startswith(OPT_PREFIX + " ") or key.startswith(OPT_PREFIX + "\t"):
        dotted = key[len(OPT_PREFIX):].strip()
        if not dotted:
            raise ConfigError(path, entry.line, key, "empty option name after --opt")
    elif key.startswith("op."):
        dotted = key
    else:
        return None
    parts = dotted.split(".")
    if any(not part or re.search(r"\s", part) for part in parts):
        raise ConfigError(path, entry.line, key, "expected a dotted option name such as "
                                                 "op.alexnet.concurrency, got '{}'".format(dotted))
    if parts[0] == "op" and len(parts) < 3:
        raise ConfigError(path, entry.line, key, "expected op.<name>.<option>, got '{}'".format(dotted))
    return dotted


def _suggestion(key):
    known = list(SINGLE_KEYS) + list(CONVERT_FLAGS) + list(CLIENT_KEYS) + list(IMAGE_FLAGS)
    close = difflib.get_close_matches(key, known, n=1)
    return " (did you mean '{}'?)".format(close[0]) if close else ""


def _slots(entries, path):
    """slot -> entry; a slot set twice is an error naming both lines."""
    slots = {}
    for entry in entries:
        slot = _slot(entry, path)
        earlier = slots.get(slot)
        if earlier is not None:
            same = "" if earlier.key == entry.key else " (as '{}')".format(earlier.key)
            raise ConfigError(path, entry.line, entry.key,
                              "duplicate key: already set on line {}{}".format(earlier.line, same))
        slots[slot] = entry
    return slots


# --- building ------------------------------------------------------------------------------------

def _build(slots, path):
    """The TipcConfig from the classified entries: required keys present, values checked and typed."""
    # Override values first: a bad value names its line, which helps more than a missing key
    overrides = [_override(entry, slot[len("override "):], path)
                 for slot, entry in slots.items() if slot.startswith("override ")]
    _check_required(slots, path)
    single = {name: _single_value(slots[name], path) if name in slots else None for name in SINGLE_KEYS}
    web_service = _shell_words(slots["web_service"], path)
    return TipcConfig(
        path=path,
        model_name=single["model_name"],
        python=single["python"],
        trans_model=_shell_words(slots["trans_model"], path),
        convert=_convert_flags(slots, path),
        serving_dir=single["serving_dir"],
        web_service_script=web_service[0],
        web_service_args=web_service[1:],
        client_key=slots["client"].key,
        client_script=_single_value(slots["client"], path),
        client_image_flag=slots["image_flag"].key,
        client_image_path=_single_value(slots["image_flag"], path),
        rpc_client_script=single["pipeline_rpc"],
        atol=_positive_float(slots.get("atol"), path),
        rtol=_positive_float(slots.get("rtol"), path),
        ready_timeout=_positive_float(slots.get("ready_timeout"), path),
        overrides=overrides,
        op_name=_op_name(overrides, path),
        lines={_line_key(slot, entry): entry.line for slot, entry in slots.items()},
    )


def _check_required(slots, path):
    """Every required key is present and set (not null, not empty)."""
    required = [key for key, needed in list(SINGLE_KEYS.items()) + list(CONVERT_FLAGS.items()) if needed]
    missing = [key for key in required if key not in slots]
    missing += [name for slot, name in (("client", "pipline"), ("image_flag", "image flag")) if slot not in slots]
    if missing:
        also = " (also missing: {})".format(", ".join(missing[1:])) if missing[1:] else ""
        hint = " ({})".format(" / ".join(IMAGE_FLAGS)) if missing[0] == "image flag" else ""
        raise ConfigError(path, None, missing[0], "required key is missing{}{}".format(hint, also))
    for slot in required + ["client", "image_flag"]:
        entry = slots[slot]
        if entry.value in ("", NULL):
            raise ConfigError(path, entry.line, entry.key, "required key has no value ({})".format(
                "null" if entry.value == NULL else "empty"))


def _single_value(entry, path):
    """The one value of a non-matrix key; None for null or empty (left to optional keys by _check_required)."""
    if "|" in entry.value:
        raise ConfigError(path, entry.line, entry.key, "takes one value; '|' separates values only for "
                                                       "matrix options ({})".format(", ".join(matrix.keys())))
    return None if entry.value in ("", NULL) else entry.value


def _shell_words(entry, path):
    """The value split like a shell command line (`web_service.py --config=config.yml`)."""
    try:
        words = shlex.split(_single_value(entry, path))
    except ValueError as err:
        raise ConfigError(path, entry.line, entry.key, "cannot split '{}': {}".format(entry.value, err)) from None
    if not words:
        raise ConfigError(path, entry.line, entry.key, "required key has no value (empty)")
    return words


def _positive_float(entry, path):
    """An optional number > 0 (tolerances, timeouts); None when absent or null."""
    if entry is None:
        return None
    text = _single_value(entry, path)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise ConfigError(path, entry.line, entry.key, "expected a number > 0, got '{}'".format(text))
    return number


def _override(entry, dotted, path):
    """An Override with its values checked: matrix values by their dimension (config/matrix.py), a fixed one single."""
    is_matrix = matrix.dimension(dotted.rsplit(".", 1)[-1]) is not None
    opt_prefix = entry.key.startswith(OPT_PREFIX)
    if not is_matrix:
        if "|" in entry.value:
            raise ConfigError(path, entry.line, entry.key, "a fixed service option takes one value; '|' lists "
                                                           "values only for {}".format(", ".join(matrix.keys())))
        if entry.value == "":
            raise ConfigError(path, entry.line, entry.key, "empty value; write null for not set or \"\" "
                                                           "for an empty string")
        value = None if entry.value == NULL else entry.value
        return Override(dotted, [value], entry.line, False, opt_prefix)
    _check_matrix_key(entry, dotted, path)
    values = [part.strip() for part in entry.value.split("|")]
    if any(value == "" for value in values):
        raise ConfigError(path, entry.line, entry.key, "empty value in '{}'; write null for not set or \"\" "
                                                       "for an empty string".format(entry.value))
    values = [None if value == NULL else value for value in values]
    _check_matrix_values(entry, dotted.rsplit(".", 1)[-1], values, path)
    return Override(dotted, values, entry.line, True, opt_prefix)


def _check_matrix_key(entry, dotted, path):
    """Matrix options live in op.<name>.local_service_conf, where the pipeline reads them."""
    parts = dotted.split(".")
    if len(parts) != 4 or parts[0] != "op" or parts[2] != matrix.SECTION:
        raise ConfigError(path, entry.line, entry.key, "'{}' is a matrix option and belongs at "
                                                       "op.<name>.{}.{}".format(parts[-1], matrix.SECTION, parts[-1]))


def _check_matrix_values(entry, leaf, values, path):
    """Each value valid, none repeated (repeats would make two cases with one name)."""
    try:
        matrix.parse_values(leaf, values)
    except ValueError as err:
        raise ConfigError(path, entry.line, entry.key, str(err)) from None


def _op_name(overrides, path):
    """The <name> of the op.<name>.* overrides; one service op per config."""
    first = None
    for override in overrides:
        parts = override.key.split(".")
        if parts[0] != "op":
            continue
        if first is None:
            first = override
        elif parts[1] != first.key.split(".")[1]:
            raise ConfigError(path, override.line, override.key, "op '{}' differs from op '{}' on line {}; "
                                                                 "a config serves one op".format(
                                                                     parts[1], first.key.split(".")[1], first.line))
    return None if first is None else first.key.split(".")[1]


def _convert_flags(slots, path):
    """flag -> value for paddle_serving_client.convert, in file order; null optional flags left out."""
    present = sorted((flag for flag in CONVERT_FLAGS if flag in slots), key=lambda flag: slots[flag].line)
    values = {flag: _single_value(slots[flag], path) for flag in present}
    return {flag: value for flag, value in values.items() if value is not None}


def _line_key(slot, entry):
    """The `lines` key of an entry: the dotted key for overrides, else the key as written."""
    return slot[len("override "):] if slot.startswith("override ") else entry.key


def _shorten(text, limit=60):
    return text if len(text) <= limit else text[:limit - 3] + "..."
