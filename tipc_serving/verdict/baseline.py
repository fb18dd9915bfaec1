"""Accepted differences of the task level (issue 21): a JSON file beside the config, one entry per line of a
diff, that a team writes with one command when it knowingly accepts what its served answers do differently from
the repository's inference:

    python -m tipc_serving baseline RUN_DIR        (RUN_DIR: a run of the config, e.g. .../serving_python/latest)

A later run fails only on a difference the file does not hold, or on one larger than it was (a longer edit
distance, a box farther off, a score further away); the accepted ones are still shown in the case's reason.
"""
import json
import sys
from pathlib import Path

from ..errors import UsageError, cli
from ..jsonfile import read_json

SUFFIX = ".accepted_differences.json"
SLACK = 1e-6  # an accepted amount, written rounded to 6 decimals, still covers itself


def path_for(config_path):
    """<config without .txt>.accepted_differences.json, beside the config."""
    config = Path(config_path)
    return config.with_name(config.name[:-len(config.suffix)] + SUFFIX if config.suffix else config.name + SUFFIX)


def _entry(difference):
    return {"image": difference["image"], "item": difference["item"], "what": difference["what"],
            "served": difference["served"], "reference": difference["reference"],
            "amount": round(float(difference["amount"]), 6)}


def load(path):
    """{case: [entry, ...]} of the file at path ({} when there is none)."""
    path = Path(path)
    if not path.is_file():
        return {}
    document = read_json(path, "accepted differences", want=dict)
    return document.get("accepted") or {}


def apply(check, accepted, case_name, path):
    """Mark the differences of check (a TaskCheck) that the file accepts for this case."""
    entries = accepted.get(case_name) or []
    if not entries:
        return check
    check.baseline = str(path)
    for difference in check.differences:
        for entry in entries:
            same = (entry.get("image"), entry.get("item"), entry.get("what")) == difference.key()
            if not same or float(difference.amount) > float(entry.get("amount") or 0) + SLACK:
                continue
            if difference.what in ("text", "label", "missing", "extra") and entry.get("served") != difference.served:
                continue
            difference.accepted = True
            break
    return check


def write(config_path, cases):
    """Write the differences of every case ({case: [difference dicts]}) as the accepted ones; returns the path."""
    path = path_for(config_path)
    header = {"config": Path(config_path).name,
              "what": "differences from the repository's own inference that were accepted "
                      "(python -m tipc_serving baseline RUN_DIR); a run fails only on new or larger ones"}
    # one accepted difference a line: a diff of the file shows each one that came or went
    lines = ["{"] + [" {}: {},".format(json.dumps(k), json.dumps(v, ensure_ascii=False)) for k, v in header.items()]
    lines.append(' "accepted": {')
    for number, (case, differences) in enumerate(sorted(cases.items())):
        lines.append("  {}: [".format(json.dumps(case)))
        entries = [json.dumps(_entry(d), ensure_ascii=False) for d in differences]
        lines += ["   {}{}".format(entry, "," if index < len(entries) - 1 else "") for index, entry in enumerate(entries)]
        lines.append("  ]{}".format("," if number < len(cases) - 1 else ""))
    lines += [" }", "}"]
    text = "\n".join(lines)
    json.loads(text)  # the same document json.dumps would write
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


@cli("python -m tipc_serving baseline")
def main(argv):
    if len(argv) != 1 or argv[0].startswith("-"):
        raise UsageError("usage: python -m tipc_serving baseline RUN_DIR (a run folder of the config: its "
                         "results.json names the config and every case's differences)")
    run_dir = Path(argv[0])
    results = read_json(run_dir / "results.json", "results", want=dict)
    config_path = results.get("config") if isinstance(results.get("config"), str) else None
    if not config_path:
        raise UsageError("{}: results.json names no config".format(run_dir))
    cases = {}
    for case in results.get("cases", []):
        answers = case.get("answers") or {}
        if answers.get("differences"):
            cases[case["name"]] = answers["differences"]
    path = write(config_path, cases)
    count = sum(len(d) for d in cases.values())
    print("{}: {} accepted difference{} in {} case{}".format(path, count, "" if count == 1 else "s", len(cases),
                                                         "" if len(cases) == 1 else "s"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
