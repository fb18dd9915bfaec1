"""Compare what the served model answered (client logs) with the Paddle Inference reference.

    python test_tipc/compare_results.py --reference REF.json --client-log LOG [--client-log LOG2]
        [--atol 1e-3] [--rtol 1e-3] [--golden FILE] [--export-info FILE] [--json-out FILE]
    python test_tipc/compare_results.py --reference REF.json --golden FILE [--export-info FILE]
    python test_tipc/compare_results.py --reference REF.json --write-golden FILE [--export-info FILE]

REF.json is tools/infer.py --output-json; a client log holds the clients' result lines. Per image the
class_id must be equal and the top-k probabilities close (|served - ref| <= atol + rtol * |ref|); a
swap of classes the reference rates within tolerance of each other is a tie, reported, not a failure.
--golden also compares the reference with a golden file (skipped when it is absent or was made from
another export: model, weights, seed or init). --export-info is a model folder or its export_info.json.

Prints a summary line, and a table of differences when something failed or tied.
Exit status: 0 pass, 1 a difference beyond tolerance, 2 a usage or input error.
"""
import argparse
import math

from ..errors import ArgumentParser, UserError, cli
from ..jsonfile import write_json
from . import golden as golden_files
from .inputs import load_export_info, load_reference, load_served, read_document, reference_results
from .judge import compare
from .tolerance import DEFAULT_ATOL, DEFAULT_RTOL

PROG = "compare_results.py"


def tolerance(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: {!r}".format(text)) from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError("must be a finite number >= 0, got {!r}".format(text))
    return value


def parse_args(argv):
    parser = ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True, help="tools/infer.py --output-json file")
    parser.add_argument("--client-log", "--client_log", action="append", default=[],
                        help="a client log with result lines (repeatable)")
    parser.add_argument("--atol", type=tolerance, default=DEFAULT_ATOL)
    parser.add_argument("--rtol", type=tolerance, default=DEFAULT_RTOL)
    parser.add_argument("--export-info", help="the model folder or its export_info.json")
    parser.add_argument("--json-out", help="write the results as JSON here (for the harness)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--golden", help="also compare the reference with this golden file")
    mode.add_argument("--write-golden", help="write this golden file from the reference; an existing file that "
                                             "differs is shown and kept unless --force")
    parser.add_argument("--force", action="store_true", help="with --write-golden: overwrite a differing file")
    args = parser.parse_args(argv)
    if args.write_golden and (args.client_log or args.json_out):
        parser.error("--write-golden only writes the golden file; compare in a separate run")
    if args.force and not args.write_golden:
        parser.error("--force goes with --write-golden")
    if not (args.write_golden or args.client_log or args.golden):
        parser.error("give --client-log, --golden or --write-golden")
    return args


def result_text(result, prefix=""):
    """The summary line, then the table of differences and the notes when there are any."""
    details = result.diff_text()
    return prefix + result.summary_line() + ("\n" + details if details else "")


def golden_text(check):
    """A golden check's text; a failed one says which side of its table is which."""
    text = result_text(check, prefix="golden: ")
    if check.failed:
        text += "\ngolden: in the table, \"reference\" is the golden file and \"served\" the current reference"
    return text


def write_golden(args, export_info):
    """Write the golden file; an existing one is first judged against the new reference, and one that
    differs is kept unless --force: a golden file is the only net under the shared preprocessing."""
    document = read_document(args.reference)
    images = len(reference_results(document, args.reference))  # checked here so errors name the file
    changes = golden_files.golden_changes(args.write_golden, document, export_info)
    if changes is not None:
        judged, changed = changes
        if not changed:
            print("golden file {} is unchanged".format(args.write_golden))
            return 0
        print(result_text(judged, prefix="existing golden file against this reference: "))
        print("fields that would change: {}".format(", ".join(changed)))
        if not args.force:
            raise UserError("{} differs from this reference (shown above); pass --force to overwrite it".format(
                args.write_golden))
    path = golden_files.write_golden(document, export_info, args.write_golden)
    print("wrote golden file {} ({} images{})".format(
        path, images, "" if export_info else ", no export info: identity unchecked later"))
    return 0


def check_document(served, golden, reference, client_logs, golden_path):
    """check.json: the served check (or the golden one) in the judge's schema, and the inputs."""
    document = (served or golden).as_dict()
    document["golden"] = golden.as_dict() if golden else None
    document["inputs"] = {"reference": str(reference), "client_logs": [str(p) for p in client_logs],
                          "golden": None if golden_path is None else str(golden_path)}
    return document


@cli(PROG)
def main(argv=None):
    args = parse_args(argv)
    export_info = load_export_info(args.export_info) if args.export_info else None
    if args.write_golden:
        return write_golden(args, export_info)
    reference = load_reference(args.reference)
    served = None
    if args.client_log:
        served = compare(reference, load_served(args.client_log), args.atol, args.rtol)
        print(result_text(served))
    golden = None
    if args.golden:
        golden = golden_files.compare_golden_file(args.golden, args.reference, export_info, args.atol, args.rtol)
        print(golden_text(golden))
    if args.json_out:
        write_json(args.json_out, check_document(served, golden, args.reference, args.client_log, args.golden))
    return 1 if (served and served.failed) or (golden and golden.failed) else 0
