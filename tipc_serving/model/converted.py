"""What a converted model (`paddle_serving_client.convert` output) says about its tensors.

The feed and fetch names differ from export to export (`linear_5.tmp_1`, `softmax_1.tmp_0`, ...), so
they are always read from `serving_server_conf.prototxt`, never written as literals.
"""
import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

from ..errors import ArgumentParser, UserError, cli

SERVER_CONF = "serving_server_conf.prototxt"
CLIENT_CONF = "serving_client_conf.prototxt"
# What a successful conversion must leave behind, relative to --serving_server / --serving_client.
REQUIRED_SERVER_FILES = (SERVER_CONF, "serving_server_conf.stream.prototxt")
REQUIRED_CLIENT_FILES = (CLIENT_CONF, "serving_client_conf.stream.prototxt")

_BLOCK = re.compile(r"\b(feed_var|fetch_var)\s*\{([^{}]*)\}", re.S)
_FIELD = re.compile(r"\b(\w+)\s*:\s*(\"(?:[^\"\\]|\\.)*\"|\S+)")


@dataclass
class TensorSpec:
    name: str
    alias_name: str
    shape: List[int] = field(default_factory=list)


@dataclass
class ServingModelConfig:
    path: Path
    feeds: List[TensorSpec]
    fetches: List[TensorSpec]

    @property
    def feed_names(self):
        return [t.alias_name for t in self.feeds]

    @property
    def fetch_names(self):
        return [t.alias_name for t in self.fetches]


def _tensor(block_text):
    values = {}
    shape = []
    for key, raw in _FIELD.findall(block_text):
        value = raw[1:-1] if raw.startswith('"') else raw
        if key == "shape":
            shape.append(int(value))
        else:
            values[key] = value
    name = values.get("name")
    return TensorSpec(name=name, alias_name=values.get("alias_name", name), shape=shape) if name else None


def parse_model_config(text, path="<text>"):
    feeds, fetches = [], []
    for kind, body in _BLOCK.findall(text):
        tensor = _tensor(body)
        if tensor is None:
            raise UserError("{}: a {} block has no name".format(path, kind))
        (feeds if kind == "feed_var" else fetches).append(tensor)
    if not feeds or not fetches:
        raise UserError("{}: expected feed_var and fetch_var blocks, found {} feed and {} fetch".format(
            path, len(feeds), len(fetches)))
    return ServingModelConfig(Path(path), feeds, fetches)


def load_model_config(model_dir):
    """Read <model_dir>/serving_server_conf.prototxt (or the client's, if given a client folder)."""
    model_dir = Path(model_dir)
    for name in (SERVER_CONF, CLIENT_CONF):
        path = model_dir / name
        if path.is_file():
            return parse_model_config(path.read_text(encoding="utf-8", errors="replace"), path)
    if not model_dir.is_dir():
        raise UserError("converted model folder not found: {}".format(model_dir))
    raise UserError("{} has no {}: was the model converted with paddle_serving_client.convert?".format(
        model_dir, SERVER_CONF))


def conversion_problems(server_dir, client_dir, since=0.0):
    """What is wrong with a conversion that claims success: a file it did not write, a file left from
    an earlier conversion (older than `since`, an epoch time), a server conf without feeds or fetches."""
    problems = []
    for folder, required in ((server_dir, REQUIRED_SERVER_FILES), (client_dir, REQUIRED_CLIENT_FILES)):
        for name in required:
            path = Path(folder) / name
            if not path.is_file():
                problems.append("{} was not written".format(path))
            elif path.stat().st_mtime + 1.0 < since:
                problems.append("{} is left from an earlier conversion".format(path))
    if not problems:
        try:
            load_model_config(server_dir)
        except UserError as err:
            problems.append(str(err))
    return sorted(problems)


