"""Stand-in for PaddleOCR's ppocr/utils/logging.py, written for the tests: get_logger as the inference scripts call
it, one "ppocr" logger a process, its lines on stdout as `[<time>] ppocr <LEVEL>: <message>` (the format the harness
reads) and, given log_file, into that file too."""
import logging
import os
import sys

_LOGGERS = {}


def get_logger(name="ppocr", log_file=None, log_level=logging.DEBUG):
    if name in _LOGGERS:
        return _LOGGERS[name]
    logger = logging.getLogger(name)
    formatter = logging.Formatter("[%(asctime)s] %(name)s %(levelname)s: %(message)s", datefmt="%Y/%m/%d %H:%M:%S")
    handler = logging.StreamHandler(stream=sys.stdout)
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    if log_file is not None:
        os.makedirs(os.path.dirname(log_file) or ".", exist_ok=True)
        file_handler = logging.FileHandler(log_file, "a")
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
    logger.setLevel(log_level)
    logger.propagate = False  # paddle_serving_app's root handler would print each line twice
    _LOGGERS[name] = logger
    return logger
