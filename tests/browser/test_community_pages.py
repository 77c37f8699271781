"""In a real browser: log in, create an event through the form, see it listed, then open the
buildings page and find the chart with its Chinese labels."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.security import generate_password_hash

from handlers.importing.rooms import import_rooms
from tests.wechat import Person, WeChatServer

PASSWORD = "sheli-demo-password"


def test_events_and_buildings_pages(page: Any, serve: Any, make_sheli: Any) -> None:
    from playwright.sync_api import expect

    from bot.app import create_app

    sheli = make_sheli(
        dashboard__password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    )
    with sheli.uow() as uow:
        import_rooms(
            uow,
            [
                {"building": "3栋", "room": "501", "capacity": 6},
                {"building": "3栋", "room": "502", "capacity": 4},
                {"building": "5栋", "room": "218", "capacity": 8},
            ],
        )
        uow.commit()
    wechat = WeChatServer(create_app(sheli=sheli).test_client())
    Person(wechat, "o_a").say("登记 3栋502")
    Person(wechat, "o_b").say("3栋501水管漏水")
    Person(wechat, "o_c").say("5栋218空调不制冷")

    base = serve(sheli)
    page.goto(base + "/dashboard/events")
    expect(page).to_have_url(re.compile(r"/dashboard/login"))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard/events$"))
    expect(page.locator("table.events").first).to_contain_text("没有即将开始的活动")

    page.click("text=新建活动")
    form = page.locator("#event-form")
    form.locator("select[name=kind]").select_option("job_fair")
    form.locator("input[name=title]").fill("遇荐九龙湾第15场")
    form.locator("input[name=starts_at]").fill("2026-11-28T09:00")
    form.locator("input[name=place]").fill("党群服务中心广场")
    form.locator("input[name=capacity]").fill("50")
    form.locator("textarea[name=openings]").fill("华兴电子厂/普工/5000-6500元/月")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash.ok")).to_contain_text("已保存")
    expect(page.locator("h1")).to_contain_text("遇荐九龙湾第15场")
    expect(page.locator("[data-confirmed]")).to_have_text("0")

    page.click("nav >> text=活动")
    row = page.locator("table.events tbody tr", has_text="遇荐九龙湾第15场")
    expect(row).to_contain_text("2026-11-28 09:00")
    expect(row).to_contain_text("招聘会")
    expect(row.locator("[data-confirmed]")).to_have_text("0/50")

    page.click("nav >> text=楼栋")
    expect(page.locator("h1")).to_have_text("楼栋")
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("svg.chart text", has_text="3栋").first).to_be_visible()
    expect(page.locator("svg.chart text", has_text="在办").first).to_be_visible()
    expect(page.locator('tr[data-building="3栋"] [data-occupancy]')).to_have_text("20%")

    page.click('tr[data-building="3栋"] >> text=3栋')
    expect(page.locator('tr[data-room="3栋502"]')).to_contain_text("住户")
    expect(page.locator("table.list").last).to_contain_text("#1")
