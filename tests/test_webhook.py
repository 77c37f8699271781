"""The WeChat edge: signatures, safe mode, bad input, re-deliveries, a failing database."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from wechatpy.crypto import WeChatCrypto

from bot.app import create_app
from storage.models import InboundMessage, Ticket
from tests.helpers import hire
from tests.wechat import (
    AES_APP_ID,
    AES_KEY,
    AES_TOKEN,
    TOKEN,
    Person,
    WeChatServer,
    message_xml,
    sign,
)


def count(sheli: Any, model: Any) -> int:
    with sheli.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def tickets(sheli: Any) -> list[Ticket]:
    with sheli.uow() as uow:
        return list(uow.tickets.list())


# --- handshake -------------------------------------------------------------------------------


def test_handshake_echoes_echostr(client: Any) -> None:
    ts, nonce = str(int(time.time())), "123"
    response = client.get(
        "/wechat",
        query_string={
            "signature": sign(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": "hello-42",
        },
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "hello-42"


@pytest.mark.parametrize("case", ["forged", "missing", "stale"])
def test_handshake_refuses_bad_signatures(client: Any, case: str) -> None:
    ts = str(int(time.time()) - (3600 if case == "stale" else 0))
    args = {"timestamp": ts, "nonce": "1", "echostr": "x", "signature": sign(TOKEN, ts, "1")}
    if case == "forged":
        args["signature"] = sign("another-token", ts, "1")
    if case == "missing":
        del args["signature"]
    assert client.get("/wechat", query_string=args).status_code == 403


# --- plain and safe mode ---------------------------------------------------------------------


def test_text_request_becomes_a_ticket(person: Any, sheli: Any) -> None:
    resident = person("o_resident_1")
    reply = resident.say("3栋502热水器坏了，洗不了澡")
    assert "#1" in reply
    [ticket] = tickets(sheli)
    assert (ticket.id, ticket.intent, ticket.location, ticket.status) == (
        1,
        "repair",
        "3栋502",
        "open",
    )
    assert ticket.resident.openid == "o_resident_1"


def test_reply_is_addressed_back_to_the_sender(wechat: WeChatServer) -> None:
    reply = wechat.post(
        message_xml("o_someone", "text", {"Content": "你好", "MsgId": 77}, to="gh_acc")
    )
    assert reply.status == 200
    assert reply.xml["ToUserName"] == "o_someone"
    assert reply.xml["FromUserName"] == "gh_acc"
    assert reply.xml["MsgType"] == "text"


def test_safe_mode_decrypts_and_encrypts(make_sheli: Any) -> None:
    sheli = make_sheli(
        **{
            "wechat.token": AES_TOKEN,
            "wechat.aes_key": AES_KEY,
            "wechat.app_id": AES_APP_ID,
            "wechat.app_secret": "s",
        }
    )
    crypto = WeChatCrypto(AES_TOKEN, AES_KEY, AES_APP_ID)
    server = WeChatServer(create_app(sheli=sheli).test_client(), token=AES_TOKEN, crypto=crypto)
    resident = Person(server, "o_aes", sheli)
    raw = server.post(message_xml("o_aes", "text", {"Content": "6号楼电梯坏了", "MsgId": 9001}))
    assert raw.status == 200
    assert "<Encrypt>" in raw.body and "电梯" not in raw.body  # the reply itself is encrypted
    assert raw.text is not None and "#1" in raw.text
    assert [t.location for t in tickets(sheli)] == ["6号楼"]
    assert "#" in resident.say("进度")


def test_safe_mode_refuses_a_bad_message_signature(make_sheli: Any) -> None:
    sheli = make_sheli(
        **{
            "wechat.token": AES_TOKEN,
            "wechat.aes_key": AES_KEY,
            "wechat.app_id": AES_APP_ID,
            "wechat.app_secret": "s",
        }
    )
    crypto = WeChatCrypto(AES_TOKEN, AES_KEY, AES_APP_ID)
    server = WeChatServer(create_app(sheli=sheli).test_client(), token=AES_TOKEN, crypto=crypto)
    reply = server.post(
        message_xml("o_aes", "text", {"Content": "停电了", "MsgId": 1}),
        extra_args={"msg_signature": "0" * 40},
    )
    assert reply.status == 403
    assert count(sheli, InboundMessage) == 0


# --- bad input changes nothing ---------------------------------------------------------------


@pytest.mark.parametrize("signature", ["forged", ""])
def test_forged_or_missing_signature_is_403_and_stores_nothing(
    wechat: WeChatServer, sheli: Any, signature: str
) -> None:
    xml = message_xml("o_x", "text", {"Content": "3栋502漏水", "MsgId": 5})
    reply = wechat.post(xml, signature="0" * 40 if signature == "forged" else "")
    assert reply.status == 403
    assert count(sheli, InboundMessage) == 0 and count(sheli, Ticket) == 0


def test_replayed_old_message_is_refused(wechat: WeChatServer, sheli: Any) -> None:
    xml = message_xml("o_x", "text", {"Content": "3栋502漏水", "MsgId": 6})
    assert wechat.post(xml, timestamp=int(time.time()) - 600).status == 403
    assert count(sheli, Ticket) == 0


def test_oversized_body_is_413(wechat: WeChatServer, sheli: Any) -> None:
    xml = message_xml("o_x", "text", {"Content": "漏" * 70000, "MsgId": 7})
    assert wechat.post(xml).status == 413
    assert count(sheli, InboundMessage) == 0


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>a</ToUserName><FromUser",
        "not xml at all",
        "",
        "<xml></xml>",
    ],
)
def test_malformed_xml_is_400(wechat: WeChatServer, sheli: Any, body: str) -> None:
    reply = wechat.post(body)
    assert reply.status == 400
    assert "Traceback" not in reply.body
    assert count(sheli, InboundMessage) == 0


@pytest.mark.parametrize(
    "body",
    [
        # XXE: an external entity that would read a local file.
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<xml><ToUserName>a</ToUserName><FromUserName>o_x</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>8</MsgId></xml>",
        # Entity expansion ("billion laughs").
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        "<xml><ToUserName>a</ToUserName><FromUserName>o_x</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>&lol2;</Content><MsgId>9</MsgId></xml>",
    ],
)
def test_dtd_and_entities_are_refused(wechat: WeChatServer, sheli: Any, body: str) -> None:
    reply = wechat.post(body)
    assert reply.status == 400
    assert "root:" not in reply.body and "lollol" not in reply.body
    assert count(sheli, InboundMessage) == 0


def test_unknown_message_type_gets_a_polite_reply(wechat: WeChatServer, sheli: Any) -> None:
    reply = wechat.post(message_xml("o_x", "shortvideo", {"MediaId": "m", "MsgId": 10}))
    assert reply.status == 200
    assert reply.text and "文字" in reply.text
    assert count(sheli, Ticket) == 0


def test_reply_containing_cdata_end_is_still_valid_xml(person: Any) -> None:
    reply = person("o_cdata").location("奇怪的地址]]><b>x</b>")
    assert "奇怪的地址]]><b>x</b>" in reply


# --- re-deliveries ---------------------------------------------------------------------------


def test_redelivered_message_creates_one_ticket(wechat: WeChatServer, sheli: Any) -> None:
    xml = message_xml("o_retry", "text", {"Content": "5栋301空调不制冷", "MsgId": 424242})
    replies = [wechat.post(xml) for _ in range(3)]
    assert {r.status for r in replies} == {200}
    assert len({r.text for r in replies}) == 1
    assert count(sheli, Ticket) == 1


def test_redelivered_event_is_deduplicated_by_sender_and_time(
    wechat: WeChatServer, sheli: Any
) -> None:
    xml = message_xml("o_sub", "event", {"Event": "subscribe"}, create_time=1764000000)
    first, second = wechat.post(xml), wechat.post(xml)
    assert first.text == second.text and first.text and "欢迎" in first.text
    assert count(sheli, InboundMessage) == 1


@pytest.mark.postgres
def test_simultaneous_copies_on_postgres_create_one_ticket(make_sheli: Any, pg_url: str) -> None:
    sheli = make_sheli(pg_url)
    app = create_app(sheli=sheli)
    xml = message_xml("o_race", "text", {"Content": "12栋1单元401厕所堵了", "MsgId": 31337})
    results: list[Any] = []
    start = threading.Barrier(3)

    def deliver() -> None:
        server = WeChatServer(app.test_client())
        start.wait()
        results.append(server.post(xml))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status for r in results] == [200, 200, 200]
    assert len({r.text for r in results}) == 1
    assert count(sheli, Ticket) == 1 and count(sheli, InboundMessage) == 1


# --- a failing database ----------------------------------------------------------------------


def test_database_failure_mid_message_is_503_and_writes_nothing(
    wechat: WeChatServer, sheli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import repositories

    def broken(self: Any, message: Any) -> None:
        raise OperationalError("INSERT INTO outbox", {}, Exception("disk I/O error"))

    monkeypatch.setattr(repositories.OutboxRepository, "enqueue", broken)
    sheli_staff(sheli)
    xml = message_xml("o_fail", "text", {"Content": "3栋502水管爆了", "MsgId": 5150})
    assert wechat.post(xml).status == 503
    assert count(sheli, Ticket) == 0 and count(sheli, InboundMessage) == 0
    monkeypatch.undo()
    retry = wechat.post(xml)  # WeChat retries; now it works, once
    assert retry.status == 200 and retry.text and "#1" in retry.text
    assert count(sheli, Ticket) == 1


def test_unreachable_database_is_503(make_sheli: Any, tmp_path: Any) -> None:
    sheli = make_sheli()
    app = create_app(sheli=sheli)
    from storage.db import make_engine, make_session_factory

    dead = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    sheli.session_factory.configure(bind=dead)
    sheli.engine = dead
    server = WeChatServer(app.test_client())
    reply = server.post(message_xml("o_dead", "text", {"Content": "停电了", "MsgId": 1}))
    assert reply.status == 503
    assert app.test_client().get("/healthz").status_code == 503
    _ = make_session_factory


def test_healthz(client: Any) -> None:
    data = client.get("/healthz").get_json()
    assert data == {"status": "ok", "database": "ok", "mode": "local", "nlu": "embedded"}


def sheli_staff(sheli: Any) -> None:
    """A bound property steward, so a repair produces an outbox notification."""

    hire(sheli, "property_steward", "张师傅", "o_steward")
