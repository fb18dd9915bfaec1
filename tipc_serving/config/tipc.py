"""TIPC serving configs (`key:value` lines): the harness's own, parsed into a TipcConfig, and PaddlePaddle's
own layouts (tipc_serving/repos/), parsed into a DialectConfig.

The harness's own configs extend TIPC's Step6 layout with a case matrix and its own keys:

    ===========================serving_params===========================
    model_name:alexnet
    --dirname:./inference/alexnet_infer/
    web_service:web_service.py --config=config.yml
    --opt op.alexnet.local_service_conf.devices:"0"|null
    --opt op.alexnet.local_service_conf.use_mkldnn:False|True      # a matrix line: only ours have it
    pipline:pipeline_http_client.py
    pipeline_rpc:pipeline_rpc_client.py
    --image_dir:../../images/

TIPC's shell scripts read these files by line number; here keys are looked up by name, so lines may
move, and every mistake is a ConfigError naming the file, the line and the key; all of a file's mistakes
are reported at once. The lines are read by config/reader.py (header, comments, placeholders); here
`null` means "not set" and `|` separates the values of a matrix key (config/matrix.py's dimensions), an
error anywhere else.
"""
import difflib
import re
import shlex
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..client.runner import IMAGE_FLAGS
from ..errors import ConfigError, ConfigErrors
from . import matrix, reader
from .. import repos
from .reader import NULL

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

OWN_LAYOUT_HELP = ("it has pipeline_rpc, atol, rtol, ready_timeout or a --opt matrix line beyond devices, which "
                   "only the harness's own configs have")
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


def parse(path, dialect=None):
    """Read and parse a TIPC serving config file (a TipcConfig, or a DialectConfig for one of
    PaddlePaddle's own layouts); every problem is a ConfigError, several at once a ConfigErrors."""
    return parse_text(reader.read_text(path), path, dialect)


def parse_text(text, path="<config>", dialect=None):
    """Parse the text of a TIPC serving config; `path` only names the file in errors. dialect: a name
    from repos.NAMES to read it as, else found from its header and keys."""
    path = str(path)
    found = reader.read(text, path)
    entries = repos.Entries(found.entries, path)
    layout = repos.by_name(dialect) if dialect else repos.detect(found.header, entries, found.placeholders)
    if not dialect and isinstance(layout, repos.AMBIGUOUS) and takes_name(web_service_script(entries, path)):
        layout = repos.OWN  # these layouts are also the harness's own in its simplest forms
    errors = list(found.problems)
    if layout != repos.OWN:
        config = repos.build(layout, entries, errors)
    else:
        config = _build(_slots(found.entries, path, errors), path, errors)
    raise_all(errors)
    return config


def web_service_script(entries, path):
    """Where the config's web service script is: from the model repository's root for a config in a
    test_tipc folder (a dialect's paths), else from this project's root (the harness's own); None when
    it is not there."""
    from .dialect_plan import repo_root_of
    from .. import REPO_ROOT

    serving_dir, web_service = entries.value("serving_dir"), entries.value("web_service")
    if not serving_dir or not web_service:
        return None
    try:
        script = shlex.split(web_service)[0]
    except (ValueError, IndexError):
        return None
    candidate = repo_root_of(path, caller_dir=REPO_ROOT) / serving_dir / script
    return candidate if candidate.is_file() else None


NAME_OPTION = re.compile(r"""["']--name["']""")


def takes_name(script):
    """Whether a web service script declares a --name option (this project's does; Step6's does not)."""
    try:
        return script is not None and bool(NAME_OPTION.search(script.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def raise_all(errors):
    """One ConfigError as itself, several as a ConfigErrors (one line each), none: nothing."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(sorted(errors, key=lambda e: (e.line is None, e.line or 0)))  # file order, then the rest


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
    owners = repos.owners_of(key)
    if owners:
        raise ConfigError(path, entry.line, key, "a key of {} configs, but this config reads as the harness's own "
                                                 "({}): use one layout, or --dialect".format(
                                                     " and ".join(owners), OWN_LAYOUT_HELP))
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


def _slots(entries, path, errors):
    """slot -> entry; an unknown key, or a slot set twice (naming both lines), is a problem collected."""
    slots = {}
    for entry in entries:
        try:
            slot = _slot(entry, path)
        except ConfigError as err:
            errors.append(err)
            continue
        earlier = slots.get(slot)
        if earlier is not None:
            same = "" if earlier.key == entry.key else " (as '{}')".format(earlier.key)
            errors.append(ConfigError(path, entry.line, entry.key,
                                      "duplicate key: already set on line {}{}".format(earlier.line, same)))
            continue
        slots[slot] = entry
    return slots


# --- building ------------------------------------------------------------------------------------

def _collected(errors, function, *args):
    """function(*args), or None with its ConfigError added to errors."""
    try:
        return function(*args)
    except ConfigError as err:
        errors.append(err)
        return None


def _build(slots, path, errors):
    """The TipcConfig from the classified entries: required keys present, values checked and typed. Every
    problem goes to errors; None when there was any."""
    overrides = [_collected(errors, _override, entry, slot[len("override "):], path)
                 for slot, entry in slots.items() if slot.startswith("override ")]
    _check_required(slots, path, errors)
    op_name = _collected(errors, _op_name, [o for o in overrides if o], path)
    single = {name: _collected(errors, _single_value, slots[name], path) if name in slots else None
              for name in SINGLE_KEYS}
    words = {key: _collected(errors, _shell_words, slots[key], path) for key in ("web_service", "trans_model")
             if key in slots and slots[key].value not in ("", NULL)}  # else reported as required
    numbers = {key: _collected(errors, _positive_float, slots.get(key), path)
               for key in ("atol", "rtol", "ready_timeout")}
    client = {slot: _collected(errors, _single_value, slots[slot], path) for slot in ("client", "image_flag")
              if slot in slots}
    convert = _collected(errors, _convert_flags, slots, path)
    if errors:
        return None
    return TipcConfig(
        path=path,
        model_name=single["model_name"],
        python=single["python"],
        trans_model=words["trans_model"],
        convert=convert,
        serving_dir=single["serving_dir"],
        web_service_script=words["web_service"][0],
        web_service_args=words["web_service"][1:],
        client_key=slots["client"].key,
        client_script=client["client"],
        client_image_flag=slots["image_flag"].key,
        client_image_path=client["image_flag"],
        rpc_client_script=single["pipeline_rpc"],
        atol=numbers["atol"],
        rtol=numbers["rtol"],
        ready_timeout=numbers["ready_timeout"],
        overrides=overrides,
        op_name=op_name,
        lines={_line_key(slot, entry): entry.line for slot, entry in slots.items()},
    )


def _check_required(slots, path, errors):
    """Every required key is present and set (not null, not empty): one problem per key."""
    required = [key for key, needed in list(SINGLE_KEYS.items()) + list(CONVERT_FLAGS.items()) if needed]
    for key in required:
        if key not in slots:
            errors.append(ConfigError(path, None, key, "required key is missing"))
    for slot, name in (("client", "pipline"), ("image_flag", "image flag")):
        if slot not in slots:
            hint = " ({})".format(" / ".join(IMAGE_FLAGS)) if slot == "image_flag" else ""
            errors.append(ConfigError(path, None, name, "required key is missing{}".format(hint)))
    for slot in required + ["client", "image_flag"]:
        entry = slots.get(slot)
        if entry is not None and entry.value in ("", NULL):
            errors.append(ConfigError(path, entry.line, entry.key, "required key has no value ({})".format(
                "null" if entry.value == NULL else "empty")))


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


