"""`gf.logging`: TF1's tf.logging (set_verbosity, info, warning …) over Python's logging module."""
from __future__ import annotations

import logging as _logging
from typing import Any

DEBUG, INFO, WARN, WARNING, ERROR, FATAL = (_logging.DEBUG, _logging.INFO, _logging.WARNING, _logging.WARNING,
                                            _logging.ERROR, _logging.CRITICAL)
_logger = _logging.getLogger("graphflow")


def get_logger() -> _logging.Logger:
    return _logger


def set_verbosity(level: int) -> None:
    """Messages below `level` (e.g. gf.logging.INFO) are not shown."""
    if not _logger.handlers:
        _logger.addHandler(_logging.StreamHandler())
    _logger.setLevel(level)


def get_verbosity() -> int:
    return _logger.getEffectiveLevel()


def debug(msg: Any, *args: Any) -> None:
    _logger.debug(msg, *args)


def info(msg: Any, *args: Any) -> None:
    _logger.info(msg, *args)


def warning(msg: Any, *args: Any) -> None:
    _logger.warning(msg, *args)


warn = warning


def error(msg: Any, *args: Any) -> None:
    _logger.error(msg, *args)


def fatal(msg: Any, *args: Any) -> None:
    _logger.critical(msg, *args)
