"""Photos and voice notes: attached when they arrive, fetched from the fake WeChat API in the
background (wechatpy's real client over HTTP), kept under media.dir, forwarded to the assignee,
shown on the dashboard behind the login, forgotten on 注销; and pictures in local mode."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app import create_app
from bot.bootstrap import Sheli
from bot.chat import parse_line
from bot.cli import cli
from bot.outbox import deliver_due
from bot.scheduler import fetch_media, register, run_job, unregister
from handlers import messages as msg
from handlers.media import MEDIA_TYPES, forget_media, identify
from storage.models import Attachment, OutboxMessage, TicketEvent
from tests import fake_wechat_api
from tests.dialogue import INBOX, NOTHING, Dialogue, Image, Voice, count, only, some
from tests.fake_wechat_api import APP_ID, APP_SECRET, FakeWeChatAPI, amr_bytes, png_bytes
from tests.helpers import hire
from tests.test_chat import serve  # noqa: F401 - the fixture, for `sheli chat /image`
from tests.test_dashboard import PASSWORD_HASH, login
from tests.wechat import TOKEN, Person, WeChatServer

fake_wechat = fake_wechat_api.fake_wechat  # the fixture, for the tests below

STEWARD = "o_steward"
PHOTO = png_bytes(8, 6)


@pytest.fixture
def wechat_mode(make_sheli: Any, fake_wechat: FakeWeChatAPI) -> Callable[..., Sheli]:
    """A Sheli in WeChat mode whose API is the fake, with a bound steward and a dashboard login;
    a failed fetch is tried three times, ten seconds apart at first."""

    def make(url: str | None = None, **overrides: Any) -> Sheli:
        sheli: Sheli = make_sheli(
            url,
            **{
                "wechat.app_id": APP_ID,
                "wechat.app_secret": APP_SECRET,
                "wechat.api_base_url": fake_wechat.url,
                "wechat.token_timeout": "1s",
                "dashboard.password_hash": PASSWORD_HASH,
                "media.max_attempts": 3,
                "media.backoff": "10s",
                **overrides,
            },
        )
        hire(sheli, "property_steward", "王师傅", STEWARD)
        return sheli

    return make


def talk_to(sheli: Sheli, client: Any = None) -> Dialogue:
    server = WeChatServer(client or create_app(sheli=sheli).test_client())
    return Dialogue(
        {
            "resident": Person(server, "o_res", sheli),
            "neighbour": Person(server, "o_neighbour", sheli),
            "steward": Person(server, STEWARD, sheli),
        }
    )


def deliver(sheli: Sheli) -> dict[str, int]:
    return deliver_due(sheli.uow, sheli.sender, sheli.clock, sheli.outbox_settings)


def attachment(sheli: Sheli, attachment_id: int) -> Attachment:
    with sheli.uow() as uow:
        found = uow.attachments.get(attachment_id)
    assert found is not None
    return found


def stored_path(sheli: Sheli, found: Attachment) -> Path:
    assert found.path
    return sheli.config.media_dir / found.path


def ticket_status(sheli: Sheli, number: int) -> str:
    with sheli.uow() as uow:
        ticket = uow.tickets.get(number)
    assert ticket is not None
    return ticket.status


# --- WeChat mode: fetched in the background, forwarded, shown ------------------------------------


def test_a_photo_reaches_the_assignee_and_the_dashboard_without_slowing_the_reply(
    db_url: str, wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI
) -> None:
    sheli = wechat_mode(db_url)
    fake_wechat.add_media("MEDIA-PHOTO-1", PHOTO, "image/png")
    app = create_app(sheli=sheli)
    client = app.test_client()
    talk_to(sheli, client)(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("resident", Image("MEDIA-PHOTO-1"), msg.IMAGE_ATTACHED.format(n=1)),
            ("steward", INBOX, [count(2), some("#1", "3栋502"), some("[图片] #1")]),
        ]
    )
    assert fake_wechat.media_gets == []  # nothing fetched inside WeChat's 5 seconds

    assert fetch_media(sheli) == {"fetched": 1, "retry": 0, "failed": 0}
    found = attachment(sheli, 1)
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert (found.kind, found.fetch_status, found.content_type) == ("image", "fetched", "image/png")
    assert (found.path, found.sha256, found.size) == (f"{digest}.png", digest, len(PHOTO))
    assert found.resident_id is not None and found.ticket_id == 1
    assert stored_path(sheli, found).read_bytes() == PHOTO
    assert fake_wechat.media_gets == ["MEDIA-PHOTO-1"]
    assert fetch_media(sheli) == {"fetched": 0, "retry": 0, "failed": 0}  # done is done

    assert deliver(sheli)["sent"] == 2
    assert fake_wechat.media_sent_to(STEWARD) == [("image", "MEDIA-PHOTO-1")]
    [task] = fake_wechat.texts_to(STEWARD)
    assert "#1" in task and "3栋502" in task
    assert fake_wechat.uploads == []  # the resident's media id was still valid

    anonymous = app.test_client()
    refused = anonymous.get("/dashboard/media/1")
    assert refused.status_code == 302 and "/dashboard/login" in refused.headers["Location"]

    login(client)
    page = client.get("/dashboard/tickets/1").get_data(as_text=True)
    assert '<img class="media-thumb" src="/dashboard/media/1"' in page
    shown = client.get("/dashboard/media/1")
    assert shown.status_code == 200 and shown.data == PHOTO
    assert shown.mimetype == "image/png"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in shown.headers["Cache-Control"]
    assert client.get("/dashboard/media/2").status_code == 404
    assert client.get("/dashboard/media/..%2Fsheli.db").status_code == 404
    [listed] = client.get("/dashboard/api/tickets/1").get_json()["attachments"]
    assert listed["fetch_status"] == "fetched" and listed["size"] == len(PHOTO)


def test_a_voice_note_joins_the_ticket_it_opened_and_is_forwarded_as_voice(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI
) -> None:
    sheli = wechat_mode()
    recording = amr_bytes()
    fake_wechat.add_media("MEDIA-VOICE-1", recording, "audio/amr")
    client = create_app(sheli=sheli).test_client()
    talk_to(sheli, client)(
        [
            ("resident", Voice("八栋三零五的灯不亮了", "MEDIA-VOICE-1"), "#1"),
            ("steward", INBOX, [count(2), some("#1", "8栋305"), some("[语音] #1")]),
        ]
    )
    assert fetch_media(sheli)["fetched"] == 1
    found = attachment(sheli, 1)
    assert (found.kind, found.ticket_id, found.content_type) == ("voice", 1, "audio/amr")
    assert stored_path(sheli, found).read_bytes() == recording
    deliver(sheli)
    assert fake_wechat.media_sent_to(STEWARD) == [("voice", "MEDIA-VOICE-1")]
    with sheli.uow() as uow:
        assert [e.kind for e in uow.tickets.events(1)][-1] == "voice"

    login(client)
    page = client.get("/dashboard/tickets/1").get_data(as_text=True)
    assert 'href="/dashboard/media/1" download' in page and "AMR" in page
    played = client.get("/dashboard/media/1")
    assert played.data == recording and played.mimetype == "audio/amr"


def test_a_voice_note_that_opens_no_ticket_is_not_kept(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI
) -> None:
    sheli = wechat_mode()
    talk_to(sheli)([("resident", Voice("你好", "MEDIA-VOICE-2"), None)])
    assert fetch_media(sheli) == {"fetched": 0, "retry": 0, "failed": 0}
    with sheli.uow() as uow:
        assert uow.attachments.sent_by(1) == []


def test_the_same_photo_delivered_twice_is_attached_and_forwarded_once(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI
) -> None:
    sheli = wechat_mode()
    fake_wechat.add_media("MEDIA-PHOTO-1", PHOTO, "image/png")
    resident = Person(WeChatServer(create_app(sheli=sheli).test_client()), "o_res", sheli)
    assert "#1" in resident.say("3栋502热水器坏了")
    fields = {"PicUrl": "http://mmbiz.example/p.jpg", "MediaId": "MEDIA-PHOTO-1"}
    first = resident.send("image", fields, msg_id=880001).text
    again = resident.send("image", fields, msg_id=880001).text  # WeChat's re-delivery
    assert first == again == msg.IMAGE_ATTACHED.format(n=1)
    fetch_media(sheli)
    deliver(sheli)
    assert fake_wechat.media_sent_to(STEWARD) == [("image", "MEDIA-PHOTO-1")]
    assert fake_wechat.media_gets == ["MEDIA-PHOTO-1"]


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        ("error-json", "微信返回错误 -1：fake media error -1"),
        ("http-500", "微信接口暂时不可用（HTTP 500）"),
        ("timeout", "连接微信失败（超时）"),
    ],
)
def test_a_failing_fetch_is_retried_then_recorded_failed_and_the_ticket_carries_on(
    failure: str,
    reason: str,
    wechat_mode: Callable[..., Sheli],
    fake_wechat: FakeWeChatAPI,
    clock: Any,
) -> None:
    sheli = wechat_mode()
    fake_wechat.add_media("MEDIA-PHOTO-1", PHOTO, "image/png")
    if failure == "error-json":
        fake_wechat.media_errcode["MEDIA-PHOTO-1"] = -1  # WeChat's "system busy"
    elif failure == "http-500":
        fake_wechat.media_outage = True
    else:
        fake_wechat.media_latency = 1.5  # longer than the client's 1 s
    client = create_app(sheli=sheli).test_client()
    talk = talk_to(sheli, client)
    talk([("resident", "3栋502热水器坏了", "#1"), ("resident", Image("MEDIA-PHOTO-1"), "#1")])

    assert fetch_media(sheli) == {"fetched": 0, "retry": 1, "failed": 0}
    assert attachment(sheli, 1).last_error == reason
    clock.advance(seconds=9)  # the backoff (10 s) has not passed: nothing is tried
    assert fetch_media(sheli) == {"fetched": 0, "retry": 0, "failed": 0}
    clock.advance(seconds=1)
    assert fetch_media(sheli) == {"fetched": 0, "retry": 1, "failed": 0}
    clock.advance(seconds=20)  # doubled
    assert fetch_media(sheli) == {"fetched": 0, "retry": 0, "failed": 1}
    found = attachment(sheli, 1)
    assert (found.fetch_status, found.attempts) == ("failed", 3)
    assert found.last_error == reason + "（试了 3 次）"
    assert found.path is None and list(sheli.config.media_dir.glob("*")) == []
    assert fake_wechat.media_gets == ["MEDIA-PHOTO-1"] * 3
    clock.advance(hours=2)
    assert fetch_media(sheli) == {"fetched": 0, "retry": 0, "failed": 0}  # given up for good

    # The ticket never waited: it is assigned, the steward takes it, the forward went out.
    assert ticket_status(sheli, 1) == "assigned"
    talk([("steward", "接单 1", "已接单 #1")])
    deliver(sheli)
    assert fake_wechat.media_sent_to(STEWARD) == [("image", "MEDIA-PHOTO-1")]
    login(client)
    page = client.get("/dashboard/tickets/1").get_data(as_text=True)
    assert f"图片获取失败：{reason}（试了 3 次）" in page
    assert client.get("/dashboard/media/1").status_code == 404


def test_an_unknown_media_id_fails_at_once_with_wechats_reason(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI
) -> None:
    sheli = wechat_mode()
    talk_to(sheli)(
        [("resident", "3栋502热水器坏了", "#1"), ("resident", Image("MEDIA-NOBODY-KNOWS"), "#1")]
    )
    assert fetch_media(sheli) == {"fetched": 0, "retry": 0, "failed": 1}
    found = attachment(sheli, 1)
    assert found.fetch_status == "failed" and found.attempts == 1
    assert found.last_error == "微信返回错误 40007：invalid media_id"


def test_a_reply_that_is_no_picture_is_refused_not_stored(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI
) -> None:
    sheli = wechat_mode()
    fake_wechat.add_media("MEDIA-ODD", b"<html><script>alert(1)</script></html>", "image/png")
    talk_to(sheli)([("resident", "3栋502热水器坏了", "#1"), ("resident", Image("MEDIA-ODD"), "#1")])
    assert fetch_media(sheli)["failed"] == 1
    assert attachment(sheli, 1).last_error == "不是能识别的图片文件"
    assert list(sheli.config.media_dir.glob("*")) == []


def test_media_older_than_three_days_is_not_asked_for(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI, clock: Any
) -> None:
    sheli = wechat_mode()
    fake_wechat.add_media("MEDIA-PHOTO-1", PHOTO, "image/png")
    talk_to(sheli)(
        [("resident", "3栋502热水器坏了", "#1"), ("resident", Image("MEDIA-PHOTO-1"), "#1")]
    )
    clock.advance(days=3)  # no scheduler ran all that time
    assert fetch_media(sheli) == {"fetched": 0, "retry": 0, "failed": 1}
    assert attachment(sheli, 1).last_error == "微信只保留三天，已过期"
    assert fake_wechat.media_gets == []


def test_after_three_days_the_forward_uploads_the_stored_copy_for_a_new_media_id(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI, clock: Any
) -> None:
    sheli = wechat_mode()
    fake_wechat.add_media("MEDIA-PHOTO-1", PHOTO, "image/png")
    talk_to(sheli)(
        [("resident", "3栋502热水器坏了", "#1"), ("resident", Image("MEDIA-PHOTO-1"), "#1")]
    )
    assert fetch_media(sheli)["fetched"] == 1
    clock.advance(days=3)  # WeChat was unreachable for the outbox all that time
    fake_wechat.expire_media("MEDIA-PHOTO-1")
    assert deliver(sheli)["sent"] == 2
    [(kind, uploaded, new_id)] = fake_wechat.uploads
    assert (kind, uploaded) == ("image", PHOTO)
    assert fake_wechat.media_sent_to(STEWARD) == [("image", new_id)]
    with sheli.uow() as uow:
        [forward] = [m for m in uow.outbox.for_recipient(STEWARD) if m.kind == "image"]
    assert forward.media_id == new_id and forward.media_expires_at is not None


def test_an_expired_forward_without_a_stored_copy_is_dead_with_the_reason(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI, clock: Any
) -> None:
    sheli = wechat_mode()
    talk_to(sheli)(
        [("resident", "3栋502热水器坏了", "#1"), ("resident", Image("MEDIA-GONE"), "#1")]
    )
    clock.advance(days=3)
    deliver(sheli)
    with sheli.uow() as uow:
        [forward] = [m for m in uow.outbox.for_recipient(STEWARD) if m.kind == "image"]
    assert forward.status == "dead" and "no stored copy" in (forward.last_error or "")
    assert fake_wechat.media_sent_to(STEWARD) == []


# --- chat: where a photo or voice note goes ----------------------------------------------------


def test_a_photo_without_an_active_ticket_is_not_kept(sheli: Sheli, person: Any) -> None:
    talk = Dialogue({"resident": person("o_res")})
    talk([("resident", Image("local:nothing"), msg.IMAGE_NO_TICKET)])
    with sheli.uow() as uow:
        assert uow.attachments.get(1) is None


def test_an_unrecognised_voice_note_joins_the_newest_active_ticket(
    sheli: Sheli, person: Any
) -> None:
    hire(sheli, "property_steward", "王师傅", STEWARD)
    talk = Dialogue({"resident": person("o_res"), "steward": person(STEWARD)})
    talk(
        [
            ("resident", Voice(None, "MEDIA-V"), msg.VOICE_NOT_RECOGNISED),  # no ticket yet
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", INBOX, "#1"),
            ("resident", Voice(None, "MEDIA-V2"), ["#1", "打字"]),
            ("steward", INBOX, only("[语音] #1")),
        ]
    )
    with sheli.uow() as uow:
        [kept] = uow.attachments.sent_by(1)
    assert (kept.kind, kept.media_id, kept.ticket_id) == ("voice", "MEDIA-V2", 1)
    # Local mode has no WeChat to fetch a WeChat media id from: failed at once, with why.
    assert fetch_media(sheli)["failed"] == 1
    assert attachment(sheli, kept.id).last_error == msg.MEDIA_NOT_LOCAL


def test_staff_voice_notes_are_not_attached(sheli: Sheli, person: Any) -> None:
    hire(sheli, "property_steward", "王师傅", STEWARD)
    talk = Dialogue({"resident": person("o_res"), "steward": person(STEWARD)})
    talk([("resident", "3栋502热水器坏了", "#1"), ("steward", Voice("接单 1", "MEDIA-S"), "#1")])
    with sheli.uow() as uow:
        assert uow.attachments.get(1) is None


# --- privacy: 注销 ----------------------------------------------------------------------------


def test_erasing_a_resident_deletes_their_media_files_and_media_ids(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI
) -> None:
    sheli = wechat_mode()
    recording = amr_bytes()
    fake_wechat.add_media("MEDIA-PHOTO-1", PHOTO, "image/png")
    fake_wechat.add_media("MEDIA-VOICE-1", recording, "audio/amr")
    fake_wechat.add_media("MEDIA-PHOTO-N", PHOTO, "image/png")  # the neighbour's: the same bytes
    client = create_app(sheli=sheli).test_client()
    talk = talk_to(sheli, client)
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("resident", Image("MEDIA-PHOTO-1"), "#1"),
            ("neighbour", "6栋203门锁坏了", "#2"),
            ("neighbour", Image("MEDIA-PHOTO-N"), "#2"),
        ]
    )
    assert fetch_media(sheli)["fetched"] == 2
    deliver(sheli)  # the photos' forwards are sent
    talk([("resident", Voice("5栋101空调漏水", "MEDIA-VOICE-1"), "#3")])
    assert fetch_media(sheli)["fetched"] == 1  # the voice note's forward is still queued
    photo, neighbours, voice = attachment(sheli, 1), attachment(sheli, 2), attachment(sheli, 3)
    assert photo.path == neighbours.path  # content-addressed: one file for the same bytes
    voice_file = stored_path(sheli, voice)
    assert voice_file.exists()

    talk([("resident", "注销", "确认注销"), ("resident", "确认注销", msg.ERASED)])

    for gone in (attachment(sheli, 1), attachment(sheli, 3)):
        assert gone.fetch_status == "erased"
        assert (gone.media_id, gone.path, gone.sha256, gone.url) == (None, None, None, None)
    assert not voice_file.exists()
    assert stored_path(sheli, neighbours).read_bytes() == PHOTO  # still the neighbour's photo
    with sheli.uow() as uow:
        forwards = list(
            uow.session.query(OutboxMessage).filter(OutboxMessage.attachment_id.isnot(None))
        )
        trail = list(
            uow.session.query(TicketEvent).filter(TicketEvent.kind.in_(["image", "voice"]))
        )
    assert {(m.attachment_id, m.media_id) for m in forwards} == {(1, None), (2, "MEDIA-PHOTO-N")}
    assert all("media_id" not in (e.data or {}) for e in trail)

    login(client)
    assert client.get("/dashboard/media/1").status_code == 404
    assert client.get("/dashboard/media/3").status_code == 404
    assert client.get("/dashboard/media/2").data == PHOTO
    assert "语音已随住户注销删除" in client.get("/dashboard/tickets/3").get_data(as_text=True)


def test_forget_media_deletes_files_only_when_the_transaction_commits(sheli: Sheli) -> None:
    resident_id = _local_photo(sheli, "o_res")
    with sheli.uow() as uow:
        name = uow.attachments.sent_by(resident_id)[0].path
    assert name is not None
    stored = sheli.config.media_dir / name

    with sheli.uow() as uow:
        assert forget_media(uow, resident_id) == 1
        uow.rollback()
    assert stored.exists()
    with sheli.uow() as uow:
        assert forget_media(uow, resident_id) == 1
        assert stored.exists()  # not before the commit
        uow.commit()
    assert not stored.exists()
    with sheli.uow() as uow:
        [erased] = uow.attachments.sent_by(resident_id)
    assert erased.fetch_status == "erased" and erased.media_id is None


def _local_photo(sheli: Sheli, openid: str) -> int:
    """A resident with a ticket and a photo uploaded through the simulator; their id."""
    client = create_app(sheli=sheli).test_client()
    said = client.post("/simulator/send", json={"openid": openid, "text": "3栋502热水器坏了"})
    assert "#1" in said.get_json()["reply"]
    sent = client.post(
        "/simulator/send", json={"openid": openid, "type": "image", "data": _data_url()}
    )
    assert "#1" in sent.get_json()["reply"]
    with sheli.uow() as uow:
        resident = uow.residents.by_openid(openid)
    assert resident is not None
    return resident.id


# --- local mode: the simulator and `sheli chat` send pictures ----------------------------------


def _data_url(data: bytes = PHOTO, kind: str = "image/png") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def test_the_simulator_sends_a_picture_that_reaches_the_stewards_inbox(sheli: Sheli) -> None:
    hire(sheli, "property_steward", "王师傅", STEWARD)
    client = create_app(sheli=sheli).test_client()
    client.post("/simulator/send", json={"openid": "o_res", "text": "3栋502热水器坏了"})
    sent = client.post(
        "/simulator/send", json={"openid": "o_res", "type": "image", "data": _data_url()}
    )
    assert sent.status_code == 200 and sent.get_json()["reply"] == msg.IMAGE_ATTACHED.format(n=1)

    found = attachment(sheli, 1)  # stored directly, and already recorded: nothing to wait for
    assert found.fetch_status == "fetched" and found.media_id == f"local:{found.path}"
    assert stored_path(sheli, found).read_bytes() == PHOTO
    inbox = client.get(f"/simulator/inbox/{STEWARD}").get_json()["messages"]
    [forward] = [m for m in inbox if m["kind"] == "image"]
    assert forward["attachment"] == 1 and forward["body"].startswith("[图片] #1")
    shown = client.get("/local/media/1")
    assert shown.data == PHOTO and shown.mimetype == "image/png"
    assert client.get("/local/media/9").status_code == 404
    history = client.get("/simulator/history/o_res").get_json()["messages"]
    assert history[-1]["type"] == "image"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (_data_url(b"not a picture at all", "image/png"), "上传的不是图片"),
        ("data:image/png;base64,@@@", "上传的不是图片"),
        (_data_url(amr_bytes(), "image/png"), "上传的不是图片"),
        ("", "上传的不是图片"),
    ],
)
def test_the_simulator_refuses_what_is_no_picture(sheli: Sheli, data: str, error: str) -> None:
    client = create_app(sheli=sheli).test_client()
    refused = client.post(
        "/simulator/send", json={"openid": "o_res", "type": "image", "data": data}
    )
    assert refused.status_code == 400 and error in refused.get_json()["error"]
    assert list(sheli.config.media_dir.glob("*")) == []


def test_too_large_a_picture_is_refused(sheli: Sheli) -> None:
    sheli.media_settings.max_bytes = 60
    client = create_app(sheli=sheli).test_client()
    refused = client.post(
        "/simulator/send", json={"openid": "o_res", "type": "image", "data": _data_url()}
    )
    assert refused.status_code == 400 and "图片太大" in refused.get_json()["error"]
    huge = client.post(
        "/simulator/send",
        json={"openid": "o_res", "type": "image", "data": _data_url(PHOTO + bytes(8000))},
    )
    assert huge.status_code == 413  # the body alone is over the limit: never read


def test_local_uploads_exist_only_in_local_mode(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI
) -> None:
    client = create_app(sheli=wechat_mode()).test_client()
    assert client.post("/local/media", json={"data": _data_url()}).status_code == 404
    assert client.get("/local/media/1").status_code == 404


def test_sheli_chat_sends_a_picture_file(sheli: Sheli, serve: Any, tmp_path: Path) -> None:  # noqa: F811
    hire(sheli, "property_steward", "王师傅", STEWARD)
    url = serve(sheli)
    picture = tmp_path / "leak.png"
    picture.write_bytes(PHOTO)

    def chat(openid: str, *lines: str) -> str:
        result = CliRunner().invoke(
            cli,
            ["chat", "--as", openid, "--url", url],
            input="".join(line + "\n" for line in lines),
            env={"SHELI_WECHAT__TOKEN": TOKEN},
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return result.output

    said = chat("o_res", "3栋502热水器坏了", f"/image {picture}", f"/image {tmp_path}/none.png")
    assert msg.IMAGE_ATTACHED.format(n=1) in said
    assert "!! 读不了" in said  # a missing file is reported, the chat goes on
    fetch_media(sheli)  # the scheduler's media job, as `sheli serve` runs it
    steward = chat(STEWARD, "")
    assert "inbox> [图片] #1" in steward and f"{url}/local/media/1" in steward
    assert attachment(sheli, 1).fetch_status == "fetched"


def test_chat_reads_the_image_command() -> None:
    assert parse_line("/image ~/photos/leak.png") == ("image", {"path": "~/photos/leak.png"})
    assert parse_line("/image") == "help"


# --- what counts as a picture or a recording ---------------------------------------------------


def test_files_are_known_by_their_first_bytes() -> None:
    samples = {
        "image/png": PHOTO,
        "image/jpeg": b"\xff\xd8\xff\xe0" + bytes(20),
        "image/gif": b"GIF89a" + bytes(20),
        "image/webp": b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(20),
        "image/bmp": b"BM" + bytes(40),
        "audio/amr": amr_bytes(),
        "audio/amr-wb": b"#!AMR-WB\n" + bytes(20),
        "audio/mpeg": b"ID3\x03\x00" + bytes(20),
    }
    assert {t.content_type for t in MEDIA_TYPES} == set(samples)
    for content_type, data in samples.items():
        found = identify(data)
        assert found is not None and found.content_type == content_type
    for other in (b"", b"<svg onload=alert(1)>", b"%PDF-1.7", b"<html>", b"BM"):
        assert identify(other) is None


def test_the_inbox_of_a_person_with_no_media_is_unchanged(sheli: Sheli, person: Any) -> None:
    hire(sheli, "property_steward", "王师傅", STEWARD)
    talk = Dialogue({"resident": person("o_res"), "steward": person(STEWARD)})
    talk([("resident", "3栋502热水器坏了", "#1"), ("resident", INBOX, NOTHING)])
    client = create_app(sheli=sheli).test_client()
    [task] = client.get(f"/local/inbox/{STEWARD}").get_json()["messages"]
    assert task["attachment"] is None and task["kind"] != "image"


def test_a_claimed_fetch_is_nobody_elses_and_due_again_if_its_fetcher_died(
    wechat_mode: Callable[..., Sheli], fake_wechat: FakeWeChatAPI, clock: Any
) -> None:
    sheli = wechat_mode()
    fake_wechat.add_media("MEDIA-PHOTO-1", PHOTO, "image/png")
    talk_to(sheli)(
        [("resident", "3栋502热水器坏了", "#1"), ("resident", Image("MEDIA-PHOTO-1"), "#1")]
    )
    now = clock.now()
    with sheli.uow() as uow:  # another scheduler took it, then died before recording anything
        assert uow.attachments.claim(1, 0, now, now + sheli.media_settings.claim_for)
        assert not uow.attachments.claim(1, 0, now, now + sheli.media_settings.claim_for)
        uow.commit()
    assert fetch_media(sheli) == {"fetched": 0, "retry": 0, "failed": 0}
    assert fake_wechat.media_gets == []
    clock.advance(minutes=2)
    key = register(sheli)  # as `sheli serve` runs it: the scheduler's media job
    try:
        assert run_job("media", key) == {"fetched": 1, "retry": 0, "failed": 0}
    finally:
        unregister(key)
    assert attachment(sheli, 1).attempts == 2
