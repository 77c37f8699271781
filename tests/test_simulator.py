"""The local-mode simulator: what you type goes to /wechat signed like WeChat's servers would
send it, the passive reply comes back, and Sheli's own messages show up in the inbox."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.app import create_app
from storage.models import InboundMessage


class Player:
    """Somebody in the simulator page: the same JSON calls the page's script makes."""

    def __init__(self, client: Any, openid: str):
        self.client = client
        self.openid = openid
        self.seen = 0

    def send(self, **payload: Any) -> Any:
        response = self.client.post("/simulator/send", json={"openid": self.openid, **payload})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def say(self, text: str) -> str:
        data = self.send(type="text", text=text)
        assert data["status"] == 200
        return str(data["reply"] or "")

    def inbox(self) -> list[str]:
        """Messages Sheli sent on its own since the last look."""
        data = self.client.get(f"/simulator/inbox/{self.openid}?after={self.seen}").get_json()
        if data["messages"]:
            self.seen = data["messages"][-1]["id"]
        return [m["body"] for m in data["messages"]]


@pytest.fixture
def play(client: Any) -> Any:
    return lambda openid: Player(client, openid)


def test_page_lists_residents_and_bound_staff(client: Any) -> None:
    page = client.get("/simulator/").get_data(as_text=True)
    assert "demo_resident_1" in page and "还没有绑定的工作人员" in page
    assert client.post("/simulator/seed", json={}).get_json()["created"] == [
        "demo_branch_liaison",
        "demo_police_officer",
        "demo_grid_worker",
        "demo_property_steward",
        "demo_legal_adviser",
        "demo_employment_liaison",
    ]
    assert client.post("/simulator/seed", json={}).get_json()["created"] == []
    page = client.get("/simulator/").get_data(as_text=True)
    assert "物业管家 张师傅" in page and 'data-openid="demo_property_steward"' in page


def test_typing_goes_through_the_webhook(play: Any, sheli: Any) -> None:
    reply = play("demo_resident_1").say("3栋502热水器坏了")
    assert "#1" in reply
    with sheli.uow() as uow:
        [row] = uow.session.scalars(select(InboundMessage)).all()
    assert (row.openid, row.msg_type, row.content, row.reply) == (
        "demo_resident_1",
        "text",
        "3栋502热水器坏了",
        reply,
    )


def test_a_repair_from_report_to_visit(client: Any, play: Any, clock: Any, make_sheli: Any) -> None:
    client.post("/simulator/seed", json={})
    resident, steward = play("demo_resident_1"), play("demo_property_steward")
    assert "在哪里" in resident.say("热水器坏了")
    assert "#1" in resident.send(type="location", label="3栋502")["reply"]
    assert any("#1" in text for text in steward.inbox())  # the new task
    assert "已接单 #1" in steward.say("接单 1")
    assert any("张师傅接单" in text for text in resident.inbox())
    assert "#1" in steward.say("完成 1 换了加热棒")
    assert any("换了加热棒" in text for text in resident.inbox())
    clock.advance(hours=25)  # the default followup.delay is 24h
    done = client.post("/simulator/run-due", json={}).get_json()
    assert done["duties"]["visits"] == [1]
    assert done["delivered"]["sent"] >= 1
    [visit] = resident.inbox()
    assert "回访" in visit and "#1" in visit
    assert "5分" in resident.say("5")


def test_menu_buttons_and_subscribe(play: Any) -> None:
    resident = play("demo_resident_2")
    assert "欢迎" in resident.send(type="subscribe")["reply"]
    assert "哪里坏了" in resident.send(type="click", key="REPAIR")["reply"]
    assert "#1" in resident.say("5栋302空调不制冷")
    assert "#1" in resident.send(type="click", key="PROGRESS")["reply"]


def test_history_shows_what_was_said(client: Any, play: Any) -> None:
    play("demo_resident_3").say("你好")
    data = client.get("/simulator/history/demo_resident_3").get_json()
    assert [m["text"] for m in data["messages"]] == ["你好"]
    assert data["messages"][0]["reply"]


def test_bad_requests(client: Any) -> None:
    assert client.post("/simulator/send", data={"openid": "x", "text": "hi"}).status_code == 415
    assert client.post("/simulator/send", json={"openid": "", "text": "hi"}).status_code == 400
    assert client.post("/simulator/send", json={"openid": "a b", "text": "hi"}).status_code == 400
    assert (
        client.post(
            "/simulator/send", json={"openid": "x", "type": "text", "text": " "}
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/simulator/send", json={"openid": "x", "type": "click", "key": "NOPE"}
        ).status_code
        == 400
    )
    assert client.post("/simulator/send", json={"openid": "x", "type": "video"}).status_code == 400


def test_not_served_in_wechat_mode(make_sheli: Any) -> None:
    sheli = make_sheli(wechat__app_id="wx0123456789", wechat__app_secret="not-a-secret")
    client = create_app(sheli=sheli).test_client()
    assert client.get("/simulator/").status_code == 404
    assert client.post("/simulator/send", json={"openid": "x", "text": "hi"}).status_code == 404
    assert client.post("/simulator/seed", json={}).status_code == 404
    assert client.get("/simulator/inbox/x").status_code == 404
    assert client.get("/simulator/static/simulator.js").status_code == 404
