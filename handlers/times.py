"""Local site time. The database keeps naive UTC; people read and type the time of the site
(`site.timezone`). Every conversion between the two is here."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import overload
from zoneinfo import ZoneInfo


@overload
def to_local(value: datetime, timezone: str) -> datetime: ...


@overload
def to_local(value: None, timezone: str) -> None: ...


def to_local(value: datetime | None, timezone: str) -> datetime | None:
    """A naive UTC time from the database in the site's time zone (None stays None)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))


def to_utc(moment: datetime, timezone: str) -> datetime:
    """A time as naive UTC; a naive `moment` is read as the site's local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def local_day_start(day: date, timezone: str) -> datetime:
    """Midnight of a local date, as naive UTC (for filtering by date)."""
    return to_utc(datetime.combine(day, time(0)), timezone)


def local_text(value: datetime | None, timezone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A database time as local text ("2026-11-28 09:00"); "" for None."""
    local = to_local(value, timezone)
    return local.strftime(fmt) if local else ""
