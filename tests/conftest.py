"""Fixtures: a real temporary database (SQLite, and PostgreSQL when it runs), the real embedded
NLU, a fake clock, and a WeChat stand-in that posts signed XML to the app."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.app import create_app
from bot.bootstrap import Sheli, bootstrap
from bot.config import load_config
from nlu.base import Parser
from storage.db import upgrade
from tests.fakes import FakeClock
from tests.wechat import TOKEN, Person, WeChatServer

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable on 127.0.0.1:5432 ({exc.__class__.__name__})"
    return None


@pytest.fixture(scope="session")
def parser(tmp_path_factory: pytest.TempPathFactory) -> Parser:
    """The real embedded NLU, trained once per test session."""
    from nlu import build_parser

    return build_parser("embedded", cache_dir=tmp_path_factory.mktemp("nlu-cache"))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the PostgreSQL test server, dropped afterwards."""
    reason = _postgres_available()
    if reason:
        pytest.skip(reason)
    schema = f"sheli_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sheli.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sheli.db'}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


SheliFactory = Callable[..., Sheli]


@pytest.fixture
def make_sheli(
    parser: Parser, clock: FakeClock, sqlite_url: str, tmp_path: Path
) -> Iterator[SheliFactory]:
    """Build a wired Sheli on a migrated database; keyword overrides are config keys.

    Photos and voice notes go to a temporary media.dir, never the project's var/media/.
    """
    built: list[Sheli] = []

    def factory(
        url: str | None = None, sender: Any = None, nlu: Parser | None = None, **overrides: Any
    ) -> Sheli:
        settings = {
            "database.url": url or sqlite_url,
            "wechat.token": TOKEN,
            "media.dir": str(tmp_path / "media"),
        }
        settings.update({key.replace("__", "."): value for key, value in overrides.items()})
        config = load_config(settings, environ={})
        sheli = bootstrap(config, clock=clock, parser=nlu or parser, sender=sender)
        upgrade(sheli.engine)
        built.append(sheli)
        return sheli

    yield factory
    for sheli in built:
        sheli.engine.dispose()


@pytest.fixture
def sheli(make_sheli: SheliFactory) -> Sheli:
    return make_sheli()


@pytest.fixture
def app(sheli: Sheli) -> Any:
    flask_app = create_app(sheli=sheli)
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def wechat(client: Any) -> WeChatServer:
    return WeChatServer(client)


@pytest.fixture
def person(wechat: WeChatServer, sheli: Sheli) -> Callable[[str], Person]:
    def make(openid: str) -> Person:
        return Person(wechat, openid, sheli)

    return make
