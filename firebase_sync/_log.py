"""The kit's loggers: ``firebase_sync.<module>`` on the standard :mod:`logging` module.

Silent by default (the package logger has a ``NullHandler``); an application sees reconnects
(WARNING), give-ups (ERROR) and replay failures (WARNING while retried, ERROR when final) once
it configures logging. Messages pass through :func:`redact`, so a credential that found its way
into an error text (an ``Authorization`` header, an ``auth=`` or ``access_token=`` parameter)
is never written out.
"""

from __future__ import annotations

import logging
import re

__all__ = ["logger", "redact"]

_SECRET = re.compile(r"(?i)(bearer\s+|(?:auth|access_token|id_token|api_key|token)=)[^\s&\"',;]+")


def logger(module: str) -> logging.Logger:
    """The logger of a kit module (pass ``__name__``)."""
    return logging.getLogger(module)


def redact(text: object) -> str:
    """``text`` with anything that looks like a credential replaced by ``***``."""
    return _SECRET.sub(r"\1***", str(text))
