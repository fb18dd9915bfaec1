"""PaddlePaddle's own serving TIPC configs, as their repositories' scripts read and run them.

Each model repository ships its own `test_serving_infer_python.sh` (or `test_serving.sh`) with its own
config layout. A dialect here reads that layout by key (never by line number) and says what the script
would run, case by case: the conversions, the service's and the clients' commands exactly as the script's
`eval` gives them (quotes removed), the log names (the case names), the config.yml edits the script makes
with `sed`, and whether the answers can be compared with Paddle Inference (verdict coverage).

    dialect          repository's script                              cases (log names, as the script writes them)
    PaddleClas       test_tipc/test_serving_infer_python.sh           gpu_usetrt__precision_, cpu
    PaddleDetection  test_tipc/test_serving_infer_python.sh           cpu, gpu (file order of --opt)
    PaddleOCR        test_tipc/test_serving_infer_python.sh           gpu_usetrt_False_precision_fp32, cpu_usemkldnn_..._threads_6
    TIPC template    the models template's test_serving.sh: cpu_usemkldnn_..., gpu_usetrt_... (server_infer_* logs)
    PaddleOCR legacy PaddleOCR's test_serving.sh of 2021-2022, which the template copies (the same names)
    PaddleSeg        test_tipc/test_serving_infer_python.sh           gpu, cpu
    PaddleVideo      test_tipc/test_serving_infer_python.sh           gpu (one case, no device line)
    Step6            models tutorials' test_serving_infer_python.sh   gpu, cpu

The harness's own configs (tipc_serving/config/tipc.py) are the `tipc-serving` dialect: its matrix, its
service and clients. A config is recognised by its header and the keys only its dialect has.
"""
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..errors import ConfigError, UsageError
from .reader import NULL, Entry

OWN = "tipc-serving"


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
class DialectCase:
    name: str                           # the script's log name for the case: the case's name here
    device: str                         # cpu or gpu
    settings: Dict[str, str]            # the loop variables of the script, as in the name
    service: Command
    clients: List[Command]
    config_edits: Dict[str, object] = field(default_factory=dict)  # config.yml keys the script sets (sed)
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


def _client(script_value, args, log, cwd):
    words = eval_words(script_value)
    return Command(words + [a for a in args if a], cwd, log, label="gRPC" if "rpc" in words[0] else "HTTP")


def _convert(trans_model, flags, cwd, log):
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

    def config(self, entries, **fields):
        """The DialectConfig of the fields build() found; serving_dir is the config's unless it says otherwise."""
        for case in fields["cases"]:
            case.model_name = entries.value("model_name")
        fields.setdefault("serving_dir", entries.value("serving_dir"))
        return DialectConfig(path=entries.path, dialect=self.name, script=self.script,
                             model_name=entries.value("model_name"), python=entries.value("python"),
                             lines=entries.lines(), **fields)


CONVERT = ("--dirname", "--model_filename", "--params_filename", "--serving_server", "--serving_client")


