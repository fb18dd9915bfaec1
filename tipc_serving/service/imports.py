"""Whether a web service's imports resolve in the interpreter that will run it, checked when the plan is made.

PaddleClas's and PaddleOCR's web services import paddle_serving_app.reader, which needs sentencepiece,
shapely and pyclipper; a service that cannot import dies at start, and its log names one missing module per
round. The plan reads the script's top-level imports (an import inside `try: ... except ImportError:` has
its alternatives: one of them must work, as paddle_serving_server_gpu or paddle_serving_server), imports
each in the service's interpreter from the service's folder (so the script's own modules, e.g. ocr_reader,
are imported too, with everything they import), and names the first module that is missing and the
package that provides it.
"""
import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# The package to install for a module that is missing (pip names; the README's commands install them).
PACKAGES = {
    "sentencepiece": "sentencepiece==0.1.96", "shapely": "shapely", "pyclipper": "pyclipper",
    "cv2": "opencv-python-headless", "yaml": "PyYAML", "PIL": "pillow", "requests": "requests",
    "paddle": "paddlepaddle-gpu==2.5.2", "paddle_serving_server": "paddle-serving-server-gpu==0.9.0.post1028",
    "paddle_serving_client": "paddle-serving-client==0.9.0", "paddle_serving_app": "paddle-serving-app==0.9.0 --no-deps",
    "skimage": "scikit-image", "sklearn": "scikit-learn", "scipy": "scipy", "numpy": "numpy<2",
}
IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
CHECK_TIMEOUT = 120.0

# Run in the service's interpreter: import each group's alternatives, report the groups none of which imports.
_CHECKER = r"""
import importlib, json, os, sys
sys.path.insert(0, sys.argv[1])
scope = {"__file__": sys.argv[3], "__name__": "__tipc_import_check__", "os": os, "sys": sys}
for statement in json.loads(sys.argv[4]):  # the script's own sys.path changes, as it makes them
    try:
        exec(statement, scope)
    except Exception:
        pass
failed = []
for group in json.loads(sys.argv[2]):
    problems = []
    for alternative in group:
        try:
            for module in alternative:
                importlib.import_module(module)
            problems = None
            break
        except BaseException as err:
            missing = getattr(err, "name", None) if isinstance(err, ImportError) else None
            problems.append({"module": module, "missing": missing,
                             "error": "{}: {}".format(type(err).__name__, err).splitlines()[0]})
    if problems:
        failed.append(problems[-1])  # the fallback's failure: the first alternative may be a legacy name
print(json.dumps(failed))
"""


def _modules(statements):
    """The absolute modules a list of import statements imports (`from a.b import c` imports a.b)."""
    found = []
    for node in statements:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


def _catches_import_error(handler):
    names = [handler.type] if not isinstance(handler.type, ast.Tuple) else handler.type.elts
    return handler.type is None or any(getattr(name, "id", None) in IMPORT_ERRORS for name in names)


def _os_only(node):
    """Whether every call in node is an os.* function (os.path.join(...), os.path.dirname(__file__), ...)."""
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        func = call.func
        while isinstance(func, ast.Attribute):
            func = func.value
        if not (isinstance(func, ast.Name) and func.id == "os"):
            return False
    return True


def path_prelude(source):
    """The script's top-level sys.path changes and the os.path assignments they use, as source lines:
    PaddleVideo's service appends the repository's root (`__dir__ = os.path.dirname(...)`,
    `sys.path.append(...)`) before it imports paddlevideo."""
    prelude = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets) and _os_only(node):
            prelude.append(ast.get_source_segment(source, node))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(
                node.value.func, ast.Attribute) and ast.get_source_segment(source, node.value.func).startswith(
                "sys.path.") and all(_os_only(arg) for arg in node.value.args):
            prelude.append(ast.get_source_segment(source, node))
    return prelude


def import_groups(source):
    """The script's top-level imports as groups of alternatives: [[modules], [modules], ...] per group; a
    group is satisfied when one alternative imports whole."""
    groups = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            groups += [[[module]] for module in _modules([node])]
        elif isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            alternatives = [_modules(node.body)] + [_modules(h.body) for h in node.handlers]
            alternatives = [a for a in alternatives if a]
            if alternatives:
                groups.append(alternatives)
    return groups


def missing_import(python, script, cwd):
    """None when every import of script resolves in python (run from cwd); else one line naming the import
    that fails, the module that is missing and the package to install."""
    script = Path(script)
    try:
        source = script.read_text(encoding="utf-8", errors="replace")
        groups, prelude = import_groups(source), path_prelude(source)
    except (OSError, SyntaxError):
        return None  # a script that cannot be read or parsed fails visibly when the service starts
    if not groups:
        return None
    # Importing paddle_serving_server writes PipelineServingLogs/ into $SERVING_LOG_PATH (else the folder it
    # runs in): a folder of its own, removed after, so that the user's service folder stays as it was.
    with tempfile.TemporaryDirectory(prefix="tipc-import-check-") as logs:
        try:
            done = subprocess.run([str(python), "-c", _CHECKER, str(script.parent.resolve()), json.dumps(groups),
                                   str(script.resolve()), json.dumps(prelude)], cwd=str(cwd),
                                  env=dict(os.environ, SERVING_LOG_PATH=logs), stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, timeout=CHECK_TIMEOUT, universal_newlines=True)
            failed = json.loads(done.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
            return None  # the interpreter itself is checked elsewhere; the service's start says the rest
    if not failed:
        return None
    first = failed[0]
    why = first["error"]
    missing = (first["missing"] or "").split(".")[0]
    hint = "; install it: pip install {}".format(PACKAGES[missing]) if missing in PACKAGES else ""
    return "{} cannot start in {}: `import {}` fails: {}{}".format(
        script.name, python, first["module"], why, hint)


if __name__ == "__main__":  # python -m tipc_serving.service.imports PYTHON SCRIPT: the check by hand
    print(missing_import(sys.argv[1], sys.argv[2], Path(sys.argv[2]).parent) or "every import resolves")
