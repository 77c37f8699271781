"""What a tester met using the simulator and the dashboard on a phone (390×844) and a laptop
(1366×900), in a real browser: the simulator's phone layout (finding 1), 停用 asks first
(17), the tickets list never breaks a number, a score or a phone (24), the overview's charts
(25). Screenshots go to pytest's temporary folder (`screenshot` fixture, tmp_path); run with
--basetemp to look at them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

PHONE = {"width": 390, "height": 844}
LANDSCAPE = {"width": 844, "height": 390}  # a phone turned sideways (the tester's #2/3)
LAPTOP = {"width": 1366, "height": 900}
WIDTH = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def shoot(page: Any, path: Path, size: dict[str, int]) -> None:
    """The page from its top, at most 2.5 screens long, in pytest's temporary folder."""
    from tests.browser.test_every_page import shoot as take

    take(page, path, size)


def fits(page: Any, name: str) -> None:
    scroll, inner = page.evaluate(WIDTH)
    assert scroll <= inner, f"{name} is {scroll}px wide at {inner}px"


def one_line(locator: Any) -> None:
    """The element's text sits on one line: all of its text's boxes overlap vertically (a
    label drawn before it by CSS, as on a phone's cards, is not part of its text)."""
    boxes = locator.evaluate(
        """(e) => {
          const range = document.createRange();
          range.selectNodeContents(e);
          return [...range.getClientRects()].filter((r) => r.width > 0)
            .map((r) => [r.top, r.bottom]);
        }"""
    )
    # Text of different sizes on one line has different tops, but the boxes overlap.
    first_top, first_bottom = boxes[0]
    below = [top for top, bottom in boxes if top >= first_bottom - 1 or bottom <= first_top + 1]
    assert not below, (locator, locator.inner_text(), boxes)


# --- finding 1: the simulator on a phone ---------------------------------------------------