class PaddleClas(Dialect):
    """14 lines (one model), or 18 for PP-ShiTu (--dirname, --serving_server, --serving_client twice: the
    recognition model, then the detector). `--use_gpu:0|null` switches the device by editing config.yml
    (device_type and devices); the client takes no argument (its image is built in)."""

    name = "PaddleClas"
    known = {"model_name", "python", "inference_model_url", "cls_inference_model_url", "det_inference_model_url",
             "trans_model", "serving_dir", "web_service", "--use_gpu", "pipline", *CONVERT}

    def build(self, entries):
        shitu = "PPShiTu" in (entries.value("model_name") or "")  # the script dispatches on model_name
        base = "deploy" if shitu else "."

        def at(path):
            """A path of the config (the script reads it from `base`), from the repository's root."""
            return posixpath.normpath(posixpath.join(base, path)) if path and base != "." else path
        serving = at(entries.value("serving_dir"))
        conversions = []
        roles = ("cls", "det") if shitu else ("model",)
        urls = {"cls": "cls_inference_model_url", "det": "det_inference_model_url", "model": "inference_model_url"}
        for index, role in enumerate(roles):
            def nth(key):
                found = entries.all(key)
                return found[index] if len(found) > index else None
            server, client = (nth(key).value if nth(key) else None for key in ("--serving_server", "--serving_client"))
            log = "python_trans_model{}.log".format("_" + role if shitu else "")
            conversions.append(_conversion(entries, role, nth("--dirname"), server, client, base, log,
                                           entries.first(urls[role]), at))
        web = eval_words(entries.value("web_service"))
        client = entries.value("pipline")
        cases = []
        for use_gpu in values_of(entries.value("--use_gpu") or NULL):
            gpu = use_gpu != NULL
            if gpu:
                name, edits = "gpu_usetrt__precision_", {"device_type": 1, "devices": "0"}
                client_log = "python_client_gpu_{}_usetrt__precision__batchsize_1.log".format(stem(client))
            else:
                name, edits = "cpu", {"device_type": 0, "devices": ""}
                client_log = "python_client_cpu_{}_usemkldnn_False_threads_1_batchsize_1.log".format(stem(client))
            if not shitu:  # the script points config.yml at the converted model (sed on its line 21)
                edits["model_config"] = (conversions[0].serving_server or "").rstrip("/").split("/")[-1]
            cases.append(DialectCase(name, "gpu" if gpu else "cpu", {"use_gpu": use_gpu},
                                     Command(web, serving, "python_server_{}.log".format(name)),
                                     [_client(client, [], client_log, serving)],
                                     {"local_service_conf." + k: v for k, v in edits.items()}))
        return self.config(entries, conversions=conversions, cases=cases, service_config="config.yml",
                           serving_dir=serving,  # PP-ShiTu: deploy/paddleserving/recognition
                           coverage="PaddleClas replies name labels, and the client sends its own built-in image, "
                                    "which the config does not name")


class PaddleOCR(Dialect):
    """23 lines: the detector and the recogniser (--det_*, --rec_*; null for the one a config lacks), the
    device list op.det.local_service_conf.devices:gpu|null, and key-only lines whose value the script fills
    in (the converted models' folders). GPU: use_trt x precision (fp16/int8 only with TensorRT); CPU:
    use_mkldnn x thread_num."""

    name = "PaddleOCR"
    known = {"model_name", "python", "trans_model", "--det_dirname", "--model_filename", "--params_filename",
             "--det_serving_server", "--det_serving_client", "--rec_dirname", "--rec_serving_server",
             "--rec_serving_client", "serving_dir", "web_service", "pipline", "--image_dir"}
    patterns = (r"op\.(det|rec)\.local_service_conf\.(devices|use_mkldnn|thread_num|use_trt|precision|model_config)",)
    required = Dialect.required + ("pipline",)
    both = ("ch_PP-OCRv2", "ch_PP-OCRv3", "ch_ppocr_mobile_v2_0", "ch_ppocr_server_v2_0")

    def roles(self, model_name):
        """The script's model branch: both models for the system configs, else by name."""
        if model_name in self.both:
            return ("det", "rec")
        return ("det",) if "det" in model_name else ("rec",) if "rec" in model_name else ()

    def op_value(self, entries, leaf):
        found = entries.matching(r"op\.(det|rec)\.local_service_conf\." + leaf)
        return (found[0].key, found[0].value) if found else (None, None)

    def build(self, entries):
        model = entries.value("model_name") or ""
        conversions, model_configs = [], []
        for role in self.roles(model):
            server, client = (entries.value("--{}_{}".format(role, k)) for k in ("serving_server", "serving_client"))
            conversions.append(_conversion(entries, role, entries.first("--{}_dirname".format(role)), server, client,
                                           ".", "python_trans_model_{}.log".format(role)))
            key = next((e.key for e in entries.matching(r"op\.{}\.local_service_conf\.model_config".format(role))), None)
            model_configs.append(set_param(key, (server or "").rstrip("/").split("/")[-1]))
        web = eval_words(entries.value("web_service"))
        image = entries.first("--image_dir")
        devices_key, devices = self.op_value(entries, "devices")
        cases = []
        for use_gpu in values_of(devices or NULL):
            if use_gpu == "gpu":
                trt_key, trts = self.op_value(entries, "use_trt")
                precision_key, precisions = self.op_value(entries, "precision")
                for trt, precision in trt_precisions(trts or NULL, precisions or NULL):
                    settings = {"use_trt": trt, "precision": precision}
                    opts = [set_param(trt_key, trt), set_param(precision_key, precision)] + model_configs
                    cases.append(self.case("gpu", "usetrt_{}_precision_{}".format(trt, precision), settings,
                                           web, opts, entries, image))
            elif use_gpu == NULL:
                mkldnn_key, mkldnns = self.op_value(entries, "use_mkldnn")
                threads_key, threads = self.op_value(entries, "thread_num")
                for mkldnn in values_of(mkldnns or NULL):
                    for thread in values_of(threads or NULL):
                        settings = {"use_mkldnn": mkldnn, "thread_num": thread}
                        opts = ["{}=".format(devices_key), set_param(mkldnn_key, mkldnn),
                                set_param(threads_key, thread)] + model_configs
                        cases.append(self.case("cpu", "usemkldnn_{}_threads_{}".format(mkldnn, thread), settings,
                                               web, opts, entries, image))
        return self.config(entries, conversions=conversions, cases=cases, service_config=_config_flag(web),
                           coverage="OCR answers (text and boxes) are not classes and probabilities")

    def case(self, device, suffix, settings, web, opts, entries, image):
        name = "{}_{}".format(device, suffix)
        clients = []
        for client in values_of(entries.value("pipline")):
            args = eval_words(client)[1:] + ([set_param(image.key, image.value)] if image else [])
            log = "python_client_{}_{}_{}_batchsize_1.log".format(device, stem(client), suffix)
            clients.append(_client(eval_words(client)[0], args, log, entries.value("serving_dir")))
        return DialectCase(name, device, settings,
                           Command(web + [o for o in opts if o], entries.value("serving_dir"),
                                   "python_server_{}.log".format(name)), clients)


