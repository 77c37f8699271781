"""Logging an error without the data it carried.

An exception's message can quote what failed: PostgreSQL's "Key (openid)=(o_…) already exists",
a KeyError holding a resident's text. Logs keep the exception types, the SQLSTATE and where it
happened (file, line, function and the source line), never the messages, so a failing database
or a bug never writes message text, phones or openids into a log.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from handlers.masking import pseudonym


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _name(exc: BaseException) -> str:
    """The type, with PostgreSQL's SQLSTATE and constraint name (schema, not data) if any."""
    details = []
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate:
        details.append(f"sqlstate {sqlstate}")
    constraint = getattr(getattr(exc, "diag", None), "constraint_name", None)
    if constraint:
        details.append(f"constraint {constraint}")
    name = type(exc).__qualname__
    return f"{name} ({', '.join(details)})" if details else name


def describe_error(exc: BaseException) -> str:
    """The exception's type (and what caused it, and a SQLSTATE), without any message text."""
    return " ← ".join(_name(e) for e in _chain(exc))


def scrubbed_traceback(exc: BaseException) -> str:
    """Where `exc` was raised, frame by frame, ending in its types but none of its messages."""
    lines = ["Traceback (messages withheld):"]
    for frame in traceback.extract_tb(exc.__traceback__):
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    lines.append(describe_error(exc))
    return "\n".join(lines)


def log_error(logger: logging.Logger, message: str, *args: Any, exc: BaseException) -> None:
    """`logger.error(message % args)` followed by the scrubbed traceback of `exc`."""
    logger.error(message + "\n%s", *args, scrubbed_traceback(exc))


# Paths that carry an openid (local mode's inbox for `sheli chat` and the simulator).
_OPENID_IN_PATH = re.compile(r"^(/local/inbox/)([^/?#]+)")


def safe_path(path: str | None) -> str:
    """A request path fit for the access log: an openid in it becomes its pseudonym."""
    return _OPENID_IN_PATH.sub(lambda m: m[1] + pseudonym(m[2]), path or "")