def test_the_simulator_on_a_phone_puts_the_people_on_top_and_fits_the_inputs(
    browser: Any, serve: Any, make_sheli: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    base = serve(make_sheli())
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(base + "/simulator/")
        page.click("#seed")
        resident = page.locator('.person[data-openid="demo_resident_1"]')
        expect(page.locator('.person[data-openid="demo_property_steward"]')).to_be_visible()
        # Nobody chosen yet: the list is open, as wide as the screen, one name to a line.
        box = resident.bounding_box()
        assert box is not None and box["width"] > PHONE["width"] * 0.8
        one_line(resident)
        fits(page, "simulator, list open")
        screenshot(page, "simulator-phone-people")

        resident.click()
        expect(page.locator("#who")).to_have_text("住户 1")
        expect(page.locator(".people-body")).to_be_hidden()  # folded away for the chat
        page.fill("#text", "3栋502热水器坏了")
        page.click("#send")
        expect(page.locator(".msg.reply").last).to_contain_text("#1")
        fits(page, "simulator, chatting")
        for control in ("#location", "#send", ".picture-button"):
            one_line(page.locator(control))
        label = page.locator("#location-label").bounding_box()
        assert label is not None and label["height"] < 48 and label["width"] >= 100
        compose = page.locator("#text").bounding_box()
        assert compose is not None and compose["y"] + compose["height"] <= PHONE["height"]
        for button in page.locator("#menu button").all():
            one_line(button)
        screenshot(page, "simulator-phone-chat")

        # The button over the chat opens the list again; choosing someone folds it.
        page.click("#people-button")
        expect(page.locator(".people-body")).to_be_visible()
        page.click('.person[data-openid="demo_property_steward"]')
        expect(page.locator("#who")).to_have_text("物业管家 张师傅")
        expect(page.locator(".people-body")).to_be_hidden()
        expect(page.locator(".msg.push").first).to_contain_text("#1")
    finally:
        context.close()


def test_the_simulator_on_a_laptop_keeps_the_people_beside_the_chat(
    browser: Any, serve: Any, make_sheli: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    base = serve(make_sheli())
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(base + "/simulator/")
        page.click("#seed")  # the page reloads with the staff: wait for it, as the others do
        expect(page.locator('.person[data-openid="demo_property_steward"]')).to_be_visible()
        page.click('.person[data-openid="demo_resident_1"]')
        expect(page.locator("#who")).to_have_text("住户 1")
        expect(page.locator("#people-button")).to_be_hidden()
        expect(page.locator(".people-body")).to_be_visible()  # never folded on a wide screen
        people, chat = page.locator("#people").bounding_box(), page.locator("#phone").bounding_box()
        assert people is not None and chat is not None
        assert 300 <= people["width"] <= 340 and chat["x"] >= people["width"]
        one_line(page.locator("#location"))
        fits(page, "simulator on a laptop")
        screenshot(page, "simulator-laptop")
    finally:
        context.close()


# --- the dashboard, seeded with twelve weeks -------------------------------------------------

SIZES = {"phone": PHONE, "landscape": LANDSCAPE, "laptop": LAPTOP}


@pytest.fixture
def dashboard(make_sheli: Any, clock: Any, serve: Any) -> tuple[Any, str]:
    from werkzeug.security import generate_password_hash

    from bot.app import create_app
    from tests.browser.community import play_twelve_weeks
    from tests.browser.test_every_page import PASSWORD
    from tests.wechat import Person, WeChatServer

    sheli = make_sheli(
        dashboard__password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    )
    client = create_app(sheli=sheli).test_client()
    play_twelve_weeks(sheli, client, clock)
    clock.advance(minutes=20)
    Person(WeChatServer(client), "o_new").say("6号楼203热水器不出热水了，电话13812345678")
    return sheli, serve(sheli)


def open_as(browser: Any, base: str, size: dict[str, int]) -> tuple[Any, Any]:
    from tests.browser.test_every_page import log_in

    context = browser.new_context(viewport=size, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, base)
    return context, page


# --- finding 24: the tickets list never breaks a number, a score or a phone ------------------


@pytest.mark.parametrize("size", list(SIZES))
def test_the_tickets_list_keeps_numbers_scores_and_phones_whole(
    browser: Any, dashboard: Any, size: str, tmp_path: Path
) -> None:
    _sheli, base = dashboard
    context, page = open_as(browser, base, SIZES[size])
    try:
        page.goto(base + "/dashboard/tickets")
        fits(page, f"tickets at {size}")
        rows = page.locator("table.tickets tbody tr")
        assert rows.count() > 20
        for i in range(rows.count()):
            row = rows.nth(i)
            one_line(row.locator('td[data-label="编号"] a'))
            one_line(row.locator('td[data-label="评分"]'))
            one_line(row.locator('td[data-label="电话"]'))
            one_line(row.locator('td[data-label="状态"] .status'))
            clock = row.locator("[data-sla]")
            if clock.count():
                one_line(clock)
                text = clock.inner_text()
                assert "." not in text, text  # whole hours and minutes
                box, cell = (
                    clock.bounding_box(),
                    row.locator('td[data-label="时限"]').bounding_box(),
                )
                assert box is not None and cell is not None
                assert box["x"] + box["width"] <= cell["x"] + cell["width"] + 1, text
        if size == "laptop":  # a table; narrower, cards (labels over values)
            for header in page.locator("table.tickets thead th").all():
                one_line(header)
        else:
            assert page.locator("table.tickets thead").is_hidden()
            first = rows.first.bounding_box()
            assert first is not None and first["width"] <= SIZES[size]["width"]
        shoot(page, tmp_path / f"tickets-{size}.png", SIZES[size])
        # One name for job_fair: the filter says what the menu says.
        options = page.locator("select[name=intent] option").all_inner_texts()
        assert "招聘求职" in options and "就业服务" not in options
        kinds = page.locator('table.tickets td[data-label="类型"]').all_inner_texts()
        assert any("招聘求职" in k for k in kinds) and not any("就业服务" in k for k in kinds)
    finally:
        context.close()


# --- findings 17 and 25: 停用 asks first; the overview's and buildings' charts ---------------


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_the_confirm_step_and_the_charts_read_well(
    browser: Any, dashboard: Any, size: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    sheli, base = dashboard
    context, page = open_as(browser, base, SIZES[size])
    try:
        page.goto(base + "/dashboard/")
        fits(page, f"overview at {size}")
        caption = page.locator("figure", has=page.locator("svg[aria-label^=办结用时]"))
        expect(caption.locator("figcaption")).to_have_text(
            re.compile(r"办结用时与首次响应（中位数，(分钟|小时)）")
        )
        axis = caption.locator('svg text[text-anchor="end"]').all_text_contents()
        assert all(re.fullmatch(r"\d+", tick) for tick in axis), axis  # whole numbers
        shoot(page, tmp_path / f"overview-{size}.png", SIZES[size])

        page.goto(base + "/dashboard/buildings")
        fits(page, f"buildings at {size}")
        legend = page.locator('svg[aria-label="各楼栋诉求数"] text').all_text_contents()
        assert {"在办", "已办结", "已取消"} <= set(legend) and "已办结等" not in legend
        shoot(page, tmp_path / f"buildings-{size}.png", SIZES[size])

        # 停用 the only branch liaison: a page asks, and warns; going back changes nothing.
        page.goto(base + "/dashboard/staff")
        row = page.locator("tr", has_text="李联络")
        row.locator("[data-deactivate]").click()
        expect(page.locator("h1")).to_have_text("停用支部联络员李联络？")
        expect(page.locator("[data-warning]")).to_contain_text("李联络是唯一在岗的支部联络员！")
        fits(page, f"confirm at {size}")
        shoot(page, tmp_path / f"staff-deactivate-{size}.png", SIZES[size])
        page.click("text=返回，不停用")
        expect(page.locator("h1")).to_have_text("人员")
        with sheli.uow() as uow:
            assert all(s.active for s in uow.staff.list(role="branch_liaison"))
        page.locator("tr", has_text="李联络").locator("[data-deactivate]").click()
        page.click("text=确认停用")
        expect(page.locator(".flash.ok")).to_contain_text("李联络 已停用")
    finally:
        context.close()
