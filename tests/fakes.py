"""Fakes for the ports handlers use, so tests can say "three days later" without sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.ports import Clock


class FakeClock(Clock):
    """A clock that only moves when told to (naive UTC, like the real one)."""

    def __init__(self, start: datetime | None = None):
        self.current = start or datetime(2026, 11, 23, 1, 0, 0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current
