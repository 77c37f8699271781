"""The dashboard's 未理解的消息 page: behind the login, one click (a CSRF-protected POST) labels a
message, the week's labels are counted, the list is paginated, and the label is used at once."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from handlers import messages as msg
from nlu.factory import build_embedded
from storage.models import ReviewMessage
from tests.dialogue import dialogue
from tests.test_dashboard import PASSWORD_HASH, csrf, login, post

FIXTURE = Path(__file__).parent / "fixtures" / "nlu_small.yml"
UNSEEN = "楼里暖气片哐哐响"


@pytest.fixture
def sheli(make_sheli: Any, tmp_path: Path) -> Any:
    small = build_embedded(data_path=FIXTURE, cache_dir=tmp_path / "nlu-cache")
    return make_sheli(nlu=small, dashboard__password_hash=PASSWORD_HASH)


@pytest.fixture
def operator(client: Any) -> Any:
    login(client)
    return client


def page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


def keep(sheli: Any, count: int, **fields: Any) -> None:
    """Kept messages as the conversation would write them, one a minute."""
    with sheli.uow() as uow:
        start = sheli.clock.now() - timedelta(minutes=count)
        for n in range(count):
            uow.review.add(
                ReviewMessage(
                    text=fields.get("text", f"第{n + 1}条没听懂的话"),
                    intent="out_of_scope",
                    confidence=0.41,
                    runner_up="repair",
                    runner_up_confidence=0.2,
                    reason="below_threshold",
                    created_at=start + timedelta(minutes=n),
                )
            )
        uow.commit()


def test_the_page_needs_a_login_and_its_form_the_csrf_token(client: Any, sheli: Any) -> None:
    keep(sheli, 1)
    response = client.get("/dashboard/review")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/login")
    assert client.get("/dashboard/api/review").status_code == 401
    token = csrf(client)
    refused = client.post(
        "/dashboard/review/1/label", data={"csrf_token": token, "intent": "repair"}
    )
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/dashboard/login")
    login(client)
    assert client.post("/dashboard/review/1/label", data={"intent": "repair"}).status_code == 400
    forged = {"csrf_token": "forged", "intent": "repair"}
    assert client.post("/dashboard/review/1/label", data=forged).status_code == 400
    with sheli.uow() as uow:
        assert uow.review.count(labelled=True) == 0


def test_the_navigation_links_the_page(operator: Any) -> None:
    html = page(operator.get("/dashboard/"))
    assert 'href="/dashboard/review"' in html and ">未理解的消息</a>" in html


def test_a_misunderstood_message_is_labelled_with_one_click(
    operator: Any, sheli: Any, person: Any
) -> None:
    resident = person("o_resident")
    dialogue([(resident, f"{UNSEEN} 电话13812345678", msg.HELP)])
    html = page(operator.get("/dashboard/review"))
    assert "楼里暖气片哐哐响 电话138****5678" in html and "13812345678" not in html
    assert re.search(r"data-unlabelled>1<", html) and re.search(r"data-labelled-this-week>0<", html)
    assert '<option value="repair"' in html and ">物业报修</option>" in html  # intents in Chinese
    assert ">社区活动</option>" in html and ">无关/闲聊</option>" in html
    assert "没听懂" in html

    done = post(operator, "/dashboard/review/1/label", intent="repair", show="todo", page="1")
    assert done.status_code == 302 and done.headers["Location"].endswith(
        "/dashboard/review?show=todo&page=1"
    )
    html = page(operator.get(done.headers["Location"]))
    assert "消息 1 已标注为「物业报修」" in html
    assert re.search(r"data-unlabelled>0<", html) and re.search(r"data-labelled-this-week>1<", html)
    assert "没有待标注的消息" in html
    labelled = page(operator.get("/dashboard/review?show=labelled"))
    assert "已标注：物业报修" in labelled and "改标" in labelled
    with sheli.uow() as uow:
        (row,) = uow.review.newest(labelled=True)
        assert (row.labelled_intent, row.labelled_by) == ("repair", "operator:admin")

    # This worker retrained at once: the same words are now a repair.
    dialogue([(resident, UNSEEN, msg.ASK_LOCATION)])


def test_a_bad_label_is_flashed_and_changes_nothing(operator: Any, sheli: Any) -> None:
    keep(sheli, 1)
    refused = post(operator, "/dashboard/review/1/label", intent="complaint")
    assert refused.status_code == 302
    html = page(operator.get(refused.headers["Location"]))
    assert "没有「complaint」这个意图" in html
    missing = post(operator, "/dashboard/review/99/label", intent="repair")
    assert missing.status_code == 404 and "没有编号为 99 的待标注消息" in page_any(missing)
    with sheli.uow() as uow:
        assert uow.review.count(labelled=True) == 0


def page_any(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_the_list_is_paginated_newest_first(operator: Any, sheli: Any) -> None:
    keep(sheli, 25)
    first = page(operator.get("/dashboard/review"))
    assert first.count("data-review=") == 20
    assert "第25条没听懂的话" in first and "第5条没听懂的话" not in first
    assert "第 1 / 2 页（共 25 条）" in first and 'rel="next"' in first
    second = page(operator.get("/dashboard/review?page=2"))
    assert second.count("data-review=") == 5
    assert "第5条没听懂的话" in second and 'rel="prev"' in second
    assert page(operator.get("/dashboard/review?page=99")).count("data-review=") == 5  # the last
    assert page(operator.get("/dashboard/review?page=x&show=nonsense")).count("data-review=") == 20
    data = operator.get("/dashboard/api/review?page=2").get_json()
    assert (data["page"], data["pages"], data["total"], len(data["rows"])) == (2, 2, 25, 5)
    assert data["rows"][0]["text"] == "第5条没听懂的话"
