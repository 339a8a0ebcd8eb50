"""Error classes with TensorFlow 1 names; messages say which op failed and where the user created it."""
from __future__ import annotations

from typing import Any, Optional


class OpError(Exception):
    """Base class for runtime errors raised while running a graph.

    Attributes:
        node_def: always None (kept for TF1 compatibility).
        op: the Operation that failed, or None.
        message: the human-readable message.
        error_code: TF's numeric status code.
    """

    error_code = 2

    def __init__(self, node_def: Any = None, op: Any = None, message: str = "", error_code: Optional[int] = None):
        self.node_def = node_def
        self.op = op
        self.message = message
        if error_code is not None:
            self.error_code = error_code
        super().__init__(self._render())

    def _render(self) -> str:
        if self.op is None:
            return self.message
        where = getattr(self.op, "traceback_line", None)
        head = f"{self.message}\n  [[node {self.op.name} (op {self.op.type})"
        if where:
            head += f", defined at {where}"
        return head + "]]"


class CancelledError(OpError):
    error_code = 1


class UnknownError(OpError):
    error_code = 2


class InvalidArgumentError(OpError):
    error_code = 3


class DeadlineExceededError(OpError):
    error_code = 4


class NotFoundError(OpError):
    error_code = 5


class AlreadyExistsError(OpError):
    error_code = 6


class PermissionDeniedError(OpError):
    error_code = 7


class ResourceExhaustedError(OpError):
    error_code = 8


class FailedPreconditionError(OpError):
    error_code = 9


class AbortedError(OpError):
    error_code = 10


class OutOfRangeError(OpError):
    error_code = 11


class UnimplementedError(OpError):
    error_code = 12


class InternalError(OpError):
    error_code = 13


class UnavailableError(OpError):
    error_code = 14


class DataLossError(OpError):
    error_code = 15


class UnauthenticatedError(OpError):
    error_code = 16
