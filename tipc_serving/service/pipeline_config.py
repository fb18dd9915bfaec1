"""The pipeline service's config.yml, with `--opt KEY=VALUE` overrides by dotted path.

    op.alexnet.local_service_conf.devices="0"   -> config["op"]["alexnet"]["local_service_conf"]["devices"] = "0"
    http_port=18081                             -> config["http_port"] = 18081

Values are read as YAML scalars, then take the type the key has in config.yml (so `devices=0` stays the
string "0" that Paddle Serving requires). A key that neither config.yml nor Paddle Serving's pipeline
knows is an error: a typo must not silently do nothing.
"""
import difflib
from pathlib import Path

import yaml

from ..errors import UserError

# The pipeline options of Paddle Serving 0.9.0 (paddle_serving_server/pipeline/pipeline_server.py).
KNOWN_TOP = {"rpc_port", "http_port", "worker_num", "build_dag_each_worker", "grpc_gateway_port", "dag", "op"}
KNOWN_DAG = {"retry", "client_type", "use_profile", "channel_size", "is_thread_op", "tracer",
             "channel_recv_frist_arrive"}
KNOWN_TRACER = {"interval_s"}
KNOWN_OP = {"concurrency", "timeout", "retry", "batch_size", "auto_batching_timeout", "server_endpoints",
            "fetch_list", "client_config", "client_type", "local_service_conf",
            # this project's classifier op
            "topk"}
KNOWN_LOCAL_SERVICE = {"model_config", "workdir", "thread_num", "device_type", "devices", "mem_optim",
                       "ir_optim", "precision", "use_calib", "use_mkldnn", "mkldnn_cache_capacity",
                       "mkldnn_op_list", "mkldnn_bf16_op_list", "min_subgraph_size", "client_type",
                       "fetch_list", "dynamic_shape_info", "use_encryption_model", "encryption_key"}


