"""TIPC's status lines, which PaddlePaddle's nightly CI greps for "with command" and splits on " - ".

    Run successfully with command - alexnet - python3.9 web_service.py ... - /path/to/server.log!
    Run failed with command - alexnet - python3.9 test_tipc/compare_results.py ... - /path/to/check.log!
"""
from pathlib import Path


def status_line(ok, model_name, command, log):
    return "Run {} with command - {} - {} - {}!".format("successfully" if ok else "failed", model_name, command, log)


class StatusLog:
    """results_serving_python.log of one run: one line per command that ran, appended as it ends."""

    def __init__(self, path, model_name):
        self.path = Path(path)
        self.model_name = model_name

    def write(self, ok, command, log):
        line = status_line(ok, self.model_name, command, log)
        with open(str(self.path), "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        return line
