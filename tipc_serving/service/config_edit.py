"""A service's config.yml with a case's edits, for the case only.

PaddleClas's script points its service at the converted model and switches the device by editing
config.yml in place (`sed -i`), because its web service takes no options. The harness makes the same
edits for the case and puts the file back afterwards, byte for byte. The original is kept next to it
(`config.yml.tipc-serving-original`) while the case runs, so that a harness killed with SIGKILL leaves
it behind, and the next case that edits the file restores it first.
"""
import contextlib
import os
from pathlib import Path

import yaml

from ..errors import UserError
from . import pipeline_config

SUFFIX = ".tipc-serving-original"


def original_of(path):
    return Path(str(path) + SUFFIX)


def restore_leftover(path):
    """Put back the original an interrupted run left behind; True when there was one."""
    original = original_of(path)
    if not original.is_file():
        return False
    os.replace(str(original), str(path))
    return True


@contextlib.contextmanager
def edited(path, edits):
    """config.yml with edits ({dotted key: value}) applied while the block runs; restored after."""
    if not edits:
        yield None
        return
    path = Path(path)
    restore_leftover(path)
    data = path.read_bytes()
    config = pipeline_config.load(path)
    for key, value in edits.items():
        try:
            pipeline_config.apply_override(config, "{}={}".format(key, value))
        except UserError as err:
            raise UserError("{}: cannot make the script's edit: {}".format(path, err)) from None
    original = original_of(path)
    original.write_bytes(data)
    try:
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        yield path
    finally:
        path.write_bytes(data)
        original.unlink()
