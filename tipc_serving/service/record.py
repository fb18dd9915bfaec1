"""Records of the services that were started, so that whatever outlives its starter is found and stopped by
the group and start time it was given, never by a name.

- The run's record, RUN_DIR/.started_groups: one line per service the run started, `PGID START_TIME`.
  The harness's trap stops what of it still runs (`abort`).
- The machine's registry, $TIPC_STATE_DIR (default ~/.local/state/tipc-serving)/services/: one file per
  running service, naming it and its starter (pid and start time). A harness killed with SIGKILL runs no
  trap; the next run finds its services (their starter is gone) and stops them. A service whose starter
  still runs, another run's, is left alone.
"""
import json
import os
from pathlib import Path

from ..jsonfile import write_json
from .process import group_members, is_alive, start_time, stop_group

REGISTRY_ENV = "TIPC_STATE_DIR"


# ---------------------------------------------------------------- a run's record

def record_started(path, pgid, started):
    """Append a started service to the run's record, before anything waits on it."""
    with open(str(path), "a", encoding="utf-8") as handle:
        handle.write("{} {!r}\n".format(pgid, started))


def recorded_groups(path):
    """[(pgid, start time)] of a run's record, in order, each once."""
    path = Path(path)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        words = line.split()
        if words:
            entry = (int(words[0]), float(words[1]) if len(words) > 1 else None)
            if entry not in entries:
                entries.append(entry)
    return entries


def stop_recorded(path, grace):
    """Stop every recorded service that still runs; their StopReports."""
    return [stop_group(pgid, grace, started) for pgid, started in recorded_groups(path)
            if group_members(pgid, started)]


# ---------------------------------------------------------------- the machine's registry

def registry_dir():
    base = os.environ.get(REGISTRY_ENV) or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state"), "tipc-serving")
    return Path(base) / "services"


def _entry_path(pgid, started):
    return registry_dir() / "{}-{}.json".format(pgid, int(started * 1000))


def register(pgid, started, argv, log_path):
    """Note a running service and its starter (this process) in the machine's registry (atomically: a
    half-written entry would be unreadable, and its service forgotten)."""
    entry = {"pgid": pgid, "started": started, "starter": {"pid": os.getpid(), "started": start_time(os.getpid())},
             "argv": [str(a) for a in argv], "log": str(log_path)}
    write_json(_entry_path(pgid, started), entry)


def unregister(pgid, started):
    _entry_path(pgid, started).unlink(missing_ok=True)


def recover(grace):
    """Stop every registered service whose starter is gone (a harness killed with SIGKILL); forget the ones
    that ended. Returns one line per service stopped. Several runs may recover at once: an entry another run
    removed meanwhile is simply gone (every unlink tolerates it), and a group it stopped is already gone."""
    stopped = []
    folder = registry_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            entry = json.loads(path.read_text())
            pgid, started, starter = entry["pgid"], entry["started"], entry["starter"]
        except FileNotFoundError:
            continue  # another run forgot it meanwhile
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # not an entry this code wrote
            continue
        if not group_members(pgid, started):
            path.unlink(missing_ok=True)
            continue
        if is_alive(starter["pid"], starter["started"]):
            continue  # another run's service, still looked after
        report = stop_group(pgid, grace, started)
        stopped.append("{} (left by a run whose harness, pid {}, is gone; log {})".format(
            report.describe(), starter["pid"], entry.get("log")))
        if report.already_gone:
            path.unlink(missing_ok=True)
            continue  # another run stopped it meanwhile
        if report.stopped:
            path.unlink(missing_ok=True)
    return stopped
