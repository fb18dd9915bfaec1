"""Golden files (test_tipc/results/<model>_fp32.json) pin a reference across runs.

A golden file is the reference document plus the model's export_info, so that a golden file made for
another model, seed, init or weights is skipped (its numbers are not comparable), never failed. The
service and the reference share preprocessing and postprocessing; only the golden file can catch a
drift there.
"""
import json
import re
from pathlib import Path
from typing import Dict, Optional

from .. import REPO_ROOT
from ..jsonfile import write_atomic
from .inputs import PathLike, read_document, reference_results
from .judge import CheckResult, compare
from .result_lines import ImageResult
from .tolerance import DEFAULT_ATOL, DEFAULT_RTOL

GOLDEN_DIR = REPO_ROOT / "test_tipc" / "results"
# export_info fields that decide which numbers a model produces; paddle_version is not one of them.
IDENTITY_KEYS = ("model", "weights", "seed", "init", "pretrained_sha256")
# Reference-document keys a golden file does not keep: timings change on every run.
_GOLDEN_DROPPED_KEYS = ("benchmark", "export_info", "model_dir")  # model_dir: a path of one machine


def golden_document(reference_doc, export_info):
    """What a golden file holds: the reference document without run-specific keys, plus the export_info."""
    golden = {key: value for key, value in reference_doc.items() if key not in _GOLDEN_DROPPED_KEYS}
    if export_info is not None:
        golden["export_info"] = export_info
    return golden


def golden_path(model_name, folder=None):
    """Where the golden file of a model's fp32 export lives (in test_tipc/results/ unless told)."""
    return Path(folder or GOLDEN_DIR) / "{}_fp32.json".format(model_name)


def write_golden(reference_doc: dict, export_info: Optional[dict], path: PathLike) -> Path:
    """Write a golden file: the reference document (checked first) plus the export_info it belongs to."""
    reference_results(reference_doc, "(document to write)", "reference")
    golden = golden_document(reference_doc, export_info)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, _one_line_number_lists(json.dumps(golden, indent=2)) + "\n")
    return path


def _one_line_number_lists(text):
    """Lists of numbers on one line each: a golden file keeps whole probability vectors, and stays readable
    (and its git diffs short) with one vector per line rather than one number."""
    return re.sub(r"\[\s+([-0-9.eE+,\s]+?)\s+\]", lambda match: "[" + " ".join(match.group(1).split()) + "]", text)


def identity_mismatch(golden_info: dict, current_info: dict) -> Optional[str]:
    """Why the two exports make different numbers (model, weights, seed, init), or None if they match."""
    differing = ["{} {!r} (golden) vs {!r} (current)".format(key, golden_info.get(key), current_info.get(key))
                 for key in IDENTITY_KEYS if golden_info.get(key) != current_info.get(key)]
    return ", ".join(differing) or None


def _golden_images(golden, reference, golden_hashes, current_hashes):
    """The images both sides classified from the same bytes, and notes on the ones left out: a config
    may use other or more images than the golden file was made from."""
    notes = []
    common = sorted(set(golden) & set(reference))
    left_out = sorted(set(golden) ^ set(reference))
    if left_out:
        notes.append("not in both the golden file and this reference, not compared: {}".format(", ".join(left_out)))
    if golden_hashes and current_hashes:
        changed = [name for name in common if golden_hashes.get(name) != current_hashes.get(name)]
        if changed:
            notes.append("other bytes than the golden file's, not compared: {}".format(", ".join(changed)))
        common = [name for name in common if name not in changed]
    return common, notes


def preprocessing_drift(golden_document, common, input_hashes):
    """Images whose bytes are the golden file's but whose preprocessed tensor is not: the service and the
    reference share preprocessing, so only this pin can tell that it changed."""
    pinned = golden_document.get("input_sha256") or {}
    if not pinned or not input_hashes:
        return []
    return [name for name in common if name in pinned and name in input_hashes and pinned[name] != input_hashes[name]]


def compare_golden(golden_path: PathLike, reference: Dict[str, ImageResult], export_info: Optional[dict],
                   atol=DEFAULT_ATOL, rtol=DEFAULT_RTOL, image_hashes: Optional[dict] = None,
                   input_hashes: Optional[dict] = None) -> CheckResult:
    """The current reference against the golden file, or a skipped result when they are not comparable.
    image_hashes / input_hashes: image -> sha256 of the current reference's image bytes / preprocessed
    tensors (the golden file holds its own)."""
    golden_path = Path(golden_path)
    if not golden_path.exists():
        return CheckResult.skip(atol, rtol, "no golden file {} (write one with --write-golden)".format(golden_path))
    document = read_document(golden_path, "golden file")
    golden = reference_results(document, golden_path, "golden file")
    golden_info = document.get("export_info")
    if isinstance(golden_info, dict) and isinstance(export_info, dict):
        mismatch = identity_mismatch(golden_info, export_info)
        if mismatch:
            return CheckResult.skip(atol, rtol, "golden file {} was made from another export ({}): the numbers "
                                                "are not comparable".format(golden_path, mismatch))
    common, notes = _golden_images(golden, reference, document.get("image_sha256"), image_hashes)
    if not common:
        return CheckResult.skip(atol, rtol, "golden file {} has no image in common with this reference".format(
            golden_path))
    result = compare({name: golden[name] for name in common}, [reference[name] for name in common], atol, rtol)
    result.notes.extend(notes)
    drifted = preprocessing_drift(document, common, input_hashes)
    if drifted:
        result.problems.append("preprocessing drift: the preprocessed tensor of {} differs from the golden file's "
                               "for the same image bytes (tipc_serving/model/preprocess.py changed what the model "
                               "sees)".format(", ".join(drifted)))
    if not (isinstance(golden_info, dict) and isinstance(export_info, dict)):
        result.notes.append("golden file {}: model identity not checked ({})".format(
            golden_path, "the golden file has no export_info" if not isinstance(golden_info, dict)
            else "no current export info given"))
    return result


def compare_golden_file(golden_path: PathLike, reference_json: PathLike, export_info: Optional[dict],
                        atol=DEFAULT_ATOL, rtol=DEFAULT_RTOL) -> CheckResult:
    """compare_golden for a reference file (tools/infer.py --output-json), with its image and tensor hashes."""
    document = read_document(reference_json)
    return compare_golden(golden_path, reference_results(document, reference_json), export_info, atol, rtol,
                          image_hashes=document.get("image_sha256"), input_hashes=document.get("input_sha256"))


def golden_changes(path: PathLike, reference_doc: dict, export_info: Optional[dict]):
    """(the existing golden file judged against the new reference, the top-level keys that would change), or
    None when the file does not exist. Nothing changes when the keys list is empty."""
    path = Path(path)
    if not path.exists():
        return None
    existing = read_document(path, "golden file")
    new = golden_document(reference_doc, export_info)
    changed = sorted(key for key in set(existing) | set(new) if existing.get(key) != new.get(key))
    judged = compare(reference_results(existing, path, "golden file"),
                     list(reference_results(new, "(new reference)").values()))
    return judged, changed