class PaddleDetection(Dialect):
    """24 lines, header serving_infer_python_params, `##` separators, an export block (no conversion: the
    export writes the serving model), and the device list `--opt:cpu:<dotted=value>|gpu:<dotted=value>`
    passed as `--opt=<dotted=value>`. The commands run from the repository's root."""

    name = "PaddleDetection"
    known = {"model_name", "python", "filename", "--output_dir", "weights", "norm_export", "quant_export",
             "fpgm_export", "distill_export", "export1", "export2", "kl_quant_export", "infer_mode", "infer_quant",
             "web_service", "--model_dir", "--opt", "http_client", "--image_file", "--image_dir"}
    required = ("model_name", "python", "web_service", "http_client")

    def build(self, entries):
        model = entries.value("model_name")
        output_dir = entries.value("--output_dir") or "./output_inference"
        conversions = []
        for mode in values_of(entries.value("infer_mode") or NULL):
            if mode == NULL:
                continue
            export = entries.value("{}_export".format(mode))
            argv = eval_words(export or "") + [p for p in (set_param("weights", entries.value("weights")),
                                                           set_param("filename", model),
                                                           set_param("--output_dir", output_dir)) if p]
            conversions.append(Conversion("export", None, "{}/{}/serving_server".format(output_dir.rstrip("/"), model),
                                          None, Command(argv, ".", "export.log", label="export"),
                                          entries.first("weights")))
        web = eval_words(entries.value("web_service")) + [set_param("--model_dir", "{}/{}".format(output_dir, model))]
        image = entries.first("--image_file") or entries.first("--image_dir")
        client = entries.value("http_client")
        cases = []
        for item in values_of(entries.value("--opt") or "cpu:"):
            device, _, option = item.partition(":")
            clients = [_client(client, [set_param(image.key, image.value)] if image else [],
                               "python_client_{}.log".format(device), ".")]
            cases.append(DialectCase(device, "gpu" if device == "gpu" else "cpu", {"device": device},
                                     Command(web + (["--opt={}".format(option)] if option else []), ".",
                                             "python_server_{}.log".format(device)), clients))
        return self.config(entries, conversions=conversions, cases=cases, serving_dir=".",
                           service_config=_config_flag(web),
                           coverage="detection answers (boxes) are not classes and probabilities")


