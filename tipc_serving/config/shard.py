"""Sharding a run's cases over several machines: `--shard I/N` (nightly CI fan-out)."""
import re

from ..errors import UserError


def parse_shard(text, lowest=1):
    """'I/N' -> (I, N), with lowest <= I <= N and N >= 1; anything else is a one-line UserError.

    Plans use 1-based shards; reports written by other tools may count from 0 (lowest=0), and merge
    works out which convention a set of reports uses."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match:
        raise UserError("shard '{}': expected I/N, e.g. 2/3 for the second of three shards".format(text))
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise UserError("shard '{}': the number of shards must be at least 1".format(text))
    if not lowest <= index <= count:
        raise UserError("shard '{}': the index must be between {} and {} ({} <= I <= N)".format(
            text, lowest, count, lowest))
    return index, count


def shard(cases_by_config, index, count):
    """The cases of shard `index` of `count`, as [(config_id, [Case])] in the input's order.

    All cases are sorted by (model_name, case name, config id) and dealt round-robin, so each lands
    in exactly one shard, shard sizes differ by at most one, and the deal ignores skip_reason: the
    same configs give the same shards on machines with and without a GPU.
    """
    if not 1 <= index <= count:
        raise UserError("shard {}/{}: the index must be between 1 and {}".format(index, count, count))
    positions = [(case.model_name, case.name, str(config_id), group, position)
                 for group, (config_id, cases) in enumerate(cases_by_config)
                 for position, case in enumerate(cases)]
    mine = {(group, position) for deal, (*_, group, position) in enumerate(sorted(positions))
            if deal % count == index - 1}
    return [(config_id, [case for position, case in enumerate(cases) if (group, position) in mine])
            for group, (config_id, cases) in enumerate(cases_by_config)]
