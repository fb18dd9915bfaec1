"""The checker's inputs: the reference document (tools/infer.py --output-json), the clients' logs and a
model's export_info.json. Every problem with a file is one line naming it (InputError, exit status 2)."""
import json
from pathlib import Path
from typing import Dict, Iterable, Union

from ..errors import UsageError
from .judge import ServedResults
from .result_lines import ImageResult, parse_lines

PathLike = Union[str, Path]


class InputError(UsageError):
    """A missing, unreadable or malformed input file: a usage problem (exit status 2), not a failure."""


def _read_text(path, what, errors="strict"):
    """The file's text, or a one-line InputError naming the file (missing, a folder, unreadable)."""
    path = Path(path)
    if not path.exists():
        raise InputError("{} {} does not exist".format(what, path))
    try:
        return path.read_text(encoding="utf-8", errors=errors)
    except UnicodeDecodeError as err:
        raise InputError("{} {} is not UTF-8 text: {}".format(what, path, err.reason)) from None
    except OSError as err:
        raise InputError("cannot read {} {}: {}".format(what, path, err.strerror or err)) from None


def read_document(path, what="reference"):
    """A JSON object from a file, or a one-line InputError naming the file."""
    text = _read_text(path, what)
    try:
        document = json.loads(text)
    except ValueError as err:
        raise InputError("{} {} is not valid JSON: {}".format(what, path, err)) from None
    if not isinstance(document, dict):
        raise InputError("{} {} is not a JSON object".format(what, path))
    return document


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _result_from_entry(entry, where):
    """An ImageResult from one `results` entry, checked so that a bad file fails here in one line."""
    if not isinstance(entry, dict) or not isinstance(entry.get("image"), str) or not entry["image"]:
        raise InputError("{}: needs an object with an \"image\" name".format(where))
    class_ids, probs = entry.get("class_ids"), entry.get("probs")
    if not isinstance(class_ids, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in class_ids):
        raise InputError("{}: \"class_ids\" must be a list of integers".format(where))
    if not isinstance(probs, list) or not all(_is_number(p) for p in probs):
        raise InputError("{}: \"probs\" must be a list of numbers".format(where))
    if not class_ids or len(class_ids) != len(probs):
        raise InputError("{}: needs as many probs as class_ids, at least one".format(where))
    everything = entry.get("probabilities", [])
    if not isinstance(everything, list) or not all(_is_number(p) for p in everything):
        raise InputError("{}: \"probabilities\" must be a list of numbers (one per class)".format(where))
    if everything and max(class_ids) >= len(everything):
        raise InputError("{}: \"probabilities\" has {} classes, but class_ids name class {}".format(
            where, len(everything), max(class_ids)))
    return ImageResult(entry["image"], list(class_ids), [float(p) for p in probs],
                       all_probs=[float(p) for p in everything])


def _error_from_entry(entry, where):
    if not isinstance(entry, dict) or not isinstance(entry.get("image"), str):
        raise InputError("{}: needs an object with an \"image\" name".format(where))
    return ImageResult(entry["image"], err_no=1, err_msg=str(entry.get("error", "")))


def reference_results(document, path, what="reference"):
    """image -> ImageResult from an infer.py --output-json document; its `errors` become error results."""
    results, errors = document.get("results"), document.get("errors", [])
    if not isinstance(results, list) or not isinstance(errors, list):
        raise InputError("{} {}: \"results\" (and \"errors\") must be lists".format(what, path))
    parsed = [_result_from_entry(entry, "{} {}: results[{}]".format(what, path, i)) for i, entry in enumerate(results)]
    parsed += [_error_from_entry(entry, "{} {}: errors[{}]".format(what, path, i)) for i, entry in enumerate(errors)]
    by_image = {}
    for result in parsed:
        if result.image in by_image:
            raise InputError("{} {}: image {} is listed twice".format(what, path, result.image))
        by_image[result.image] = result
    return by_image


def load_reference(path: PathLike) -> Dict[str, ImageResult]:
    """The reference (tools/infer.py --output-json) as image -> ImageResult."""
    return reference_results(read_document(path), path)


def load_served(paths: Union[PathLike, Iterable[PathLike]]) -> ServedResults:
    """Every result and error line of the client log(s), in order; a log without any is a problem."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise InputError("no client log given")
    served = ServedResults()
    for path in paths:
        found = parse_lines(_read_text(path, "client log", errors="replace").splitlines())
        if not found:
            served.problems.append("client log {} has no result lines".format(path))
        served.extend(found)
    return served


def load_export_info(path: PathLike) -> dict:
    """A model folder's export_info.json (the folder itself may be given)."""
    path = Path(path)
    return read_document(path / "export_info.json" if path.is_dir() else path, "export info")
