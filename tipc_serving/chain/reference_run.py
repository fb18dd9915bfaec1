"""Run a repository's inference script as `python SCRIPT ARGS` would, with its repository importable the way
its TIPC setup makes it (`pip install` of the repository): `--path DIR` first on sys.path, `--package
NAME=DIR` importing NAME from DIR (PaddleClas's scripts import `paddleclas.deploy...`, the repository's own
root). The script runs unchanged as __main__ (chain/answers.py reads what it prints and writes).

    python -m tipc_serving.chain.reference_run [--path DIR]... [--package NAME=DIR] -- SCRIPT [ARGS...]
"""
import os
import runpy
import sys
import types


def main(argv):
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    paths, packages = [], []
    for flag, value in zip(options[::2], options[1::2]):
        (paths if flag == "--path" else packages).append(value)
    for name, folder in (p.split("=", 1) for p in packages):
        module = types.ModuleType(name)  # the folder as a package, without running its __init__ (the whole toolkit)
        module.__path__ = [folder]
        sys.modules[name] = module
    script = os.path.abspath(command[0])
    sys.path[:0] = [os.path.dirname(script)] + paths
    sys.argv = [command[0]] + command[1:]
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
