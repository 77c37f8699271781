"""What every import shares: the refusal that lists each bad row, the result, numbered rows, and
the parsing of text, counts and times. Problems are written 「第N行：问题」 (messages.IMPORT_ROW),
rows numbered as an operator sees them: the N-th item of a YAML list, the N-th line of a CSV
file (header = 1). Field names in problems are the Chinese ones (messages.IMPORT_FIELD_NAMES)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from handlers import messages as msg
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
        items = [
            msg.IMPORT_RESULT_NEW_ITEM.format(what=msg.IMPORT_DETAIL_NAMES.get(k, k), n=v)
            for k, v in self.details.items()
            if v
        ]
        new = msg.IMPORT_RESULT_NEW.format(items="、".join(items)) if items else ""
        return msg.IMPORT_RESULT.format(created=self.created, updated=self.updated) + new


def field_name(key: str) -> str:
    """The Chinese name of a file's field ("capacity" → "名额")."""
    return msg.IMPORT_FIELD_NAMES.get(key, key)


def row_problem(number: int, problem: str) -> str:
    """「第3行：名称为空」."""
    return msg.IMPORT_ROW.format(n=number, problem=problem)


def numbered_rows(data: Any, what: str, csv_file: bool) -> list[tuple[int, Mapping[str, Any]]]:
    """Numbered rows of a list of mappings; anything else is a file-level problem.

    `what` is a key of messages.IMPORT_WHAT (events, rooms, alliance_units, volunteers)."""
    name = msg.IMPORT_WHAT.get(what, what)
    if data is None:
        raise ImportRejected([msg.IMPORT_NO_DATA.format(what=name)])
    if not isinstance(data, list):
        raise ImportRejected([msg.IMPORT_NOT_A_LIST.format(what=name)])
    rows, problems = [], []
    for index, row in enumerate(data, start=1):
        number = index + 1 if csv_file else index
        if not isinstance(row, Mapping):
            problems.append(row_problem(number, msg.IMPORT_NOT_A_ROW.format(value=row)))
        else:
            rows.append((number, row))
    if problems:
        raise ImportRejected(problems)
    return rows


def text_of(row: Mapping[str, Any], key: str) -> str:
    """A field as stripped text ("" when missing)."""
    value = row.get(key)
    return "" if value is None else str(value).strip()


def parse_time(value: Any, timezone: str, name: str = "时间") -> datetime:
    """ISO 8601 with a timezone, or local site time; returned as naive UTC. `name` is the
    field's Chinese name, for the problem's sentence."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        raise ValueError(msg.IMPORT_NO_TIME_OF_DAY.format(name=name, value=value.isoformat()))
    else:
        text = str(value or "").strip().replace("/", "-")
        if not text:
            raise ValueError(msg.IMPORT_MISSING.format(name=name))
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            raise ValueError(msg.IMPORT_NO_TIME_OF_DAY.format(name=name, value=text))
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(msg.IMPORT_NOT_A_TIME.format(name=name, value=text)) from None
    return to_utc(moment, timezone)


def parse_count(value: Any, name: str, *, required: bool = False) -> int | None:
    """A whole number ≥ 0; empty is None unless required. `name` is the field's Chinese name."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(msg.IMPORT_MISSING.format(name=name))
        return None
    if isinstance(value, bool):
        raise ValueError(msg.IMPORT_NOT_A_COUNT.format(name=name, value=value))
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(msg.IMPORT_NOT_A_COUNT.format(name=name, value=text))
        number = int(text)
    if number < 0:
        raise ValueError(msg.IMPORT_NEGATIVE.format(name=name, value=number))
    return number
