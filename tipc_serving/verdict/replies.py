"""The pipeline replies a client printed, read the way its repository's client prints them: how many, the
err_no and err_msg of each, and the answers in it (kept structured: the next checks compare them with
Paddle Inference). A client whose answers are not compared passes this check when there is at least one
reply and every err_no is 0.

One reader per printed format (each written from the real clients' print statements):

    dict       `print(r.json())`: one Python dict a line, `{'err_no': 0, 'err_msg': '', 'key': [...],
               'value': [...], 'tensors': []}` (JSON's `"err_no": 0` reads too). PaddleClas (and PP-ShiTu),
               PaddleSeg, PaddleDetection, PaddleVideo, the models repository's Step6 and TIPC template.
    protobuf   `print(ret)` of a gRPC PipelineClient: protobuf text, `key: "label"` / `value: "[\\'daisy\\']"`
               lines; proto3 leaves out defaults, so a reply with err_no 0 has no err_no line at all. Every
               repository's pipeline_rpc_client.py.
    paddleocr  PaddleOCR's deploy/pdserving/pipeline_http_client.py: `**********<image>**********`, then
               `erro_no:0, err_msg:` (sic), then one `(text, score), [[x, y], ...]` line per text (with
               --det=False the raw value instead), or on an error the pointer to pipeline.log.

A repository's reader reads its HTTP and its gRPC client (`reader_for`); the answers of each repository's
replies are turned into its task's terms where its service's format is known (OCR lines, detections).
"""
import ast
import codecs
import json
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

TAIL_LINES = 3          # the last lines a reason quotes: a client's with no reply, a log with no decisive line
QUOTE_LIMIT = 200
ERR_MSG_LIMIT = 200


@dataclass
class Reply:
    """One pipeline reply: its error code and message, and what it answered."""

    err_no: int
    err_msg: str = ""
    answers: Dict[str, object] = field(default_factory=dict)  # each returned key, its value parsed where a literal
    source: Optional[str] = None    # the input the client names for it (PaddleOCR prints the image path)
    line: int = 0                   # where it starts in the client's output (1-based)

    def failure(self):
        return "err_no {}{}".format(self.err_no, ": " + self.err_msg[:ERR_MSG_LIMIT] if self.err_msg else "")


@dataclass
class Replies:
    count: int = 0
    failed: List[str] = field(default_factory=list)   # "err_no 5: <err_msg>" of each reply that failed
    replies: List[Reply] = field(default_factory=list)
    tail: List[str] = field(default_factory=list)     # the client's last non-empty lines
    format: str = ""                                   # the reader's name

    def problem(self):
        """Why the replies do not prove the chain works, or None."""
        if self.count == 0:
            said = " | ".join(_clip(line) for line in self.tail) if self.tail else "(it printed nothing)"
            return "no pipeline reply in the client's output ({} format); its last lines: {}".format(
                self.format or "any", said)
        if self.failed:
            return "{} of {} replies failed: {}".format(len(self.failed), self.count, self.failed[0])
        return None

    def describe(self):
        return self.problem() or "{} repl{} with err_no 0".format(self.count, "y" if self.count == 1 else "ies")


def _clip(line):
    return "'{}'".format(line if len(line) <= QUOTE_LIMIT else line[:QUOTE_LIMIT - 3] + "...")


def _replies(found, text, name):
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    found.sort(key=lambda reply: reply.line)
    return Replies(count=len(found), failed=[r.failure() for r in found if r.err_no != 0], replies=found,
                   tail=lines[-TAIL_LINES:], format=name)


def literal(value):
    """A returned value as Python data when it is a literal (`"['daisy']"` -> ['daisy']), else the text."""
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value


def _answers(keys, values):
    return {key: literal(value) for key, value in zip(keys, values)}


# ---------------------------------------------------------------- print(r.json())

_DICT_LINE = re.compile(r"""^\{\s*['"]err_no['"]\s*:""")


def _as_dict(line):
    try:
        return ast.literal_eval(line)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    try:
        return json.loads(line)
    except ValueError:
        return None


