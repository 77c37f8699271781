"""The WeChat edge against hostile or broken input: replays, plain requests in safe mode, fields
no WeChat server sends, values longer than the database holds, and a new resident's first
messages arriving at once. Bad input is a 400 or a 403 and stores nothing; never a 500 or a 503."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto

from bot.app import create_app
from storage.models import InboundMessage, Resident, Ticket, WebhookNonce
from tests.helpers import hire
from tests.wechat import (
    AES_APP_ID,
    AES_KEY,
    AES_TOKEN,
    Person,
    WeChatServer,
    message_xml,
)


def count(sheli: Any, model: Any) -> int:
    with sheli.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


# --- replays ---------------------------------------------------------------------------------


def test_a_captured_query_string_cannot_be_used_again_whatever_the_body(
    wechat: WeChatServer, sheli: Any
) -> None:
    ts = int(time.time())
    first = message_xml("o_resident", "text", {"Content": "3栋502热水器坏了", "MsgId": 1001})
    forged = message_xml("o_attacker", "text", {"Content": "6号楼电梯坏了", "MsgId": 1002})
    assert wechat.post(first, timestamp=ts, nonce="246810").status == 200
    assert wechat.post(forged, timestamp=ts, nonce="246810").status == 403  # new body, old query
    assert wechat.post(first, timestamp=ts, nonce="246810").status == 403  # the very same request
    assert count(sheli, Ticket) == 1 and count(sheli, InboundMessage) == 1


def test_wechat_redelivering_a_message_with_new_nonces_is_not_a_replay(
    wechat: WeChatServer, sheli: Any
) -> None:
    xml = message_xml("o_retry", "text", {"Content": "5栋301空调不制冷", "MsgId": 2024})
    replies = [wechat.post(xml, nonce=str(n)) for n in (11, 12, 13)]  # WeChat's three tries
    assert [r.status for r in replies] == [200, 200, 200]
    assert len({r.text for r in replies}) == 1
    assert count(sheli, Ticket) == 1


def test_every_worker_sees_the_nonces(make_sheli: Any, db_url: str) -> None:
    first = WeChatServer(create_app(sheli=make_sheli(db_url)).test_client())
    second = WeChatServer(create_app(sheli=make_sheli(db_url)).test_client())
    ts = int(time.time())
    xml = message_xml("o_x", "text", {"Content": "你好", "MsgId": 3003})
    assert first.post(xml, timestamp=ts, nonce="777").status == 200
    assert second.post(xml, timestamp=ts, nonce="777").status == 403


def test_nonces_older_than_the_window_are_purged_a_bounded_number_at_a_time(
    wechat: WeChatServer, sheli: Any
) -> None:
    old = int(time.time()) - 3600
    with sheli.uow() as uow:
        uow.session.add_all(WebhookNonce(timestamp=old, nonce=str(n)) for n in range(150))
        uow.commit()
    wechat.post(message_xml("o_x", "text", {"Content": "你好", "MsgId": 4004}))
    assert count(sheli, WebhookNonce) == 50 + 1  # 100 old ones went, the new one came
    wechat.post(message_xml("o_x", "text", {"Content": "你好", "MsgId": 4005}))
    assert count(sheli, WebhookNonce) == 2


# --- safe mode only --------------------------------------------------------------------------


def _aes_sheli(make_sheli: Any, **overrides: Any) -> Any:
    return make_sheli(
        **{
            "wechat.token": AES_TOKEN,
            "wechat.aes_key": AES_KEY,
            "wechat.app_id": AES_APP_ID,
            "wechat.app_secret": "s",
            **overrides,
        }
    )


def test_safe_mode_only_refuses_plain_requests(make_sheli: Any) -> None:
    sheli = _aes_sheli(make_sheli, **{"wechat.safe_mode_only": True})
    client = create_app(sheli=sheli).test_client()
    plain = WeChatServer(client, token=AES_TOKEN)
    safe = WeChatServer(
        client, token=AES_TOKEN, crypto=WeChatCrypto(AES_TOKEN, AES_KEY, AES_APP_ID)
    )
    xml = message_xml("o_aes", "text", {"Content": "6号楼电梯坏了", "MsgId": 5005})
    assert plain.post(xml).status == 403  # correctly signed, but not encrypted
    assert count(sheli, InboundMessage) == 0
    reply = safe.post(xml)
    assert reply.status == 200 and reply.text and "#1" in reply.text


def test_without_safe_mode_only_plain_requests_still_work_next_to_an_aes_key(
    make_sheli: Any,
) -> None:
    sheli = _aes_sheli(make_sheli)
    plain = WeChatServer(create_app(sheli=sheli).test_client(), token=AES_TOKEN)
    assert Person(plain, "o_plain", sheli).say("你好")


def test_safe_mode_only_without_an_aes_key_changes_nothing(make_sheli: Any) -> None:
    sheli = make_sheli(**{"wechat.safe_mode_only": True})
    server = WeChatServer(create_app(sheli=sheli).test_client())
    assert Person(server, "o_plain", sheli).say("你好")


# --- fields no WeChat server sends -----------------------------------------------------------


def _xml(msg_type: str, fields: dict[str, Any], *, openid: str = "o_bad", time_: str = "") -> str:
    xml = message_xml(openid, msg_type, fields, create_time=1764000000)
    return xml.replace("<CreateTime>1764000000</CreateTime>", f"<CreateTime>{time_}</CreateTime>")


BAD = {
    "CreateTime not a number": _xml("text", {"Content": "你好", "MsgId": 1}, time_="soon"),
    "CreateTime huge": _xml("text", {"Content": "你好", "MsgId": 1}, time_="9" * 30),
    "CreateTime negative": _xml("text", {"Content": "你好", "MsgId": 1}, time_="-5"),
    "CreateTime with an exponent": _xml("text", {"Content": "你好", "MsgId": 1}, time_="1e10"),
    "event CreateTime huge": _xml("event", {"Event": "subscribe"}, time_="9" * 30),
    "Location_X not a number": _xml(
        "location", {"Location_X": "north", "Location_Y": 114.2, "Label": "3栋", "MsgId": 2}
    ),
    "Location_Y infinite": _xml(
        "location", {"Location_X": 22.3, "Location_Y": "1e999", "Label": "3栋", "MsgId": 2}
    ),
    "Location_X NaN": _xml(
        "location", {"Location_X": "NaN", "Location_Y": 114.2, "Label": "3栋", "MsgId": 2}
    ),
    "Location_X off the globe": _xml(
        "location", {"Location_X": 400, "Location_Y": 114.2, "Label": "3栋", "MsgId": 2}
    ),
    "MsgId not a number": _xml("text", {"Content": "你好", "MsgId": "12ab"}),
    "MsgId of 125 digits": _xml("text", {"Content": "你好", "MsgId": "9" * 125}),
    "FromUserName of 65 characters": _xml("text", {"Content": "你好", "MsgId": 3}, openid="o" * 65),
    "MediaId of 129 characters": _xml("image", {"PicUrl": "http://x/p.jpg", "MediaId": "m" * 129}),
    "Content with markup inside": _xml("text", {"Content": 0, "MsgId": 4}).replace(
        "<Content>0</Content>", "<Content><b>3栋</b></Content>"
    ),
    "two senders": _xml("text", {"Content": "你好", "MsgId": 5}).replace(
        "</FromUserName>", "</FromUserName><FromUserName>o_other</FromUserName>"
    ),
}


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
def test_a_field_no_wechat_server_sends_is_400_and_stores_nothing(
    wechat: WeChatServer, sheli: Any, body: str
) -> None:
    reply = wechat.post(body)
    assert reply.status == 400, reply.body
    assert "Traceback" not in reply.body
    assert count(sheli, InboundMessage) == 0 and count(sheli, Resident) == 0


def test_the_longest_values_the_database_holds_are_accepted(make_sheli: Any, db_url: str) -> None:
    sheli = make_sheli(db_url)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    longest = message_xml("o" * 64, "text", {"Content": "你好", "MsgId": "9" * 124})
    assert server.post(longest).status == 200
    picture = message_xml(
        "o" * 64, "image", {"PicUrl": "http://x/p.jpg", "MediaId": "m" * 128, "MsgId": 6}
    )
    assert server.post(picture).status == 200
    click = message_xml("o_x", "event", {"Event": "CLICK", "EventKey": "K" * 128})
    assert server.post(click).status == 200
    assert count(sheli, InboundMessage) == 3


@pytest.mark.postgres
def test_too_long_values_are_400_on_postgres_too(make_sheli: Any, pg_url: str) -> None:
    sheli = make_sheli(pg_url)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    for name in (
        "FromUserName of 65 characters",
        "MsgId of 125 digits",
        "MediaId of 129 characters",
    ):
        assert server.post(BAD[name]).status == 400, name
    assert count(sheli, InboundMessage) == 0


# --- a new resident's first messages, all at once ---------------------------------------------


@pytest.mark.postgres
def test_a_new_residents_first_messages_arriving_together_all_get_answers(
    make_sheli: Any, pg_url: str
) -> None:
    sheli = make_sheli(pg_url)
    hire(sheli, "property_steward", "张师傅", "o_steward")
    app = create_app(sheli=sheli)
    texts = ["你好", "在吗", "3栋502热水器坏了", "谢谢", "6号楼楼道灯坏了", "你好", "在吗", "谢谢"]
    statuses: list[int] = []

    def write(openid: str, msg_id: int, text: str, start: threading.Barrier) -> None:
        server = WeChatServer(app.test_client())
        xml = message_xml(openid, "text", {"Content": text, "MsgId": msg_id})
        start.wait()
        statuses.append(server.post(xml).status)

    for round_ in range(3):  # three newcomers, each writing eight messages at the same moment
        start = threading.Barrier(len(texts))
        threads = [
            threading.Thread(
                target=write, args=(f"o_newcomer_{round_}", 900000 + 10 * round_ + i, text, start)
            )
            for i, text in enumerate(texts)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert statuses == [200] * 24
    assert count(sheli, Resident) == 3
    assert count(sheli, InboundMessage) == 24
