"""What every PaddlePaddle repository module shares: the commands a script runs, a config's entries, the
shell's ways of reading a config (func_set_params, eval, IFS='|' lists), and the Dialect base class that each
repository's module subclasses (tipc_serving/repos/<repository>.py).
"""
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..config.reader import NULL, Entry
from ..errors import ConfigError


@dataclass
class Command:
    """A command as the script runs it: argv after the interpreter, its working folder (relative to the
    model repository's root) and the file its output goes to (the script's log name)."""

    argv: List[str]
    cwd: str = "."
    log: Optional[str] = None
    label: str = ""


@dataclass
class Conversion:
    """One model to convert: where it comes from and goes, and the command."""

    role: str
    dirname: Optional[str]
    serving_server: Optional[str]
    serving_client: Optional[str]
    command: Optional[Command]
    download: Optional[Entry] = None   # the config's *_inference_model_url line, when it has one
    model_filename: Optional[str] = None
    params_filename: Optional[str] = None
    dirname_entry: Optional[Entry] = None  # the line naming dirname: a missing model's error points at it


@dataclass
class FileEdit:
    """A `sed -i '/start/,/end/s/pattern/replacement/' path` that a repository's script runs before its cases
    (verdict: the harness makes it for each case and undoes it afterwards, byte for byte). start, end and
    pattern are Python regexes for the script's sed expressions; `{feed}` in replacement stands for the value
    of the third line of feed_from (the script's `func_parser_value "${prototxt_lines[2]}"`)."""

    path: str                           # from the repository's root
    start: str
    end: str
    pattern: str
    replacement: str
    script: str                         # the script's own command, for --list-cases
    feed_from: Optional[str] = None     # a converted serving_server_conf.prototxt, from the repository's root


def fetch_alias_edits(conversion, alias, script_line):
    """The script renames every fetch variable's alias_name in both converted prototxts (PaddleClas:
    "prediction", PP-ShiTu: "features", PaddleVideo: "outputs"), so that the web service's fetch name matches."""
    edits = []
    for folder, conf in ((conversion.serving_server, "serving_server_conf.prototxt"),
                         (conversion.serving_client, "serving_client_conf.prototxt")):
        if folder:
            path = posixpath.normpath(posixpath.join(folder, conf))
            edits.append(FileEdit(path, "fetch_var", "is_lod_tensor", r"alias_name: .*", 'alias_name: "{}"'.format(alias),
                                  "{}: sed -i '/fetch_var/,/is_lod_tensor/s/alias_name: .*/alias_name: \"{}\"/' {}".format(
                                      script_line, alias, path)))
    return edits


def feed_key_edit(web_service, conversion, script_line):
    """The script rewrites the web service's `{"inputs": input_imgs}` to the converted model's feed name."""
    return FileEdit(web_service, "preprocess", r"input_imgs}", r"{.*: input_imgs}", "{{{feed}: input_imgs}}",
                    "{}: sed -i '/preprocess/,/input_imgs}}/s/{{.*: input_imgs}}/{{${{feed_var_name}}: input_imgs}}/' "
                    "{}".format(script_line, posixpath.basename(web_service)),
                    posixpath.join(conversion.serving_server, "serving_server_conf.prototxt"))


@dataclass
class DialectCase:
    name: str                           # the script's log name for the case: the case's name here
    device: str                         # cpu or gpu
    settings: Dict[str, str]            # the loop variables of the script, as in the name
    service: Command
    clients: List[Command]
    config_edits: Dict[str, object] = field(default_factory=dict)  # config.yml keys the script sets (sed)
    file_edits: List[FileEdit] = field(default_factory=list)       # other files the script edits (sed)
    model_name: str = ""                # the config's model (a shard deals cases by model and name)