class PaddleSeg(Dialect):
    """16 lines: the device key `--opt op.seg.local_service_conf.devices` (a key with a space), values
    "0"|null, and --input_name/--output_name passed to the service (--input_name to the client too). The
    service's --opt takes one string."""

    name = "PaddleSeg"
    known = {"model_name", "python", "trans_model", "serving_dir", "web_service", "pipline", "--img_path",
             "--input_name", "--output_name", *CONVERT}
    patterns = (r"--opt op\.\w+\.local_service_conf\.devices",)

    def build(self, entries):
        conversions = [_one_conversion(entries, "python_trans_model.log")]
        web = eval_words(entries.value("web_service"))
        names = [set_param(k, entries.value(k)) for k in ("--input_name", "--output_name")]
        image = entries.first("--img_path")
        client = entries.value("pipline")
        cases = []
        for value, device, option in _opt_devices(entries, self.patterns[0]):
            args = ([set_param(image.key, image.value)] if image else []) + [names[0]]
            cases.append(DialectCase(device, device, {"devices": value},
                                     Command(web + [n for n in names if n] + (["--opt", option] if option else []),
                                             entries.value("serving_dir"), "python_server_{}.log".format(device)),
                                     [_client(client, args, "python_client_{}_batchsize_1.log".format(device),
                                              entries.value("serving_dir"))]))
        return self.config(entries, conversions=conversions, cases=cases, service_config=_config_flag(web),
                           coverage="segmentation answers (label maps) are not classes and probabilities")


class PaddleVideo(Dialect):
    """13 lines, no device line: one case on the service's own config (a GPU one in PaddleVideo's). The
    client reads --input_file."""

    name = "PaddleVideo"
    known = {"model_name", "python", "trans_model", "serving_dir", "web_service", "pipline", "--input_file",
             *CONVERT}

    def build(self, entries):
        web = eval_words(entries.value("web_service"))
        source = entries.first("--input_file")
        client = entries.value("pipline")
        case = DialectCase("gpu", "gpu", {}, Command(web, entries.value("serving_dir"), "python_server_gpu.log"),
                           [_client(client, [set_param(source.key, source.value)] if source else [],
                                    "python_server_infer_gpu_batchsize_1.log", entries.value("serving_dir"))])
        return self.config(entries, conversions=[_one_conversion(entries, "python_trans_model.log")], cases=[case],
                           service_config=_config_flag(web),
                           coverage="video answers (action labels of a clip) are not image classes")


class Step6(Dialect):
    """The models repository's tutorial: `--opt op.<name>.local_service_conf.devices:"0"|null` only; the
    service's own --opt (devices only), the client's --image_dir."""

    name = "Step6"
    known = {"model_name", "python", "trans_model", "serving_dir", "web_service", "pipline", "--image_dir",
             *CONVERT}
    patterns = (r"--opt op\.\w+\.local_service_conf\.devices",)

    def build(self, entries):
        web = eval_words(entries.value("web_service"))
        image = entries.first("--image_dir")
        client = entries.value("pipline")
        cases = []
        for value, device, option in _opt_devices(entries, self.patterns[0]):
            cases.append(DialectCase(device, device, {"devices": value},
                                     Command(web + (["--opt", option] if option else []), entries.value("serving_dir"),
                                             "python_server_{}.log".format(device)),
                                     [_client(client, [set_param(image.key, image.value)] if image else [],
                                              "python_client_{}.log".format(device), entries.value("serving_dir"))]))
        model = entries.value("model_name")
        return self.config(entries, conversions=[_one_conversion(entries, "python_trans_model_{}.log".format(model))],
                           cases=cases, service_config=_config_flag(web),
                           coverage="the tutorial's client prints its own reply format, not this harness's result "
                                    "lines")


