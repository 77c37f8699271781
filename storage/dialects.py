"""The one place that picks a dialect: "insert … on conflict" for PostgreSQL and SQLite alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT for `table` with `.on_conflict_do_nothing()` / `.on_conflict_do_update()`."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
