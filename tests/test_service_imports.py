"""A web service's imports are checked in its own interpreter when the plan is made
(tipc_serving/service/imports.py): the module that is missing and the package to install, in one line."""
import sys
import textwrap

from tipc_serving.service import imports

# PaddleClas's web service's imports, in its shape: a legacy module name first, the real one in except.
SERVICE = textwrap.dedent("""\
    import sys
    from paddle_serving_app.reader import Sequential, Base64ToImage
    try:
        from paddle_serving_server_gpu.web_service import WebService, Op
    except ImportError:
        from paddle_serving_server.web_service import WebService, Op
    import numpy as np
    import helper_of_the_service

    def later():
        import module_imported_only_when_called
    """)


def test_the_groups_of_a_script_keep_try_except_alternatives():
    assert imports.import_groups(SERVICE) == [
        [["sys"]], [["paddle_serving_app.reader"]],
        [["paddle_serving_server_gpu.web_service"], ["paddle_serving_server.web_service"]],
        [["numpy"]], [["helper_of_the_service"]]]


def blocking_python(tmp_path, *blocked):
    """This interpreter, with the named top-level modules made missing (a sitecustomize on PYTHONPATH)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent("""\
        import sys
        BLOCKED = {blocked!r}
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError("No module named %r" % name, name=name)
        sys.meta_path.insert(0, Block())
        """).format(blocked=set(blocked)))
    python = tmp_path / "python"
    python.write_text('#!/bin/sh\nPYTHONPATH="{}" exec "{}" "$@"\n'.format(site, sys.executable))
    python.chmod(0o755)
    return python


def service_script(tmp_path):
    folder = tmp_path / "serving"
    folder.mkdir()
    (folder / "helper_of_the_service.py").write_text("import json\n")
    (folder / "web_service.py").write_text(SERVICE)
    return folder / "web_service.py"


def test_a_service_whose_imports_resolve_passes(tmp_path):
    script = service_script(tmp_path)
    assert imports.missing_import(sys.executable, script, script.parent) is None


def test_a_missing_dependency_of_paddle_serving_app_reader_is_named_with_its_package(tmp_path):
    script = service_script(tmp_path)
    problem = imports.missing_import(blocking_python(tmp_path, "sentencepiece"), script, script.parent)
    assert problem.startswith("web_service.py cannot start in ")
    assert ("`import paddle_serving_app.reader` fails: ModuleNotFoundError: No module named 'sentencepiece'; "
            "install it: pip install sentencepiece==0.1.96") in problem


def test_a_failing_fallback_is_named_not_the_legacy_alternative(tmp_path):
    script = service_script(tmp_path)
    problem = imports.missing_import(blocking_python(tmp_path, "paddle_serving_server"), script, script.parent)
    assert "`import paddle_serving_server.web_service` fails" in problem


def test_what_the_services_own_module_imports_is_checked_too(tmp_path):
    script = service_script(tmp_path)
    (script.parent / "helper_of_the_service.py").write_text("import tipc_no_such_module\n")
    problem = imports.missing_import(sys.executable, script, script.parent)
    assert "`import helper_of_the_service` fails: ModuleNotFoundError: No module named 'tipc_no_such_module'" in problem


def test_the_scripts_own_sys_path_changes_count(tmp_path):
    # PaddleVideo's service appends the repository's root before it imports paddlevideo
    (tmp_path / "repo_package").mkdir()
    (tmp_path / "repo_package" / "__init__.py").write_text("")
    folder = tmp_path / "deploy" / "serving"
    folder.mkdir(parents=True)
    script = folder / "web_service.py"
    script.write_text("import os\nimport sys\n__dir__ = os.path.dirname(os.path.abspath(__file__))\n"
                      "sys.path.append(os.path.abspath(os.path.join(__dir__, '../../')))\nimport repo_package\n")
    assert imports.path_prelude(script.read_text()) == [
        "__dir__ = os.path.dirname(os.path.abspath(__file__))",
        "sys.path.append(os.path.abspath(os.path.join(__dir__, '../../')))"]
    assert imports.missing_import(sys.executable, script, folder) is None
    script.write_text("import repo_package\n")  # without the append, the package is not found
    assert "No module named 'repo_package'" in imports.missing_import(sys.executable, script, folder)


def test_the_check_leaves_no_serving_logs_in_the_services_folder(tmp_path):
    # importing paddle_serving_server creates PipelineServingLogs/ where it runs
    script = service_script(tmp_path)
    assert imports.missing_import(sys.executable, script, script.parent) is None
    assert sorted(p.name for p in script.parent.iterdir()) == ["helper_of_the_service.py", "web_service.py"]