class Template(Dialect):
    """The models repository's template (docs/tipc/serving/template/test/, 18 lines) and PaddleOCR's older
    test_serving.sh: bare op.<name>.local_service_conf.* lines, `null:null` placeholders, options passed as
    bare `key=value` words, client logs named server_infer_*; the service's output is not kept."""

    name = "TIPC template"
    script = "test_tipc/test_serving.sh"
    gpu_value = "0"        # `elif [ ${use_gpu} = "0" ]`: a quoted "0" keeps its quotes in the shell and never matches
    cpu_devices = NULL     # CPU: `${web_use_gpu_key}=${use_gpu}`, i.e. devices=null
    gpu_devices = True     # GPU: `${web_use_gpu_key}=${use_gpu} ${set_tensorrt} ${set_precision}`
    known = {"model_name", "python", "trans_model", "serving_dir", "web_service", "pipline", "--image_dir",
             "--img_dir", *CONVERT}
    patterns = (r"op\.\w+\.local_service_conf\.(devices|use_mkldnn|thread_num|use_trt|precision)",)

    def leaf(self, entries, leaf):
        found = entries.matching(r"op\.\w+\.local_service_conf\." + leaf)
        return (found[0].key, found[0].value) if found else (None, NULL)

    def build(self, entries):
        web = eval_words(entries.value("web_service"))
        image = entries.first("--image_dir") or entries.first("--img_dir")
        devices_key, devices = self.leaf(entries, "devices")
        cases = []
        for value in values_of(devices):
            if value == NULL:
                mkldnn_key, mkldnns = self.leaf(entries, "use_mkldnn")
                threads_key, threads = self.leaf(entries, "thread_num")
                for mkldnn in values_of(mkldnns):
                    for thread in values_of(threads):
                        # the mkldnn pair is written raw, not through func_set_params (the template's
                        # null:null placeholder line gives the word null=null)
                        options = ["{}={}".format(devices_key, self.cpu_devices),
                                   "{}={}".format(mkldnn_key or NULL, mkldnn), set_param(threads_key, thread)]
                        cases.append(self.case("cpu", "usemkldnn_{}_threads_{}".format(mkldnn, thread), web, options,
                                               entries, image))
            elif value == self.gpu_value:
                trt_key, trts = self.leaf(entries, "use_trt")
                precision_key, precisions = self.leaf(entries, "precision")
                for trt, precision in trt_precisions(trts, precisions):
                    options = [set_param(devices_key, value) if self.gpu_devices else None,
                               set_param(trt_key, trt), set_param(precision_key, precision)]
                    cases.append(self.case("gpu", "usetrt_{}_precision_{}".format(trt, precision), web, options,
                                           entries, image))
        return self.config(entries, conversions=[_one_conversion(entries, None)], cases=cases,
                           service_config=_config_flag(web),
                           coverage="the template's client prints its own reply format, not this harness's result "
                                    "lines")

    def case(self, device, suffix, web, options, entries, image):
        clients = []
        for client in values_of(entries.value("pipline")):
            log = "server_infer_{}_{}_{}_batchsize_1.log".format(device, stem(client), suffix)
            clients.append(_client(client, [set_param(image.key, image.value)] if image else [], log,
                                   entries.value("serving_dir")))
        return DialectCase("{}_{}".format(device, suffix), device, {}, Command(
            web + [o for o in options if o], entries.value("serving_dir"), None), clients)


class PaddleOCRLegacy(Template):
    """PaddleOCR's test_tipc/test_serving.sh (2021-10 to 2022-05), which the template copies: the same 18-line
    layout without null:null lines (op.det|rec.local_service_conf.devices, use_mkldnn, thread_num, use_trt,
    precision), but GPU is the value `gpu` and passes no devices word, and CPU passes `devices=` (empty)."""

    name = "PaddleOCR legacy"
    gpu_value = "gpu"      # `elif [ ${use_gpu} = "gpu" ]`; "0" and '"0"' fall to "Does not support hardware"
    cpu_devices = ""       # `${web_use_gpu_key}=""`
    gpu_devices = False    # `${web_service_py} ${set_tensorrt} ${set_precision} &`
    leaves = ("devices", "use_mkldnn", "thread_num", "use_trt", "precision")

    def signature(self, keys):
        """All five bare op.<name>.local_service_conf.* lines of one op, and a --dirname."""
        ops = {m.group(1) for m in (re.fullmatch(r"op\.(\w+)\.local_service_conf\.devices", k) for k in keys) if m}
        return "--dirname" in keys and any(
            all("op.{}.local_service_conf.{}".format(op, leaf) in keys for leaf in self.leaves) for op in ops)


def _opt_devices(entries, pattern):
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