def load(path):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("config file not found: {}".format(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError("cannot read config file {}: {}".format(path, err)) from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = "{}:{}".format(path, mark.line + 1) if mark else str(path)
        raise UserError("{}: invalid YAML: {}".format(where, getattr(err, "problem", err))) from None
    if not isinstance(config, dict) or not isinstance(config.get("op"), dict) or not config["op"]:
        raise UserError("{}: expected a mapping with an 'op' section naming one op".format(path))
    return config


def op_names(config):
    return list(config["op"])


def rename_op(config, name):
    """Give the single op of config the name `name` (the service name in the URL follows it)."""
    names = op_names(config)
    if name in names:
        return config
    if len(names) != 1:
        raise UserError("cannot rename the op to '{}': config has several ops ({})".format(name, ", ".join(names)))
    config["op"] = {name: config["op"][names[0]]}
    return config


def _known_names(prefix):
    """The names Paddle Serving's pipeline (or this project's op) reads directly under a dotted prefix."""
    if not prefix:
        return KNOWN_TOP
    if prefix == ["dag"]:
        return KNOWN_DAG
    if prefix == ["dag", "tracer"]:
        return KNOWN_TRACER
    if len(prefix) == 2 and prefix[0] == "op":
        return KNOWN_OP
    if len(prefix) == 3 and prefix[0] == "op" and prefix[2] == "local_service_conf":
        return KNOWN_LOCAL_SERVICE
    return set()


def _unknown_part(config, parts):
    """(depth, did-you-mean) of the first part of a dotted key that neither config.yml nor Paddle
    Serving's pipeline has, or None when every part is known. Op names are checked by the caller."""
    node = config
    for depth, part in enumerate(parts):
        here = node if isinstance(node, dict) else {}
        if part not in here and part not in _known_names(parts[:depth]) and not (depth == 1 and parts[0] == "op"):
            close = difflib.get_close_matches(part, sorted(set(here) | set(_known_names(parts[:depth]))), n=1)
            return depth, " (did you mean '{}'?)".format(close[0]) if close else ""
        node = here.get(part)
    return None


def parse_scalar(raw):
    try:
        return yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        return raw


def unquote(raw):
    """The text without surrounding whitespace and one pair of matching quotes: "0" -> 0."""
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return raw


def coerce(key, raw, existing):
    """The value of `raw` for `key`, typed like the `existing` value in config.yml when there is one."""
    value = parse_scalar(raw)
    if existing is None:
        return value
    if isinstance(existing, bool):
        if isinstance(value, bool):
            return value
        raise UserError("--opt {}: expected True or False, got '{}'".format(key, raw))
    if isinstance(existing, str):
        if value is None:  # null: not set, which for a string option is ""
            return ""
        return value if isinstance(value, str) else unquote(raw)
    if isinstance(value, str) and unquote(raw) != raw.strip():
        # Shell quotes, as TIPC configs write them ("1"): their scripts' eval removes them before Python
        # sees the value, so a quoted number is a number here too.
        value = parse_scalar(unquote(raw))
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(existing, int):
        if is_number and float(value).is_integer():
            return int(value)
        raise UserError("--opt {}: expected an integer, got '{}'".format(key, raw))
    if isinstance(existing, float):
        if is_number:
            return float(value)
        raise UserError("--opt {}: expected a number, got '{}'".format(key, raw))
    if isinstance(existing, list) and not isinstance(value, list):
        raise UserError("--opt {}: expected a list such as [a, b], got '{}'".format(key, raw))
    return value


def apply_override(config, option):
    """Apply one `dotted.key=value` to config in place."""
    if "=" not in option:
        raise UserError("--opt '{}': expected KEY=VALUE, e.g. op.alexnet.local_service_conf.devices=\"0\"".format(option))
    key, raw = option.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if not key or any(not part for part in parts):
        raise UserError("--opt '{}': empty key or empty part in '{}'".format(option, key))
    if parts[0] == "op" and len(parts) >= 2 and parts[1] not in config["op"]:
        raise UserError("--opt {}: no op '{}' in the config (ops: {}); pass --name {} to rename it".format(
            key, parts[1], ", ".join(op_names(config)), parts[1]))
    unknown = _unknown_part(config, parts)
    if unknown is not None:
        depth, suggestion = unknown
        raise UserError("--opt {}: unknown key '{}': neither config.yml nor Paddle Serving's pipeline has it{}".format(
            key, ".".join(parts[:depth + 1]), suggestion))
    node = config
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise UserError("--opt {}: '{}' is a value, not a section".format(key, ".".join(parts[:depth + 1])))
        node = child
    leaf = parts[-1]
    if isinstance(node.get(leaf), dict):
        raise UserError("--opt {}: '{}' is a section, not a value".format(key, key))
    node[leaf] = coerce(key, raw, node.get(leaf))
    return config


def apply_overrides(config, options):
    for option in options:
        apply_override(config, option)
    return config


def resolve_model_config(config, base_dir):
    """Make every op's relative model_config absolute, relative to base_dir (config.yml's folder)."""
    for op in config["op"].values():
        conf = (op or {}).get("local_service_conf") or {}
        model_config = conf.get("model_config")
        if isinstance(model_config, str) and model_config and not Path(model_config).is_absolute():
            conf["model_config"] = str((Path(base_dir) / model_config).resolve())
    return config


def effective(config_path, name=None, options=()):
    """config.yml as the service will run it: relative model_config resolved from config.yml's folder,
    the single op renamed to `name`, the `--opt` options applied (relative paths from the cwd).
    Returns (config, op name)."""
    return effective_config(load(config_path), config_path, name, options)


def effective_config(config, config_path, name=None, options=()):
    """effective() of config.yml already loaded (changed in place): for a plan that derives every case's
    settings from one reading."""
    config_path = Path(config_path)
    resolve_model_config(config, config_path.resolve().parent)
    if name:
        rename_op(config, name)
    names = op_names(config)
    if len(names) != 1:
        raise UserError("{}: the classifier service needs exactly one op, found {}".format(config_path, names))
    apply_overrides(config, options)
    resolve_model_config(config, Path.cwd())
    return config, names[0]
