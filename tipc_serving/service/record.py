"""The record of the services a run started, so that whatever outlives its starter can be found and stopped
by the group it was given, never by a name."""
from pathlib import Path

from .process import group_members, stop_group


def record_started(path, pgid):
    """Append a started service's process group to the run's record, before anything waits on it."""
    with open(str(path), "a", encoding="utf-8") as handle:
        handle.write("{}\n".format(pgid))


def recorded_groups(path):
    path = Path(path)
    return [int(word) for word in path.read_text().split()] if path.exists() else []


def stop_recorded(path, grace):
    """Stop every recorded group that still has a live process; their StopReports."""
    return [stop_group(pgid, grace) for pgid in dict.fromkeys(recorded_groups(path)) if group_members(pgid)]