def _conversion(entries, role, dirname_entry, server, client, cwd, log, download=None, at=lambda path: path):
    """One model's conversion as the scripts run it: trans_model with the config's paths, from cwd; the
    Conversion's paths from the repository's root (at: PP-ShiTu's paths are read from deploy/)."""
    trans = entries.value("trans_model") or "-m paddle_serving_client.convert"
    dirname = dirname_entry.value if dirname_entry else None
    model_filename, params_filename = entries.value("--model_filename"), entries.value("--params_filename")
    flags = [("--dirname", dirname), ("--model_filename", model_filename), ("--params_filename", params_filename),
             ("--serving_server", server), ("--serving_client", client)]
    return Conversion(role, at(dirname), at(server), at(client), _convert(trans, flags, cwd, log), download,
                      model_filename, params_filename, dirname_entry)


def _one_conversion(entries, log):
    return _conversion(entries, "model", entries.first("--dirname"), entries.value("--serving_server"),
                       entries.value("--serving_client"), ".", log)


def _config_flag(words):
    """The config.yml the service reads: its --config/-c argument, else config.yml."""
    for index, word in enumerate(words):
        for flag in ("--config=", "-c="):
            if word.startswith(flag):
                return word[len(flag):]
        if word in ("--config", "-c") and index + 1 < len(words):
            return words[index + 1]
    return "config.yml"


DIALECTS = (PaddleDetection(), PaddleOCR(), PaddleClas(), PaddleSeg(), PaddleVideo(), Step6(), Template(),
            PaddleOCRLegacy())
# Keys only the harness's own configs have: a config with one of them is the tipc-serving dialect.
OWN_KEYS = ("pipeline_rpc", "atol", "rtol", "ready_timeout", "pipeline")
OWN_MATRIX = re.compile(r"(--opt )?op\.\w+\.local_service_conf\.(use_mkldnn|thread_num|use_trt|precision)")


def detect(header, entries, placeholders=0):
    """The dialect of a config (a Dialect, or OWN), from its header and the keys only that dialect has.
    placeholders: how many `null:null` lines it has (the template's layout keeps its line count with them)."""
    keys = set(entries.keys())
    if header == "serving_infer_python_params":
        return DIALECTS[0]
    if keys & set(OWN_KEYS) or any(OWN_MATRIX.fullmatch(k) and k.startswith("--opt") for k in keys):
        return OWN
    if keys & {"--det_dirname", "--rec_dirname"}:
        return DIALECTS[1]
    if "--use_gpu" in keys or any(k.endswith("inference_model_url") for k in keys):
        return DIALECTS[2]
    if keys & {"--input_name", "--output_name"}:
        return DIALECTS[3]
    if "--input_file" in keys:
        return DIALECTS[4]
    if any(re.fullmatch(Step6.patterns[0], k) for k in keys) and not any(k.startswith("op.") for k in keys):
        devices_only = all(not OWN_MATRIX.fullmatch(k) for k in keys)
        return DIALECTS[5] if devices_only else OWN
    if placeholders and any(re.fullmatch(Template.patterns[0], k) for k in keys):
        return DIALECTS[6]
    if not placeholders and DIALECTS[7].signature(keys):
        return DIALECTS[7]
    return OWN


NAMES = [OWN] + [d.name for d in DIALECTS]
# Layouts that the harness's own configs can have too: told apart by the web service's --name option.
AMBIGUOUS = (Step6, Template)


def by_name(name):
    """The dialect called name (OWN for the harness's own); a UsageError lists the names otherwise."""
    if name == OWN:
        return OWN
    found = next((d for d in DIALECTS if d.name.lower() == name.lower()), None)
    if found is None:
        raise UsageError("unknown dialect '{}' (known: {})".format(name, ", ".join(NAMES)))
    return found


def owners_of(key):
    """The dialects a key belongs to (for a message better than 'unknown key')."""
    return [d.name for d in DIALECTS if d.knows(key)]


def build(dialect, entries, errors):
    """The DialectConfig of a foreign config; every problem goes to errors (None when there is any)."""
    before = len(errors)
    dialect.check(entries, errors)
    if len(errors) > before:
        return None
    return dialect.build(entries)
