"""Events from a file (YAML list or CSV) or from the dashboard's event form: the same rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers import messages as msg
from handlers.importing.common import (
    ImportRejected,
    ImportResult,
    field_name,
    numbered_rows,
    parse_count,
    parse_time,
    row_problem,
    text_of,
)
from storage.community import Event, EventKind
from storage.uow import AbstractUnitOfWork

# Kinds may also be written in Chinese.
KIND_ALIASES = {
    "招聘会": EventKind.JOB_FAIR,
    "招聘": EventKind.JOB_FAIR,
    "法律服务": EventKind.LEGAL_CLINIC,
    "法律咨询": EventKind.LEGAL_CLINIC,
    "法律门诊": EventKind.LEGAL_CLINIC,
    "普法": EventKind.LEGAL_CLINIC,
    "市集": EventKind.MARKET,
    "集市": EventKind.MARKET,
    "其他": EventKind.OTHER,
    "讲座": EventKind.LECTURE,
    "培训": EventKind.LECTURE,
    "志愿活动": EventKind.VOLUNTEER,
    "志愿服务": EventKind.VOLUNTEER,
    "活动": EventKind.OTHER,
}
TITLE_MAX = 120
PLACE_MAX = 120


@dataclass
class EventFields:
    """One validated event row."""

    kind: str
    title: str
    starts_at: datetime  # naive UTC
    ends_at: datetime | None = None
    place: str | None = None
    details: str | None = None
    capacity: int | None = None  # None: no limit
    openings: list[dict[str, Any]] = field(default_factory=list)


def parse_kind(value: Any) -> str:
    """An event kind from its key (job_fair, legal_clinic, market, lecture, volunteer, other) or
    its Chinese name."""
    text = str(value or "").strip()
    if text.lower() in {k.value for k in EventKind}:
        return text.lower()
    if text in KIND_ALIASES:
        return KIND_ALIASES[text].value
    if not text:
        raise ValueError(msg.IMPORT_MISSING.format(name=field_name("kind")))
    kinds = "、".join(msg.EVENT_KIND_NAMES.get(k.value, k.value) for k in EventKind)
    raise ValueError(msg.IMPORT_BAD_KIND.format(value=text, kinds=kinds))


def parse_openings(value: Any) -> list[dict[str, Any]]:
    """Openings as a YAML list of {company, job, pay, count}, or text `company/job/pay; …`."""
    if value is None or value == "":
        return []
    items: list[Any]
    if isinstance(value, str):
        items = []
        for part in re.split(r"[;；\n]", value):
            if part.strip():
                pieces = [p.strip() for p in re.split(r"[/／]", part)]
                pieces += [""] * (3 - len(pieces))
                items.append({"company": pieces[0], "job": pieces[1], "pay": "/".join(pieces[2:])})
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError(msg.IMPORT_OPENINGS_NOT_A_LIST)
    openings = []
    for position, item in enumerate(items, start=1):
        if isinstance(item, str):
            item = {"job": item}
        if not isinstance(item, Mapping):
            raise ValueError(msg.IMPORT_OPENING_NOT_A_MAPPING.format(position=position))
        company, job = text_of(item, "company"), text_of(item, "job")
        if not company and not job:
            raise ValueError(msg.IMPORT_OPENING_EMPTY.format(position=position))
        count = parse_count(item.get("count"), msg.IMPORT_OPENING_COUNT.format(position=position))
        opening: dict[str, Any] = {"company": company, "job": job, "pay": text_of(item, "pay")}
        if count is not None:
            opening["count"] = count
        openings.append(opening)
    return openings


def openings_text(openings: list[dict[str, Any]] | None) -> str:
    """Openings written back as the text parse_openings reads: one `company/job/pay` a line."""
    return "\n".join(
        "/".join(str(o.get(k) or "") for k in ("company", "job", "pay")).rstrip("/")
        for o in openings or []
    )


def validate_event(row: Mapping[str, Any], timezone: str) -> tuple[EventFields | None, list[str]]:
    """An event from one row, or every problem with the row."""
    problems: list[str] = []

    def check(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ValueError as exc:
            problems.append(str(exc))
            return None

    kind = check(parse_kind, row.get("kind"))
    title = text_of(row, "title")
    if not title:
        problems.append(msg.IMPORT_EMPTY.format(name=field_name("title")))
    elif len(title) > TITLE_MAX:
        problems.append(msg.IMPORT_TOO_LONG.format(name=field_name("title"), max=TITLE_MAX))
    starts_at = check(
        parse_time, row.get("starts_at", row.get("time")), timezone, field_name("starts_at")
    )
    ends_at = None
    if row.get("ends_at") not in (None, ""):
        ends_at = check(parse_time, row.get("ends_at"), timezone, field_name("ends_at"))
        if ends_at is not None and starts_at is not None and ends_at <= starts_at:
            problems.append(msg.IMPORT_ENDS_BEFORE)
    place = text_of(row, "place") or None
    if place and len(place) > PLACE_MAX:
        problems.append(msg.IMPORT_TOO_LONG.format(name=field_name("place"), max=PLACE_MAX))
    capacity = check(parse_count, row.get("capacity"), field_name("capacity"))
    openings = check(parse_openings, row.get("openings"))
    if problems:
        return None, problems
    return (
        EventFields(
            kind=kind,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            place=place,
            details=text_of(row, "details") or None,
            capacity=capacity or None,  # 0 and empty both mean "no limit"
            openings=openings or [],
        ),
        [],
    )


def validate_events(data: Any, timezone: str, csv_file: bool = False) -> list[EventFields]:
    """Every row validated; ImportRejected lists each bad row."""
    if isinstance(data, Mapping) and "events" in data:
        data = data["events"]
    problems: list[str] = []
    valid: list[EventFields] = []
    seen: dict[tuple[str, str, datetime], int] = {}
    for number, row in numbered_rows(data, "events", csv_file):
        fields, row_problems = validate_event(row, timezone)
        problems += [row_problem(number, p) for p in row_problems]
        if fields is not None:
            key = (fields.kind, fields.title, fields.starts_at)
            if key in seen:
                problems.append(row_problem(number, msg.IMPORT_SAME_EVENT.format(other=seen[key])))
            seen.setdefault(key, number)
            valid.append(fields)
    if problems:
        raise ImportRejected(problems)
    return valid


def apply_event(event: Event, fields: EventFields, now: datetime) -> None:
    """Copy validated fields onto an event."""
    event.kind, event.title, event.starts_at = fields.kind, fields.title, fields.starts_at
    event.ends_at, event.place, event.details = fields.ends_at, fields.place, fields.details
    event.capacity, event.openings = fields.capacity, list(fields.openings)
    event.updated_at = now


def import_events(
    uow: AbstractUnitOfWork, data: Any, timezone: str, now: datetime, csv_file: bool = False
) -> ImportResult:
    """Add the file's events (an event with the same kind, title and start is updated)."""
    result = ImportResult()
    for fields in validate_events(data, timezone, csv_file):
        event = uow.events.find(fields.kind, fields.title, fields.starts_at)
        if event is None:
            event = Event(created_at=now, cancelled=False)
            apply_event(event, fields, now)
            uow.events.add(event)
            result.created += 1
        else:
            apply_event(event, fields, now)
            result.updated += 1
    return result