@dataclass
class DialectConfig:
    """A config of one of PaddlePaddle's dialects, with everything its script would do."""

    path: str
    dialect: str
    script: str                         # the repository's script this dialect follows
    model_name: str
    python: str
    serving_dir: str
    conversions: List[Conversion]
    cases: List[DialectCase]
    service_config: str                 # the config.yml the service reads, relative to serving_dir
    coverage: Optional[str]             # None: answers compared with Paddle Inference; else why not
    seeded_input_name: Optional[str] = None  # --seeded-export: the feed name the repository's export gives
    service_reads_options: bool = True  # False: its web service reads only config.yml (the template's)
    inputs: List[tuple] = field(default_factory=list)  # (entry, the client's cwd) of each test input the config names
    served_ops: Optional[List[str]] = None  # the ops its web service's DAG runs, where config.yml lists more
    lines: Dict[str, int] = field(default_factory=dict)

    def error(self, key, problem):
        return ConfigError(self.path, self.lines.get(key), key, problem)


# --- the shell's ways ----------------------------------------------------------------------------

def set_param(key, value):
    """TIPC's func_set_params: `key=value`, or nothing when the key or the value is null or empty."""
    if key is None or key == NULL or value is None or value.strip() in ("", NULL):
        return None
    return "{}={}".format(key, value)


def eval_words(text):
    """The words `eval` makes of a command string: split like the shell, quotes removed."""
    return shlex.split(text)


def stem(script):
    """${pipeline%_client*}: pipeline_http_client.py -> pipeline_http."""
    name = script.split()[0]
    return name[:name.rfind("_client")] if "_client" in name else name


def values_of(text):
    """A `|` list as the scripts iterate it (IFS='|'), in file order."""
    return [part.strip() for part in text.split("|")] if text is not None else []


def trt_precisions(trts, precisions):
    """The scripts' GPU loop: use_trt x precision, in file order, fp16 and int8 only with TensorRT."""
    for trt in values_of(trts):
        for precision in values_of(precisions):
            if not (("fp16" in precision or "int8" in precision) and trt == "False"):
                yield trt, precision


class Entries:
    """The config's lines in order; keys may repeat (PP-ShiTu writes --dirname twice)."""

    def __init__(self, entries, path):
        self.entries, self.path = list(entries), path

    def all(self, key):
        return [e for e in self.entries if e.key == key]

    def first(self, key):
        found = self.all(key)
        return found[0] if found else None

    def value(self, key):
        entry = self.first(key)
        return None if entry is None or entry.value in ("", NULL) else entry.value

    def keys(self):
        return [e.key for e in self.entries]

    def matching(self, pattern):
        return [e for e in self.entries if re.fullmatch(pattern, e.key)]

    def lines(self):
        found = {}
        for e in self.entries:
            found.setdefault(e.key, e.line)
        return found


def client_command(script_value, args, log, cwd):
    words = eval_words(script_value)
    return Command(words + [a for a in args if a], cwd, log, label="gRPC" if "rpc" in words[0] else "HTTP")


def convert_command(trans_model, flags, cwd, log):
    """The conversion the scripts run: trans_model, then each flag as `flag=value` (func_set_params)."""
    argv = eval_words(trans_model) + [p for p in (set_param(k, v) for k, v in flags) if p]
    return Command(argv, cwd, log, label="convert")


# --- the dialects ----------------------------------------------------------------------------------

