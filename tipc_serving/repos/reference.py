"""The task level's reference (issue 21): the repository's own inference script, found the TIPC way. Beside a
serving config lies the model's inference config (PaddleOCR's model_linux_..._infer_python_....txt, or the
train_infer_python.txt's infer_params); its `inference:` line names the script and the lines after it its flags,
which TIPC's test_train_inference_python.sh passes one `key=value` each. The reference runs that script on the
CPU in fp32 (no oneDNN, no TensorRT: the same reference for every case), on the serving config's --dirname
models and exactly the images the served client sent, in a process of its own (chain/answers.py).

A repository module's `task_reference(config, root)` gives the plan's entry: a dict with the task, the script,
its argv and cwd, the images, the reader of its output (`<repos module>:<function>`, chain/answers.reader, called as
function(output folder, log text, the plan's entry)) and the parameters each side used, or {"unavailable": why}.
A script that reads one image at a time has "per_image": true and {image} in its argv: it runs once per image.
"""
import functools
import glob
import os
import re
from pathlib import Path

from ..config.reader import NULL
from .base import eval_words

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".rgb")


class NoReference(Exception):
    """Why a config's answers cannot be compared at the task level; `planned` makes it the plan's entry."""


def unavailable(why):
    return {"unavailable": why}


def planned(task_reference):
    """A repository module's task_reference, its NoReference turned into the plan's {"unavailable": why}."""
    @functools.wraps(task_reference)
    def plan(self, config, root):
        try:
            return task_reference(self, config, root)
        except NoReference as why:
            return unavailable(str(why))
    return plan


def inference_script(config, root, ending, folder=None):
    """(the inference TIPC config, its script's words, its flags) for a serving config: the config beside it
    (inference_config) whose `inference:` script ends with `ending` and is in folder (the repository's root
    unless the script runs from elsewhere, PaddleClas's deploy/); NoReference saying which is missing."""
    path = inference_config(config.path, config.model_name)
    if path is None:
        raise NoReference("no inference TIPC config beside {} ({})".format(
            config.path, " or ".join(inference_config_names(config.path, config.model_name))))
    script, flags, _ = inference_lines(path)
    words = eval_words(script or "")
    if not words or not words[0].endswith(ending):
        raise NoReference("{}: its inference script is {}, not {}".format(path.name, words[:1], ending))
    folder = Path(folder or root)
    if not (folder / words[0]).is_file():
        raise NoReference("{} names {}, which is not in {}".format(path.name, words[0], folder))
    return path, words, flags


def inference_config_names(serving_config, model_name):
    """The names an inference TIPC config beside a serving config may have, in the order they are looked for:
    the same name with infer_python for serving_python, <model>_train_infer_python.txt, train_infer_python.txt."""
    name = Path(serving_config).name
    names = [name.replace("serving_python", "infer_python"), "{}_train_infer_python.txt".format(model_name),
             "train_infer_python.txt"]
    return [n for n in names if n != name]


def inference_config(serving_config, model_name):
    """The inference TIPC config beside a serving config (None when there is none)."""
    folder = Path(serving_config).parent
    for candidate in inference_config_names(serving_config, model_name):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def inference_lines(path):
    """(the inference script's words, [(flag, first value)]) of an inference config: the `inference:` line and
    the key:value lines after it, up to the next section or the first null:null."""
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    script, flags, seen = None, [], {}
    for raw in lines:
        line = raw.strip()
        if script is None:
            if line.startswith("inference:"):
                script = line[len("inference:"):].strip()
            elif ":" in line and not line.startswith("="):
                key, value = line.split(":", 1)
                seen[key.strip()] = value.strip()
            continue
        if line.startswith("=") or line.startswith("null:null") or ":" not in line:
            break
        key, value = line.split(":", 1)
        flags.append((key.strip(), value.strip().split("|")[0]))
    return script, flags, seen


def with_flags(flags, overrides):
    """The flags as TIPC passes them (`key=value`; -o keys as `-o`, `Key=value`), the overrides replacing or
    adding; a null or empty value left out."""
    found = dict(flags)
    found.update(overrides)
    argv = []
    for key, value in found.items():
        if value in (None, "", NULL):
            continue
        if key.startswith("-o "):
            argv += ["-o", "{}={}".format(key[3:], value)]
        else:
            argv.append("{}={}".format(key, value))
    return argv


def images_of(path):
    """The image files a client sends for a path: the file, or a folder's image files, sorted by name."""
    path = Path(path)
    if path.is_dir():
        return sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    return [str(path)] if path.is_file() else []


