"""Every event and message kind WeChat sends an official account, as real XML through the webhook
(fields as in WeChat's documentation: 接收普通消息, 接收事件推送, 自定义菜单事件, 模板消息, 群发,
订阅通知, 客服会话, 微信认证事件, 发布能力).

Follows (with or without a QR scene) get the welcome and a SCAN a welcome back; system
notifications nobody wrote get "success" and no chat text, and nothing is stored; video, short
video, link and file messages are told what Sheli can take.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from storage.models import InboundMessage, OutboxMessage, Resident
from tests.wechat import WeChatServer, cdata


def xml(msg_type: str, body: str, openid: str = "o_user", with_msg_id: bool = False) -> str:
    msg_id = "<MsgId>23637352235060880</MsgId>" if with_msg_id else ""
    return (
        f"<xml><ToUserName>{cdata('gh_sheli')}</ToUserName>"
        f"<FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType>{cdata(msg_type)}</MsgType>{body}{msg_id}</xml>"
    )


def event(name: str, extra: str = "") -> str:
    return xml("event", f"<Event>{cdata(name)}</Event>{extra}")


def count(sheli: Any, model: Any) -> int:
    with sheli.uow() as uow:
        return int(uow.session.query(model).count())


# Events that need no words: "success", nothing stored, nobody messaged.
SILENT = {
    "unsubscribe": event("unsubscribe", f"<EventKey>{cdata('')}</EventKey>"),
    "LOCATION report": event(
        "LOCATION",
        "<Latitude>23.137466</Latitude><Longitude>113.352425</Longitude>"
        "<Precision>119.385040</Precision>",
    ),
    "VIEW": event("VIEW", f"<EventKey>{cdata('https://sheli.example.org/')}</EventKey>"),
    "view_miniprogram": event(
        "view_miniprogram",
        f"<EventKey>{cdata('pages/index/index')}</EventKey><MenuId>MENUID</MenuId>",
    ),
    "scancode_push": event(
        "scancode_push",
        f"<EventKey>{cdata('SCAN_PUSH')}</EventKey><ScanCodeInfo>"
        f"<ScanType>{cdata('qrcode')}</ScanType><ScanResult>{cdata('1')}</ScanResult>"
        "</ScanCodeInfo>",
    ),
    "scancode_waitmsg": event(
        "scancode_waitmsg",
        f"<EventKey>{cdata('SCAN_WAIT')}</EventKey><ScanCodeInfo>"
        f"<ScanType>{cdata('qrcode')}</ScanType><ScanResult>{cdata('2')}</ScanResult>"
        "</ScanCodeInfo>",
    ),
    "pic_sysphoto": event(
        "pic_sysphoto",
        f"<EventKey>{cdata('PHOTO')}</EventKey><SendPicsInfo><Count>1</Count><PicList><item>"
        f"<PicMd5Sum>{cdata('1b5f7c23b5bf75682a53e7b6d163e185')}</PicMd5Sum></item></PicList>"
        "</SendPicsInfo>",
    ),
    "pic_photo_or_album": event(
        "pic_photo_or_album",
        f"<EventKey>{cdata('ALBUM')}</EventKey><SendPicsInfo><Count>1</Count><PicList><item>"
        f"<PicMd5Sum>{cdata('5a75aaca956d97be686719218f275c6b')}</PicMd5Sum></item></PicList>"
        "</SendPicsInfo>",
    ),
    "pic_weixin": event(
        "pic_weixin",
        f"<EventKey>{cdata('WEIXIN_PIC')}</EventKey><SendPicsInfo><Count>1</Count><PicList>"
        f"<item><PicMd5Sum>{cdata('5a75aaca956d97be686719218f275c6b')}</PicMd5Sum></item>"
        "</PicList></SendPicsInfo>",
    ),
    "location_select": event(
        "location_select",
        f"<EventKey>{cdata('PLACE')}</EventKey><SendLocationInfo>"
        f"<Location_X>{cdata('23')}</Location_X><Location_Y>{cdata('113')}</Location_Y>"
        f"<Scale>{cdata('15')}</Scale><Label>{cdata(' 广州市海珠区客村艺苑路 106号')}</Label>"
        f"<Poiname>{cdata('')}</Poiname></SendLocationInfo>",
    ),
    "TEMPLATESENDJOBFINISH": event(
        "TEMPLATESENDJOBFINISH", f"<MsgID>200163836</MsgID><Status>{cdata('success')}</Status>"
    ),
    "MASSSENDJOBFINISH": event(
        "MASSSENDJOBFINISH",
        f"<MsgID>1000001625</MsgID><Status>{cdata('err(30003)')}</Status>"
        "<TotalCount>0</TotalCount><FilterCount>0</FilterCount><SentCount>0</SentCount>"
        "<ErrorCount>0</ErrorCount><CopyrightCheckResult><Count>0</Count>"
        "<CheckState>1</CheckState></CopyrightCheckResult>",
    ),
    "subscribe_msg_popup_event": event(
        "subscribe_msg_popup_event",
        "<SubscribeMsgPopupEvent><List>"
        f"<TemplateId>{cdata('VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc')}</TemplateId>"
        f"<SubscribeStatusString>{cdata('accept')}</SubscribeStatusString>"
        "<PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent>",
    ),
    "subscribe_msg_change_event": event(
        "subscribe_msg_change_event",
        "<SubscribeMsgChangeEvent><List>"
        f"<TemplateId>{cdata('VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc')}</TemplateId>"
        f"<SubscribeStatusString>{cdata('reject')}</SubscribeStatusString>"
        "</List></SubscribeMsgChangeEvent>",
    ),
    "subscribe_msg_sent_event": event(
        "subscribe_msg_sent_event",
        "<SubscribeMsgSentEvent><List>"
        f"<TemplateId>{cdata('VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc')}</TemplateId>"
        f"<MsgID>1700827132819554304</MsgID><ErrorCode>0</ErrorCode>"
        f"<ErrorStatus>{cdata('success')}</ErrorStatus></List></SubscribeMsgSentEvent>",
    ),
    "kf_create_session": event(
        "kf_create_session", f"<KfAccount>{cdata('test1@test')}</KfAccount>"
    ),
    "kf_close_session": event("kf_close_session", f"<KfAccount>{cdata('test1@test')}</KfAccount>"),
    "kf_switch_session": event(
        "kf_switch_session",
        f"<FromKfAccount>{cdata('test1@test')}</FromKfAccount>"
        f"<ToKfAccount>{cdata('test2@test')}</ToKfAccount>",
    ),
    "qualification_verify_success": event(
        "qualification_verify_success", "<ExpiredTime>1442401156</ExpiredTime>"
    ),
    "qualification_verify_fail": event(
        "qualification_verify_fail",
        f"<FailTime>1442401122</FailTime><FailReason>{cdata('by time')}</FailReason>",
    ),
    "naming_verify_success": event(
        "naming_verify_success", "<ExpiredTime>1442401093</ExpiredTime>"
    ),
    "naming_verify_fail": event(
        "naming_verify_fail",
        f"<FailTime>1442401061</FailTime><FailReason>{cdata('by time')}</FailReason>",
    ),
    "annual_renew": event("annual_renew", "<ExpiredTime>1442401004</ExpiredTime>"),
    "verify_expired": event("verify_expired", "<ExpiredTime>1442400900</ExpiredTime>"),
    "PUBLISHJOBFINISH": event(
        "PUBLISHJOBFINISH",
        "<PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0</publish_status>"
        "<article_id>b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvy</article_id></PublishEventInfo>",
    ),
    "card_pass_check": event(
        "card_pass_check", f"<CardId>{cdata('pFS7Fjg8kV1IdDz01r4SQwMkuCKc')}</CardId>"
    ),
    "user_get_card": event(
        "user_get_card",
        f"<CardId>{cdata('pFS7Fjg8kV1IdDz01r4SQwMkuCKc')}</CardId><IsGiveByFriend>0</IsGiveByFriend>"
        f"<UserCardCode>{cdata('12312312')}</UserCardCode>",
    ),
    "an event nobody documents": event("some_future_event_x"),
}


@pytest.mark.parametrize("body", SILENT.values(), ids=SILENT.keys())
def test_an_event_nobody_wrote_gets_success_and_no_chat_text(
    wechat: WeChatServer, sheli: Any, body: str
) -> None:
    reply = wechat.post(body)
    assert (reply.status, reply.body) == (200, "success")
    assert count(sheli, InboundMessage) == 0 and count(sheli, Resident) == 0
    assert count(sheli, OutboxMessage) == 0


def test_a_plain_follow_is_welcomed(wechat: WeChatServer, sheli: Any) -> None:
    reply = wechat.post(event("subscribe", f"<EventKey>{cdata('')}</EventKey>"))
    assert reply.text and "欢迎来到智慧舍里" in reply.text and "进度" in reply.text


def test_a_follow_through_a_qr_code_is_welcomed_and_keeps_the_scene(
    wechat: WeChatServer, sheli: Any
) -> None:
    reply = wechat.post(
        event(
            "subscribe",
            f"<EventKey>{cdata('qrscene_zhangshe')}</EventKey>"
            f"<Ticket>{cdata('gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==')}</Ticket>",
        )
    )
    assert reply.text and "欢迎来到智慧舍里" in reply.text
    with sheli.uow() as uow:
        [row] = uow.inbound.for_openid("o_user")
    assert (row.msg_type, row.content) == ("event:subscribe", "zhangshe")


def test_a_follower_scanning_a_qr_code_again_is_welcomed_back(
    wechat: WeChatServer, sheli: Any
) -> None:
    reply = wechat.post(
        event(
            "SCAN",
            f"<EventKey>{cdata('zhangshe')}</EventKey><Ticket>{cdata('gQH47joAAAAAAAAAASxodHRw')}</Ticket>",
        )
    )
    assert reply.text and "欢迎回来" in reply.text
    with sheli.uow() as uow:
        [row] = uow.inbound.for_openid("o_user")
    assert (row.msg_type, row.content) == ("event:scan", "zhangshe")


def test_a_menu_click_starts_its_flow(wechat: WeChatServer, sheli: Any) -> None:
    reply = wechat.post(event("CLICK", f"<EventKey>{cdata('REPAIR')}</EventKey>"))
    assert reply.text and "哪里坏了" in reply.text


def test_a_scene_longer_than_wechat_allows_is_400(wechat: WeChatServer, sheli: Any) -> None:
    reply = wechat.post(event("SCAN", f"<EventKey>{cdata('s' * 65)}</EventKey>"))
    assert reply.status == 400 and count(sheli, InboundMessage) == 0


# Messages Sheli cannot read: told what it can take (text, voice, photos, location).
UNREADABLE = {
    "video": (
        xml(
            "video",
            f"<MediaId>{cdata('media_id_video')}</MediaId>"
            f"<ThumbMediaId>{cdata('thumb_media_id')}</ThumbMediaId>",
            with_msg_id=True,
        ),
        "视频",
    ),
    "shortvideo": (
        xml(
            "shortvideo",
            f"<MediaId>{cdata('media_id_short')}</MediaId>"
            f"<ThumbMediaId>{cdata('thumb_media_id')}</ThumbMediaId>",
            with_msg_id=True,
        ),
        "小视频",
    ),
    "link": (
        xml(
            "link",
            f"<Title>{cdata('公众号官网链接')}</Title><Description>{cdata('公众号官网链接')}</Description>"
            f"<Url>{cdata('https://example.org/a')}</Url>",
            with_msg_id=True,
        ),
        "链接",
    ),
    "file": (
        xml(
            "file",
            f"<Title>{cdata('合同.pdf')}</Title><Description>{cdata('212KB')}</Description>"
            f"<FileKey>{cdata('1b5f7c23b5bf75682a53e7b6d163e185')}</FileKey>"
            f"<FileMd5>{cdata('1b5f7c23b5bf75682a53e7b6d163e185')}</FileMd5>"
            "<FileTotalLen>217088</FileTotalLen>",
            with_msg_id=True,
        ),
        "文件",
    ),
}


@pytest.mark.parametrize(("body", "what"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_message_sheli_cannot_read_is_told_what_it_can_take(
    wechat: WeChatServer, sheli: Any, body: str, what: str
) -> None:
    reply = wechat.post(body)
    assert reply.status == 200 and reply.text
    assert f"收到你发的{what}" in reply.text
    assert all(word in reply.text for word in ("文字", "语音", "照片", "位置"))
    again = wechat.post(body)  # a re-delivery gets the same answer and is stored once
    assert again.text == reply.text and count(sheli, InboundMessage) == 1


# Messages Sheli reads: text, voice, image, location (each tested at length elsewhere).
READABLE = {
    "text": xml("text", f"<Content>{cdata('你好')}</Content>", with_msg_id=True),
    "voice": xml(
        "voice",
        f"<MediaId>{cdata('media_id_voice')}</MediaId><Format>{cdata('amr')}</Format>"
        f"<Recognition>{cdata('你好')}</Recognition>",
        with_msg_id=True,
    ),
    "image": xml(
        "image",
        f"<PicUrl>{cdata('http://127.0.0.1/p.jpg')}</PicUrl><MediaId>{cdata('media_id')}</MediaId>",
        with_msg_id=True,
    ),
    "location": xml(
        "location",
        "<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale>"
        f"<Label>{cdata('位置信息')}</Label>",
        with_msg_id=True,
    ),
}


@pytest.mark.parametrize("body", READABLE.values(), ids=READABLE.keys())
def test_a_message_sheli_reads_is_answered(wechat: WeChatServer, sheli: Any, body: str) -> None:
    reply = wechat.post(body)
    assert reply.status == 200 and reply.text and "看不了" not in reply.text
    assert count(sheli, InboundMessage) == 1
