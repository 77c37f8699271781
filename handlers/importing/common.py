"""What every import shares: the refusal that lists each bad row, the result, numbered rows, and
the parsing of text, counts and times. Problems are written `row N: problem`, rows numbered as
an operator sees them: the N-th item of a YAML list, the N-th line of a CSV file (header = 1)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from handlers.errors import Invalid
from handlers.times import to_utc


class ImportRejected(Invalid):
    """The file had bad rows; nothing was imported. `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    details: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        new = "".join(f", {v} new {k}" for k, v in self.details.items() if v)
        return f"{self.created} created, {self.updated} updated{new}"


def numbered_rows(data: Any, what: str, csv_file: bool) -> list[tuple[int, Mapping[str, Any]]]:
    """Numbered rows of a list of mappings; anything else is a file-level problem."""
    if data is None:
        raise ImportRejected([f"the file has no {what}"])
    if not isinstance(data, list):
        raise ImportRejected([f"expected a list of {what}, got {type(data).__name__}"])
    rows, problems = [], []
    for index, row in enumerate(data, start=1):
        number = index + 1 if csv_file else index
        if not isinstance(row, Mapping):
            problems.append(f"row {number}: expected a mapping of fields, got {row!r}")
        else:
            rows.append((number, row))
    if problems:
        raise ImportRejected(problems)
    return rows


def text_of(row: Mapping[str, Any], key: str) -> str:
    """A field as stripped text ("" when missing)."""
    value = row.get(key)
    return "" if value is None else str(value).strip()


def parse_time(value: Any, timezone: str, name: str = "time") -> datetime:
    """ISO 8601 with a timezone, or local site time; returned as naive UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        raise ValueError(f"{name} {value.isoformat()} has no time of day")
    else:
        text = str(value or "").strip().replace("/", "-")
        if not text:
            raise ValueError(f"{name} is missing")
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            raise ValueError(f"{name} {text!r} has no time of day")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{name} {text!r} is not a time like 2026-11-28 09:00 or 2026-11-28T09:00+08:00"
            ) from None
    return to_utc(moment, timezone)


def parse_count(value: Any, name: str, *, required: bool = False) -> int | None:
    """A whole number ≥ 0; empty is None unless required."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"{name} is missing")
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number ≥ 0, not {value!r}")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"{name} must be a whole number ≥ 0, not {text!r}")
        number = int(text)
    if number < 0:
        raise ValueError(f"{name} must be ≥ 0, not {number}")
    return number
