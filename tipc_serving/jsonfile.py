"""JSON files the way every part of the harness writes and reads them: strict, atomic, one-line errors.

Standard library only, so that reports can be read and merged without the Paddle environment.
"""
import json
import math
import os
import sys
import tempfile

from .errors import UsageError, output_error


def json_safe(value):
    """A copy with NaN/Infinity turned into strings: json.dumps would write bare NaN, which strict
    parsers (jq, CI dashboards) reject, and a NaN diff is exactly what a broken model produces."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def dump_json(data):
    """Readable UTF-8 JSON bytes. Lone surrogates (undecodable file names arrive that way) cannot be
    encoded; backslashreplace writes them as \\udXXX, which is itself a valid JSON escape."""
    text = json.dumps(json_safe(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return text.encode("utf-8", errors="backslashreplace")


def _file_mode():
    """The mode a plain open() would give: mkstemp's 0600 would hide the file from CI uploaders
    running as another user."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path, data):
    """Write bytes (or text) to path so that readers (and a kill at any moment) see the old or the
    new file, never half of one: temp file in the same directory, fsync, os.replace."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(str(path)))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(str(path)) + ".", suffix=".tmp")
    except OSError as err:
        raise output_error(err, path) or err
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, str(path))
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise output_error(err, path) or err


def write_json(path, data):
    """dump_json to path atomically, making its folder first."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(str(path))), exist_ok=True)
    except OSError as err:
        raise output_error(err, path) or err
    write_atomic(path, dump_json(data))


def read_json(path, what, error=UsageError, want=None):
    """Parse a JSON file ('-' reads stdin); every failure is one line naming the file and `what` it is.
    want: a type (dict, list) the document must have."""
    path = str(path)
    try:
        if path == "-":
            document = json.load(sys.stdin)
        else:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
    except FileNotFoundError:
        raise error("{}: {} not found".format(path, what)) from None
    except IsADirectoryError:
        raise error("{}: {} is a directory".format(path, what)) from None
    except UnicodeDecodeError as err:
        raise error("{}: {} is not UTF-8 text: {}".format(path, what, err.reason)) from None
    except OSError as err:
        raise error("{}: cannot read {}: {}".format(path, what, err.strerror or err)) from None
    except ValueError as err:
        raise error("{}: {} is not valid JSON: {}".format(path, what, err)) from None
    if want is not None and not isinstance(document, want):
        raise error("{}: {} is not a JSON {}".format(path, what, "object" if want is dict else "list"))
    return document