@cli("converted")
def main(argv=None):
    """`converted [--since EPOCH] SERVER_DIR CLIENT_DIR`: exit 0 when the conversion wrote every file
    (after EPOCH, so an earlier conversion's leftovers do not pass for this one); else say what is wrong."""
    parser = ArgumentParser(prog="converted")
    parser.add_argument("--since", type=float, default=0.0)
    parser.add_argument("server_dir")
    parser.add_argument("client_dir")
    args = parser.parse_args(argv)
    problems = conversion_problems(args.server_dir, args.client_dir, args.since)
    if problems:
        print("conversion incomplete: " + "; ".join(problems))
        return 1
    return 0


# ---------------------------------------------------------------- one conversion per run

# A conversion is written beside the config's folder (FOLDER.RUN_ID.part), checked, renamed to FOLDER.RUN_ID
# (the run's own copy: nothing writes into it again, and the run's services read only it), and FOLDER then
# points at it (a symlink replaced atomically), so that no other run, and no conversion by hand, rewrites the
# model under a running case. A run id made by test_serving.sh holds the harness's pid: a copy whose run has
# ended and that FOLDER no longer names is removed by the next run that publishes one.
PART = ".part"
_RUN_ID = re.compile(r"^\d{8}T\d{6}Z-(?P<pid>\d+)-\d+$")


_COPY_SUFFIX = re.compile(r"(\.\d{8}T\d{6}Z-\d+-\d+)+$")


def declared(folder):
    """The config's folder of a conversion, even when given as the run copy it points at (a plan resolves
    symlinks): FOLDER.RUN_ID -> FOLDER."""
    folder = Path(folder)
    base = _COPY_SUFFIX.sub("", folder.name)
    return folder.with_name(base) if base else folder


def run_copy(folder, run_id):
    """The run's own converted folder beside the config's `folder`."""
    folder = declared(folder)
    return folder.with_name("{}.{}".format(folder.name, run_id))


def part_of(folder, run_id):
    """Where the run's conversion is written before it is checked and renamed into place."""
    copy = run_copy(folder, run_id)
    return copy.with_name(copy.name + PART)


def _remove(path):
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        import shutil

        shutil.rmtree(str(path), ignore_errors=True)


def start_part(folder, run_id):
    """An empty folder for this run's conversion (what an earlier try of the same run left is removed)."""
    part = part_of(folder, run_id)
    _remove(part)
    return part


def publish(folder, run_id):
    """part -> the run's copy, then `folder` -> a symlink to it, replaced atomically (readers see the old copy
    or the new one, never half of one). A real folder there (a conversion from before, by hand) is moved
    aside first and removed."""
    folder, copy = declared(folder), run_copy(folder, run_id)
    _remove(copy)
    os.rename(str(part_of(folder, run_id)), str(copy))
    link = folder.with_name(".{}.{}.link".format(folder.name, run_id))
    _remove(link)
    os.symlink(copy.name, str(link))
    if folder.exists() and not folder.is_symlink():
        aside = folder.with_name(".{}.{}.old".format(folder.name, run_id))
        os.rename(str(folder), str(aside))
        _remove(aside)
    os.replace(str(link), str(folder))
    forget_ended(folder)
    return copy


def _run_alive(run_id):
    import psutil

    match = _RUN_ID.match(run_id)
    return match is None or psutil.pid_exists(int(match["pid"]))  # unknown run ids are kept


def forget_ended(folder, run_id=None):
    """Remove the run copies beside `folder` that it does not name and whose run has ended (with run_id: that
    run's copy, whether or not its harness still runs, as the run itself finishes)."""
    folder = declared(folder)
    named = os.readlink(str(folder)) if folder.is_symlink() else None
    prefix = folder.name + "."
    for path in folder.parent.glob(glob.escape(prefix) + "*"):
        owner = path.name[len(prefix):]
        owner = owner[:-len(PART)] if owner.endswith(PART) else owner
        if path.name == named or not (_RUN_ID.match(owner) or owner == run_id):
            continue
        if owner == run_id or not _run_alive(owner):
            _remove(path)

