"""Local site time. The database keeps naive UTC; people read and type the time of the site
(`site.timezone`). Every conversion between the two is here."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import overload
from zoneinfo import ZoneInfo

from handlers.messages import DURATION_NONE, LOCAL_STAMP


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


def utc_offset(timezone: str, at: datetime | None = None) -> str:
    """The site's offset from UTC at `at` (naive UTC; default now): "+08:00"."""
    moment = (at or datetime.now(UTC).replace(tzinfo=None)).replace(tzinfo=UTC)
    offset = moment.astimezone(ZoneInfo(timezone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def local_stamp(value: datetime | None, timezone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A database time as people read it, with the offset: "2026-11-23 09:00 (+08:00)"."""
    if value is None:
        return ""
    return LOCAL_STAMP.format(
        time=local_text(value, timezone, fmt), offset=utc_offset(timezone, value)
    )


def human_duration(delta: timedelta) -> str:
    """ "30分钟", "2小时", "1.5小时", "3天" — for messages to people (to the nearest minute)."""
    minutes = int(delta.total_seconds() / 60 + 0.5)
    if minutes < 60:
        return f"{max(minutes, 1)}分钟"
    # Rounded to one decimal before choosing how to write it: 119 minutes are "2小时", not "2.0小时".
    if minutes < 48 * 60:
        hours = round(minutes / 60, 1)
        return f"{hours:.0f}小时" if hours == int(hours) else f"{hours:.1f}小时"
    days = round(minutes / 1440, 1)
    return f"{days:.0f}天" if days == int(days) else f"{days:.1f}天"


def clock_text(delta: timedelta) -> str:
    """ "35分钟", "1小时25分", "20小时", "2天3小时" — a countdown (the SLA clock) in whole
    minutes, hours and days, never a decimal."""
    minutes = max(int(delta.total_seconds() / 60 + 0.5), 1)
    if minutes < 60:
        return f"{minutes}分钟"
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours}小时{rest}分" if rest else f"{hours}小时"
    days, rest = divmod(minutes, 24 * 60)
    hours = rest // 60
    return f"{days}天{hours}小时" if hours else f"{days}天"


def minutes_text(value: float | None) -> str:
    """A figure in minutes (a median) as the summary text and the dashboard both write it."""
    return DURATION_NONE if value is None else human_duration(timedelta(minutes=value))
