"""Engines, sessions and schema upgrades."""

from __future__ import annotations

import fcntl
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_held = threading.local()


class QueuedWriters(sqlite3.Connection):
    """A pysqlite connection whose transactions wait in line for a file lock first.

    SQLite lets one writer in at a time, and a writer that finds the database locked sleeps and
    retries (1, 2, 5 … up to 100 ms between tries): under load a writer can wait for seconds while
    newcomers overtake it. Here every transaction first takes an exclusive flock() on
    `<database>-writers.lock`, held until its commit or rollback: a waiting writer (thread or
    process) is woken the moment the lock is free, so waits are as long as the queue, no longer.
    A thread that already holds the lock on another connection does not queue again (SQLite's
    busy timeout still applies then), so nested units of work cannot hang.
    """

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        name = str(database)
        in_memory = name in ("", ":memory:") or "mode=memory" in name
        self._lock_path = None if in_memory else f"{name}-writers.lock"
        self._lock_file: Any = None
        self._locked = False

    def queue(self) -> None:
        """Wait for this database's writer lock (called before BEGIN)."""
        if self._lock_path is None or self._locked or getattr(_held, "locked", False):
            return
        if self._lock_file is None:
            self._lock_file = open(self._lock_path, "a+b")  # noqa: SIM115 - kept open with the connection
        fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX)
        self._locked = _held.locked = True

    def _leave(self) -> None:
        if self._locked:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._locked = _held.locked = False

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            self._leave()
            if self._lock_file is not None:
                self._lock_file.close()
        finally:
            super().close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and write-serialising transactions.

    Statement parameters (message text, openids, phones) never appear in a log line or in the
    text of a database error: every engine hides them.
    """
    kwargs["hide_parameters"] = True
    # SQLAlchemy logs statements, and at DEBUG the rows it fetched (texts, openids), as soon as
    # the root logger allows it (`sheli -v`). Unless someone configured it on purpose, it stays quiet.
    quiet = logging.getLogger("sqlalchemy.engine")
    if quiet.level == logging.NOTSET:
        quiet.setLevel(logging.WARNING)
    if url.startswith("sqlite"):
        kwargs.setdefault(
            "connect_args", {"check_same_thread": False, "timeout": 15, "factory": QueuedWriters}
        )
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front, so two workers never deadlock upgrading
            # a read lock; SQLite serialises writers anyway: they queue first (QueuedWriters).
            dbapi_connection = conn.connection.dbapi_connection
            if isinstance(dbapi_connection, QueuedWriters):
                dbapi_connection.queue()
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping") and engine.dialect.driver == "psycopg":
        event.listen(engine, "checkout", _ping)
    return engine


def _ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Check a pooled PostgreSQL connection before use (a restarted server leaves dead ones).

    SQLAlchemy's pool_pre_ping runs "SELECT 1", which psycopg wraps in BEGIN … ROLLBACK: three
    round trips. An empty query is one, and starts no transaction. A dead connection is
    replaced by a fresh one, and the caller never sees it.
    """
    try:
        dbapi_connection.pgconn.exec_(b"")
        alive = dbapi_connection.pgconn.status == 0  # CONNECTION_OK
    except Exception:
        alive = False
    if not alive:
        raise DisconnectionError("the database closed this connection")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Any:
    """An Alembic config pointing at our migrations and this engine."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (latest by default)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
