"""Logs never hold message text, phone numbers, ID numbers or openids in clear — not when the
database fails, not when a handler has a bug, not in the scheduler, not in gunicorn's access log."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from sqlalchemy import event

from bot import scheduler
from bot.app import create_app
from handlers import messages as msg
from handlers.bus import HANDLERS
from handlers.inbound import Inbound
from handlers.masking import pseudonym
from tests.helpers import hire
from tests.test_serve import SHELI, free_port
from tests.wechat import TOKEN, WeChatServer, message_xml, sign

OPENID = "oXyZ_secret_openid_7f3a9c"
PHONE = "13987654321"
ID_NUMBER = "11010119900307123X"
TEXT = f"3栋502热水器坏了，我电话是{PHONE}，身份证{ID_NUMBER}"


def assert_clean(text: str) -> None:
    for secret in (OPENID, PHONE, ID_NUMBER, "热水器坏了"):
        assert secret not in text, f"{secret!r} reached the log"


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything captured, tracebacks included, as a handler would have written it."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_a_database_failure_during_a_message_logs_no_personal_data(
    make_sheli: Any, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    sheli = make_sheli(db_url)
    hire(sheli, "property_steward", "张师傅", "o_steward")
    dbapi_error = (
        psycopg.OperationalError if db_url.startswith("postgresql") else sqlite3.OperationalError
    )

    @event.listens_for(sheli.engine, "before_cursor_execute")
    def fail_on_ticket_insert(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TICKETS"):
            raise dbapi_error("server closed the connection unexpectedly")

    caplog.set_level(logging.DEBUG)  # even `sheli -v` must not show it
    server = WeChatServer(create_app(sheli=sheli).test_client())
    reply = server.post(message_xml(OPENID, "text", {"Content": TEXT, "MsgId": 8080}))
    assert reply.status == 503
    text = logged(caplog)
    assert "database unavailable (OperationalError" in text
    assert_clean(text)


@pytest.mark.postgres
def test_a_constraint_quoting_the_failing_row_logs_no_personal_data(
    make_sheli: Any, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL's own message names the row: "Failing row contains (…, 13987654321, …)"."""
    sheli = make_sheli(pg_url)
    hire(sheli, "property_steward", "张师傅", "o_steward")
    with sheli.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE tickets ADD CONSTRAINT ck_no_new_tickets CHECK (false)")
    caplog.set_level(logging.DEBUG)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    reply = server.post(message_xml(OPENID, "text", {"Content": TEXT, "MsgId": 8081}))
    assert reply.status == 503
    text = logged(caplog)
    assert "constraint ck_no_new_tickets" in text
    assert_clean(text)


def test_a_bug_while_answering_logs_where_but_not_what(
    wechat: WeChatServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def buggy(inbound: Any, uow: Any, ctx: Any) -> str:
        raise KeyError(inbound.text)  # an error whose message is the resident's text

    monkeypatch.setitem(HANDLERS, Inbound, buggy)
    caplog.set_level(logging.DEBUG)
    reply = wechat.post(message_xml(OPENID, "text", {"Content": TEXT, "MsgId": 8082}))
    assert (reply.status, reply.text) == (200, msg.SORRY)
    text = logged(caplog)
    assert "failed to handle a message from u" in text  # a pseudonym, the same for each openid
    assert "in buggy" in text and "KeyError" in text
    assert_clean(text)


def test_a_failing_scheduler_job_logs_no_personal_data(
    sheli: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def failing(sheli: Any) -> Any:
        raise RuntimeError(f"could not notify {OPENID} about {TEXT}")

    monkeypatch.setattr("bot.scheduler.run_due", failing)
    key = scheduler.register(sheli)
    try:
        caplog.set_level(logging.DEBUG)
        assert scheduler.run_job("tick", key) is None  # APScheduler never sees the message
    finally:
        scheduler.unregister(key)
    text = logged(caplog)
    assert "scheduler job tick failed" in text and "RuntimeError" in text
    assert_clean(text)


def test_the_outbox_logs_a_pseudonym_for_the_recipient(
    sheli: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.outbox import SendError, deliver_due
    from handlers.notices import notify

    def refuse(message: Any) -> None:
        raise SendError("wechat error 40003: invalid openid", retryable=False, code=40003)

    monkeypatch.setattr(sheli.sender, "send", refuse)
    with sheli.uow() as uow:
        notify(uow, OPENID, TEXT, sheli.clock.now())
        uow.commit()
    caplog.set_level(logging.DEBUG)
    assert deliver_due(sheli.uow, sheli.sender, sheli.clock, sheli.outbox_settings)["dead"] == 1
    text = logged(caplog)
    assert "given up" in text
    assert_clean(text)


@pytest.mark.slow
def test_the_access_log_of_sheli_serve_has_no_query_strings(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHELI_DATABASE__URL": f"sqlite:///{tmp_path / 's.db'}",
        "SHELI_WECHAT__TOKEN": TOKEN,
    }
    subprocess.run([*SHELI, "db", "upgrade"], env=env, check=True, timeout=120)
    port = free_port()
    log_file = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen(
        [*SHELI, "serve", "--port", str(port), "--workers", "1", "--no-scheduler"],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    ts, nonce = str(int(time.time())), "918273645"
    signature = sign(TOKEN, ts, nonce)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        reply = requests.post(
            f"{base}/wechat",
            params={"signature": signature, "timestamp": ts, "nonce": nonce, "openid": OPENID},
            data=message_xml(OPENID, "text", {"Content": TEXT, "MsgId": 8083}).encode(),
            timeout=10,
        )
        assert reply.status_code == 200 and "#1" in reply.text
        replay = requests.post(
            f"{base}/wechat",
            params={"signature": signature, "timestamp": ts, "nonce": nonce, "openid": OPENID},
            data=message_xml("o_other", "text", {"Content": "你好", "MsgId": 8084}).encode(),
            timeout=10,
        )
        assert replay.status_code == 403
        # Local mode's inbox (sheli chat, the simulator) has the openid in its path.
        inbox = requests.get(f"{base}/local/inbox/{OPENID}", timeout=10)
        assert inbox.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    log_file.seek(0)
    output = log_file.read()
    assert '"POST /wechat HTTP/1.1" 200' in output and '"POST /wechat HTTP/1.1" 403' in output
    assert f'"GET /local/inbox/{pseudonym(OPENID)} HTTP/1.1" 200' in output
    for secret in (signature, nonce, ts, "openid="):
        assert secret not in output
    assert_clean(output)