def client_default_image(client_script):
    """The image a client opens by itself (PaddleClas's `open(os.path.join(".", "daisy.jpg"), 'rb')`)."""
    try:
        text = Path(client_script).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for match in re.finditer(r"open\(([^)]*\))?[^)]*\)", text):
        names = re.findall(r"[\"']([^\"']+\.(?:jpe?g|png|bmp))[\"']", match.group(0), re.I)
        if names:
            return names[0]
    return None


def client_images(config, root):
    """The images the served client sends: the config's image key (from the client's folder), else the client's
    own default; [] when neither says."""
    for entry, cwd in config.inputs:
        found = images_of((Path(root) / cwd / entry.value).resolve())
        if found:
            return found
    case = config.cases[0] if config.cases else None
    client = case.clients[0] if case and case.clients else None
    if client is None:
        return []
    cwd = (Path(root) / client.cwd).resolve()
    default = client_default_image(cwd / client.argv[0])
    return images_of(cwd / default) if default else []


def service_parameters(web_service, patterns, lists=None):
    """The service's processing parameters that can be read from its web service script: each `pattern` found
    (a regex with one group), and the source of each list that follows a `lists` pattern (list_after: a
    transform list, nested brackets and all), as {name: text}."""
    try:
        text = Path(web_service).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    found = {}
    for name, pattern in patterns.items():
        match = re.search(pattern, text)
        if match:
            found[name] = re.sub(r"\s+", " ", match.group(1)).strip()
    for name, pattern in (lists or {}).items():
        source = list_after(text, pattern)
        if source is not None:
            found[name] = source
    return found


def latest(pattern):
    found = sorted(glob.glob(pattern))
    return found[-1] if found else None


def relative(path, root):
    try:
        return os.path.relpath(str(path), str(root))
    except ValueError:
        return str(path)


def transform_calls(text):
    """The calls of a transform list's source (`ResizeImage(256), CenterCropImage(args.crop_size), ...`), in
    order: [(name, [positional], {keyword: value})], each value a literal where it is one, else its source text
    (`args.crop_size`: the caller resolves it). [] when the text is not a list of calls."""
    import ast
    try:
        tree = ast.parse("[{}]".format(text), mode="eval").body
    except SyntaxError:
        return []

    def value(node):
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError):
            return ast.get_source_segment("[{}]".format(text), node)
    return [(call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "?"),
             [value(a) for a in call.args], {k.arg: value(k.value) for k in call.keywords})
            for call in tree.elts if isinstance(call, ast.Call)]


def class_values(path, class_name):
    """What a class of a module's source fixes: its __init__'s literal defaults, and each name a method assigns a
    literal (`img_mean = [...]`) or, for an argument that defaults to None, `x = x if x is not None else LITERAL`
    (the defaults Step6's NormalizeImage and PaddleVideo's inference helpers write so). {} when not found."""
    import ast
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return {}

    def literal(node):
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError):
            return None
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ClassDef) and node.name == class_name):
            continue
        found = {}
        for method in (m for m in node.body if isinstance(m, ast.FunctionDef)):
            if method.name == "__init__":
                names = [a.arg for a in method.args.args]
                found.update({name: literal(default) for name, default in
                              zip(names[len(names) - len(method.args.defaults):], method.args.defaults)})
            for statement in ast.walk(method):
                if not (isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)):
                    continue
                value = statement.value.orelse if isinstance(statement.value, ast.IfExp) else statement.value
                name = statement.targets[0].id
                if found.get(name) is None and literal(value) is not None:
                    found[name] = literal(value)
        return found
    return {}


def numbers(value):
    """A mean or std as a list of floats, however it was written ([...], (...), its text), so that both sides' read
    alike; anything else as it is."""
    import ast
    try:
        return [float(v) for v in (ast.literal_eval(value) if isinstance(value, str) else value)]
    except (ValueError, TypeError, SyntaxError):
        return value


def list_after(text, pattern):
    """The source inside the brackets of the first list that follows `pattern` (a regex) in text, nested brackets
    kept (`Compose([A(mean=[0.5]), B()])` -> `A(mean=[0.5]), B()`), whitespace folded; None when not found."""
    match = re.search(pattern, text)
    start = text.find("[", match.end()) if match else -1
    if start < 0:
        return None
    depth = 0
    for index in range(start, len(text)):
        depth += {"[": 1, "]": -1}.get(text[index], 0)
        if depth == 0:
            return re.sub(r"\s+", " ", text[start + 1:index]).strip().rstrip(",")
    return None
