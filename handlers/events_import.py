"""Files an operator imports (events, rooms, resources): read, validate every row, then apply.

A file with any bad row imports nothing: every problem is reported as `row N: problem`, and
the caller commits only when there were none. Rows are numbered as an operator sees them:
the N-th item of a YAML list, the N-th line of a CSV file (the header is line 1).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from handlers.ports import Deps
from handlers.tickets import building_of
from nlu import places
from storage.community import (
    AllianceUnit,
    Building,
    Event,
    EventKind,
    Room,
    Volunteer,
)
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
}
TITLE_MAX = 120
PLACE_MAX = 120


class ImportRejected(Exception):
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


# --- reading files ---------------------------------------------------------------------------


def read_file(path: str | Path) -> Any:
    """A YAML document, or a CSV file as a list of {header: value} rows (values stripped)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRejected([f"cannot read {path}: {exc}"]) from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise ImportRejected([f"{path.name}: a CSV file needs a header line"])
        return [
            {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            for row in reader
        ]
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ImportRejected([f"{path.name}: not valid YAML ({exc})"]) from None


def _rows(data: Any, what: str, csv_file: bool) -> list[tuple[int, Mapping[str, Any]]]:
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


def _text(row: Mapping[str, Any], key: str) -> str:
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
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def _count(value: Any, name: str, *, required: bool = False) -> int | None:
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


# --- events ----------------------------------------------------------------------------------


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
    """An event kind from its key (job_fair, legal_clinic, market, other) or Chinese name."""
    text = str(value or "").strip()
    if text.lower() in {k.value for k in EventKind}:
        return text.lower()
    if text in KIND_ALIASES:
        return KIND_ALIASES[text].value
    allowed = ", ".join(k.value for k in EventKind)
    raise ValueError(f"kind {text!r} is not one of {allowed}" if text else "kind is missing")


def _openings(value: Any) -> list[dict[str, Any]]:
    """Openings as a YAML list of {company, job, pay, count}, or CSV text `company/job/pay; …`."""
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
        raise ValueError("openings must be a list of {company, job, pay, count}")
    openings = []
    for position, item in enumerate(items, start=1):
        if isinstance(item, str):
            item = {"job": item}
        if not isinstance(item, Mapping):
            raise ValueError(f"opening {position} must be a mapping of company, job, pay, count")
        company, job = _text(item, "company"), _text(item, "job")
        if not company and not job:
            raise ValueError(f"opening {position} needs a company or a job")
        count = _count(item.get("count"), f"opening {position} count")
        opening: dict[str, Any] = {"company": company, "job": job, "pay": _text(item, "pay")}
        if count is not None:
            opening["count"] = count
        openings.append(opening)
    return openings


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
    title = _text(row, "title")
    if not title:
        problems.append("title is empty")
    elif len(title) > TITLE_MAX:
        problems.append(f"title is longer than {TITLE_MAX} characters")
    starts_at = check(parse_time, row.get("starts_at", row.get("time")), timezone, "starts_at")
    ends_at = None
    if row.get("ends_at") not in (None, ""):
        ends_at = check(parse_time, row.get("ends_at"), timezone, "ends_at")
        if ends_at is not None and starts_at is not None and ends_at <= starts_at:
            problems.append("ends_at is not after starts_at")
    place = _text(row, "place") or None
    if place and len(place) > PLACE_MAX:
        problems.append(f"place is longer than {PLACE_MAX} characters")
    capacity = check(_count, row.get("capacity"), "capacity")
    openings = check(_openings, row.get("openings"))
    if problems:
        return None, problems
    return (
        EventFields(
            kind=kind,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            place=place,
            details=_text(row, "details") or None,
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
    for number, row in _rows(data, "events", csv_file):
        fields, row_problems = validate_event(row, timezone)
        problems += [f"row {number}: {p}" for p in row_problems]
        if fields is not None:
            key = (fields.kind, fields.title, fields.starts_at)
            if key in seen:
                problems.append(f"row {number}: the same event as row {seen[key]}")
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


# --- rooms -----------------------------------------------------------------------------------

_ROOM_NUMBER = re.compile(r"(?:\d{1,2}单元)?[A-Za-z]?\d{1,5}")


def normalise_place(text: str) -> str:
    """Full-width to half-width, no spaces, upper-case letters: "b区 2幢108室" → "B区2幢108"."""
    text = unicodedata.normalize("NFKC", text or "").replace(" ", "").upper()
    return re.sub(r"(室|房|号房)$", "", text)


def room_label(location: str | None) -> str | None:
    """ "3栋502" for a location that names a room; None for a building or anything vaguer."""
    return places.room_label(location)


def _building_name(value: Any) -> str:
    text = normalise_place(str(value or ""))
    if not text:
        raise ValueError("building is missing")
    if text.isdigit():
        text += "栋"
    if building_of(text) != text:
        raise ValueError(f"building {value!r} is not a name like 3栋, B区2幢 or 6号楼")
    return text


def validate_rooms(data: Any, csv_file: bool = False) -> list[tuple[str, str, int]]:
    """(building, room number, capacity) per row; ImportRejected lists each bad row."""
    if isinstance(data, Mapping) and "rooms" in data:
        data = data["rooms"]
    problems: list[str] = []
    rooms: list[tuple[str, str, int]] = []
    seen: dict[str, int] = {}
    for number, row in _rows(data, "rooms", csv_file):
        row_problems: list[str] = []
        building = room = ""
        capacity = 0
        try:
            building = _building_name(row.get("building"))
        except ValueError as exc:
            row_problems.append(str(exc))
        room = normalise_place(_text(row, "room"))
        if not room:
            row_problems.append("room is missing")
        elif not _ROOM_NUMBER.fullmatch(room):
            row_problems.append(f"room {row.get('room')!r} is not a room number like 502")
        try:
            capacity = _count(row.get("capacity"), "capacity", required=True) or 0
        except ValueError as exc:
            row_problems.append(str(exc))
        if not row_problems:
            label = building + room
            if label in seen:
                row_problems.append(f"{label} is already on row {seen[label]}")
            seen.setdefault(label, number)
            rooms.append((building, room, capacity))
        problems += [f"row {number}: {p}" for p in row_problems]
    if problems:
        raise ImportRejected(problems)
    return rooms


def import_rooms(uow: AbstractUnitOfWork, data: Any, csv_file: bool = False) -> ImportResult:
    """Add buildings and rooms; a room already known gets the new capacity."""
    result = ImportResult(details={"buildings": 0})
    for building_name, number, capacity in validate_rooms(data, csv_file):
        building = uow.buildings.by_name(building_name)
        if building is None:
            building = uow.buildings.add(Building(name=building_name))
            result.details["buildings"] += 1
        label = building_name + number
        room = uow.buildings.room_by_label(label)
        if room is None:
            uow.buildings.add_room(
                Room(building_id=building.id, number=number, label=label, capacity=capacity)
            )
            result.created += 1
        else:
            room.capacity = capacity
            result.updated += 1
    return result


# --- party-building resources ----------------------------------------------------------------


def _flag(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "是", "在岗"):
        return True
    if text in ("false", "no", "0", "否", "停用"):
        return False
    raise ValueError(f"active must be yes or no, not {value!r}")


def import_resources(uow: AbstractUnitOfWork, data: Any) -> ImportResult:
    """Alliance units (共建单位) and volunteers from `{alliance_units: [...], volunteers: [...]}`."""
    if not isinstance(data, Mapping) or not ({"alliance_units", "volunteers"} & set(data)):
        raise ImportRejected(["expected a mapping with alliance_units and/or volunteers lists"])
    problems: list[str] = []
    units: list[dict[str, Any]] = []
    volunteers: list[dict[str, Any]] = []
    for section, target, required in (
        ("alliance_units", units, ("name",)),
        ("volunteers", volunteers, ("name", "team")),
    ):
        if section not in data:
            continue
        try:
            rows = _rows(data[section], section, False)
        except ImportRejected as rejected:
            problems += [f"{section} {p}" for p in rejected.problems]
            continue
        seen: dict[tuple[str, ...], int] = {}
        for number, row in rows:
            row_problems = [f"{key} is empty" for key in required if not _text(row, key)]
            fields: dict[str, Any] = {
                key: _text(row, key) or None
                for key in ("name", "team", "category", "services", "contact", "phone", "skills")
            }
            try:
                fields["active"] = _flag(row.get("active"))
            except ValueError as exc:
                row_problems.append(str(exc))
            key = tuple(_text(row, k) for k in required)
            if not row_problems and key in seen:
                row_problems.append(f"the same as row {seen[key]}")
            seen.setdefault(key, number)
            problems += [f"{section} row {number}: {p}" for p in row_problems]
            if not row_problems:
                target.append(fields)
    if problems:
        raise ImportRejected(problems)
    result = ImportResult(details={"alliance units": 0, "volunteers": 0})
    for fields in units:
        unit = uow.resources.unit_by_name(fields["name"])
        if unit is None:
            unit = uow.resources.add_unit(AllianceUnit(name=fields["name"]))
            result.created += 1
            result.details["alliance units"] += 1
        else:
            result.updated += 1
        unit.category, unit.services = fields["category"], fields["services"]
        unit.contact, unit.phone = fields["contact"], fields["phone"]
    for fields in volunteers:
        volunteer = uow.resources.volunteer_by_name(fields["team"], fields["name"])
        if volunteer is None:
            volunteer = uow.resources.add_volunteer(
                Volunteer(name=fields["name"], team=fields["team"])
            )
            result.created += 1
            result.details["volunteers"] += 1
        else:
            result.updated += 1
        volunteer.skills, volunteer.phone = fields["skills"], fields["phone"]
        volunteer.active = fields["active"]
    return result


IMPORT_KINDS = ("events", "rooms", "resources")


def import_kind(
    uow: AbstractUnitOfWork, what: str, data: Any, *, csv_file: bool, timezone: str, now: datetime
) -> ImportResult:
    """Import `data` as events, rooms or resources (the CLI and the dashboard both come here)."""
    if what == "events":
        return import_events(uow, data, timezone, now, csv_file)
    if what == "rooms":
        return import_rooms(uow, data, csv_file)
    if what == "resources":
        return import_resources(uow, data)
    raise ValueError(f"unknown import kind {what!r}; expected one of {', '.join(IMPORT_KINDS)}")


def import_data(deps: Deps, what: str, data: Any, *, csv_file: bool) -> ImportResult:
    """Import in one transaction of its own; ImportRejected (nothing imported) on any bad row."""
    with deps.uow_factory() as uow:
        result = import_kind(
            uow, what, data, csv_file=csv_file, timezone=deps.policy.timezone, now=deps.clock.now()
        )
        uow.commit()
    return result