class Dialect:
    name = ""
    script = "test_tipc/test_serving_infer_python.sh"
    required = ("model_name", "python", "serving_dir", "web_service")
    known = set()
    patterns = ()

    def knows(self, key):
        return key in self.known or any(re.fullmatch(p, key) for p in self.patterns)

    def check(self, entries, errors):
        """Every problem of the config, collected: unknown keys, missing required keys, commands the shell
        could not split."""
        for entry in entries.entries:
            if not self.knows(entry.key):
                errors.append(ConfigError(entries.path, entry.line, entry.key,
                                          "not a key of {} configs (known: {})".format(self.name,
                                                                                   ", ".join(sorted(self.known)))))
            elif entry.value not in ("", NULL):
                try:
                    eval_words(entry.value)
                except ValueError as err:
                    errors.append(ConfigError(entries.path, entry.line, entry.key,
                                              "the shell cannot split '{}': {}".format(entry.value, err)))
        for key in self.required:
            if entries.value(key) is None:
                line = entries.first(key).line if entries.first(key) else None
                errors.append(ConfigError(entries.path, line, key, "required key of {} configs is {}".format(
                    self.name, "missing" if line is None else "empty")))

    def task_reference(self, config, root):
        """The task level's reference (repos/reference.py): the plan's entry, or why there is none."""
        return {"unavailable": "the task level is not built for {} configs yet".format(self.name)}

    def config(self, entries, **fields):
        """The DialectConfig of the fields build() found; serving_dir is the config's unless it says otherwise."""
        file_edits = fields.pop("file_edits", [])  # the script makes them once, before all its cases
        clients = [client for case in fields["cases"] for client in case.clients]
        fields.setdefault("inputs", [(entry, clients[0].cwd) for entry in entries.entries
                                     if entry.key in INPUT_KEYS and entry.value not in ("", NULL)] if clients else [])
        for case in fields["cases"]:
            case.model_name = entries.value("model_name")
            case.file_edits = list(file_edits)
        fields.setdefault("serving_dir", entries.value("serving_dir"))
        return DialectConfig(path=entries.path, dialect=self.name, script=self.script,
                             model_name=entries.value("model_name"), python=entries.value("python"),
                             lines=entries.lines(), **fields)



# The keys that name a client's test input (an image, a folder of them, a video).
INPUT_KEYS = ("--image_dir", "--img_dir", "--img_path", "--image_file", "--input_file")
CONVERT = ("--dirname", "--model_filename", "--params_filename", "--serving_server", "--serving_client")


def opt_devices(entries, pattern):
    """(the script's loop value, cpu or gpu, the service's `--opt` word or None) for each value of a
    `--opt op.<op>.local_service_conf.devices:"0"|null` line (Step6, PaddleSeg): null is the CPU, and the
    shell's eval removes the quotes ("0" -> devices=0, null -> devices=)."""
    devices = entries.matching(pattern)
    key = devices[0].key[len("--opt "):] if devices else None
    found = []
    for value in values_of(devices[0].value if devices else NULL):
        option = "{}={}".format(key, "" if value == NULL else eval_words(value)[0]) if key else None
        found.append((value, "cpu" if value == NULL else "gpu", option))
    return found


def conversion(entries, role, dirname_entry, server, client, cwd, log, download=None, at=lambda path: path):
    """One model's conversion as the scripts run it: trans_model with the config's paths, from cwd; the
    Conversion's paths from the repository's root (at: PP-ShiTu's paths are read from deploy/)."""
    trans = entries.value("trans_model") or "-m paddle_serving_client.convert"
    dirname = dirname_entry.value if dirname_entry else None
    model_filename, params_filename = entries.value("--model_filename"), entries.value("--params_filename")
    flags = [("--dirname", dirname), ("--model_filename", model_filename), ("--params_filename", params_filename),
             ("--serving_server", server), ("--serving_client", client)]
    return Conversion(role, at(dirname), at(server), at(client), convert_command(trans, flags, cwd, log), download,
                      model_filename, params_filename, dirname_entry)


def one_conversion(entries, log):
    return conversion(entries, "model", entries.first("--dirname"), entries.value("--serving_server"),
                       entries.value("--serving_client"), ".", log)


def config_flag(words):
    """The config.yml the service reads: its --config/-c argument, else config.yml."""
    for index, word in enumerate(words):
        for flag in ("--config=", "-c="):
            if word.startswith(flag):
                return word[len(flag):]
        if word in ("--config", "-c") and index + 1 < len(words):
            return words[index + 1]
    return "config.yml"

