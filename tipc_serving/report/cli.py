"""`python -m tipc_serving report summary RUN_DIR` and `report merge OUT_DIR INPUT...`.

Exit status: 0 when every case that ran passed, 1 when a case failed or did not run or a step failed
(merge: also a case run twice or a missing shard), 2 for bad usage or a file that is not a report.
"""
from ..errors import ArgumentParser, cli
from .merge import PROG, merge
from .store import Report
from .table import print_text


def build_parser():
    parser = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    commands.required = True
    summary = commands.add_parser("summary", help="print a run's table, exit 0 only if all is well")
    summary.add_argument("run_dir", metavar="RUN_DIR")
    merge_cmd = commands.add_parser("merge", help="merge shard reports into OUT_DIR")
    merge_cmd.add_argument("out_dir", metavar="OUT_DIR")
    merge_cmd.add_argument("inputs", nargs="+", metavar="INPUT", help="results.json, run dir or tree")
    return parser


@cli(PROG)
def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "merge":
        return merge(args.inputs, args.out_dir)
    report = Report.load(args.run_dir)
    print_text(report.summary())
    return report.exit_status()