def dict_replies(text):
    """Replies printed as `print(r.json())` (or a JSON dump): one dict a line."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not _DICT_LINE.match(line):
            continue
        reply = _as_dict(line)
        if not isinstance(reply, dict) or not isinstance(reply.get("err_no"), int):
            continue
        found.append(Reply(reply["err_no"], str(reply.get("err_msg") or ""),
                           _answers(reply.get("key") or [], reply.get("value") or []), line=number))
    return found


def read_dict(text):
    return _replies(dict_replies(text), text, "dict")


# ---------------------------------------------------------------- print(ret), a gRPC Response

_PB_FIELD = re.compile(r'^(err_no|err_msg|key|value):\s*(-?\d+|".*")\s*$')


def _pb_string(quoted):
    """A protobuf text string (`"[\\'a\\']"`, non-ASCII as octal escapes) as text."""
    body = quoted[1:-1] if quoted.startswith('"') else quoted
    try:
        return codecs.escape_decode(body.encode("latin-1", "backslashreplace"))[0].decode("utf-8", "replace")
    except ValueError:
        return body


def protobuf_replies(text):
    """Replies printed as a gRPC Response: runs of `err_no:`, `err_msg:`, `key:`, `value:` lines (a
    `tensors { ... }` block inside is skipped). Each run is one reply; a field seen again starts the next."""
    found, current, depth = [], None, 0

    def close():
        if current is not None:
            found.append(Reply(current["err_no"], current["err_msg"], _answers(current["key"], current["value"]),
                               line=current["line"]))

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if depth:
            depth += line.endswith("{") - (line == "}")
            continue
        if current is not None and line.startswith("tensors {"):
            depth = 1
            continue
        match = _PB_FIELD.match(line)
        if not match:
            close()
            current = None
            continue
        name, value = match.groups()
        repeated_scalar = name in ("err_no", "err_msg") and current is not None and name in current["seen"]
        starts_over = current is not None and (repeated_scalar or (name in ("err_no", "err_msg") and current["key"]))
        if current is None or starts_over:
            close()
            current = {"err_no": 0, "err_msg": "", "key": [], "value": [], "seen": set(), "line": number}
        current["seen"].add(name)
        if name == "err_no":
            current["err_no"] = int(value)
        elif name == "err_msg":
            current["err_msg"] = _pb_string(value)
        else:
            current[name].append(_pb_string(value))
    close()
    return found


def read_protobuf(text):
    return _replies(protobuf_replies(text), text, "protobuf")


# ---------------------------------------------------------------- PaddleOCR's HTTP client

_OCR_IMAGE = re.compile(r"^\*{10}(.*)\*{10}$")
_OCR_STATUS = re.compile(r"^erro_no:(-?\d+), err_msg:(.*)$")
_NUMPY_SCALAR = re.compile(r"\bnp\.\w+\(([^()]*)\)")
_OCR_SKIP = ("For details about error message", "No results", "==> total number of test imgs")


def ocr_line(line):
    """`('text', 0.99), [[x, y], ...]` as {"text", "score", "box"}, or None."""
    try:  # numpy 2 writes a score as np.float32(0.99)
        item = ast.literal_eval("[{}]".format(_NUMPY_SCALAR.sub(r"\1", line)))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if len(item) != 2 or not isinstance(item[0], tuple) or len(item[0]) != 2 or not isinstance(item[1], list):
        return None
    (text, score), box = item
    return {"text": text, "score": score, "box": box}


def paddleocr_replies(text):
    """PaddleOCR's pipeline_http_client.py: each reply's status line, its image and its result lines."""
    found, image, printed = [], None, {}  # printed: a raw value's lines (str() of a numpy array spans several)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        header = _OCR_IMAGE.match(line)
        status = _OCR_STATUS.match(line)
        if header:
            image = header.group(1)
        elif status:
            found.append(Reply(int(status.group(1)), status.group(2).strip(), {}, image, number))
            image = None
        elif found and line and not line.startswith(_OCR_SKIP) and found[-1].err_no == 0:
            answers = found[-1].answers
            parsed = ocr_line(line)
            if parsed is not None and "value" not in answers:
                answers.setdefault("ocr", []).append(parsed)
            elif "ocr" not in answers:   # --det=False, or a value the client could not eval: printed as is
                printed.setdefault(len(found), []).append(line)
                answers["value"] = literal("\n".join(printed[len(found)]))
    return found


def read_paddleocr(text):
    """PaddleOCR: its HTTP client's lines, and its gRPC client's printed Responses."""
    return _replies(paddleocr_replies(text) + protobuf_replies(text), text, "paddleocr")


# ---------------------------------------------------------------- per repository

_DETECTION = re.compile(r"^(-?\d+) (\S+) (\S+) (\S+) (\S+) (\S+)$")


def detections(value):
    """PaddleDetection's `"<class> <score> <x1> <y1> <x2> <y2>"` strings as dicts ('No object detected!': [])."""
    if not isinstance(value, list):
        return [] if value == "No object detected!" else value
    boxes = []
    for item in value:
        match = _DETECTION.match(str(item).strip())
        if match is None:
            return value
        numbers = [float(x) for x in match.groups()[1:]]
        boxes.append({"class_id": int(match.group(1)), "score": numbers[0], "box": numbers[1:]})
    return boxes


def read_paddledetection(text):
    """PaddleDetection: `print(r.json())`; each key is an image ("image_0"), its value the detections."""
    found = dict_replies(text) + protobuf_replies(text)
    for reply in found:
        reply.answers = {key: detections(value) for key, value in reply.answers.items()}
    return _replies(found, text, "paddledetection")


def read_dict_or_protobuf(text):
    """`print(r.json())` from the HTTP client, `print(ret)` from the gRPC one."""
    return _replies(dict_replies(text) + protobuf_replies(text), text, "dict")


def read_replies(text):
    """Any format: for a client whose repository is not known."""
    return _replies(dict_replies(text) + protobuf_replies(text) + paddleocr_replies(text), text, "any")


# The repository (the module name of tipc_serving/repos/, or the dialect's name) -> the reader of its clients.
READERS: Dict[str, Callable[[str], Replies]] = {
    "paddleocr": read_paddleocr,
    "paddleocr_legacy": read_paddleocr,
    "paddleclas": read_dict_or_protobuf,
    "paddleseg": read_dict_or_protobuf,
    "paddledetection": read_paddledetection,
    "paddlevideo": read_dict_or_protobuf,
    "models_step6": read_dict_or_protobuf,
    "models_template": read_dict_or_protobuf,
}
_ALIASES = {"step6": "models_step6", "tipc_template": "models_template", "template": "models_template"}


def reader_for(repository):
    """The reader of a repository's clients, by its module or dialect name ("PaddleOCR", "paddleocr",
    "PaddleOCR legacy", "Step6", "TIPC template"); read_replies for any other."""
    key = re.sub(r"[\s-]+", "_", str(repository or "").strip().lower())
    return READERS.get(_ALIASES.get(key, key), read_replies)
