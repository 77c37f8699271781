"""Every dashboard page in a real browser, on a phone (390×844) and on a laptop (1366×900):
nothing is wider than the screen, no role key and no English error is on the page, and on a
phone the navigation folds into a menu and tables become stacked cards.

`make screenshots` writes the README's phone views to docs/; a normal run writes every page's
screenshot to pytest's temporary folder (tmp_path/pages), never into the tree.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from werkzeug.security import generate_password_hash

from bot.app import create_app
from handlers import messages as msg
from handlers.commands import AddCommunity, ImportData, MoveBuilding, SaveEvent
from tests.browser.community import STAFF, play_twelve_weeks
from tests.wechat import Person, WeChatServer

PASSWORD = "sheli-demo-password"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
SIZES = {"phone": PHONE, "laptop": LAPTOP}
# Words in Latin letters an operator may see: the login name, file formats, a WeChat term.
ALLOWED_WORDS = {"admin", "CSV", "csv", "YAML", "Excel", "xlsx", "openid", "UTC"}
# The text of the page without code samples (commands and column names are meant literally).
VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('code, script, style').forEach((node) => node.remove());
  document.body.appendChild(copy);
  copy.style.position = 'absolute';
  const text = copy.innerText;
  copy.remove();
  return text;
}"""
WIDTH = "() => [document.documentElement.scrollWidth, window.innerWidth]"
# The README shows these pages as a phone shows them (under `make screenshots`).
README_PAGES = {
    "overview": "dashboard-phone",
    "tickets": "tickets-phone",
    "ticket": "ticket-phone",
    "summary": "summary-phone",
}


def seed(sheli: Any, clock: Any) -> dict[str, str]:
    """Twelve weeks of requests, rooms, events with sign-ups and resources; returns the URLs
    of every page worth looking at."""
    client = create_app(sheli=sheli).test_client()
    play_twelve_weeks(sheli, client, clock)
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    import yaml

    sheli.handle(
        ImportData(
            "rooms",
            [
                {"building": b, "room": r, "capacity": c}
                for b, r, c in (
                    ("3栋", "501", 6),
                    ("3栋", "502", 6),
                    ("12栋", "1单元401", 6),
                    ("5栋", "218", 8),
                )
            ],
        )
    )
    sheli.handle(ImportData("events", yaml.safe_load((examples / "events.yaml").read_text())))
    sheli.handle(ImportData("resources", yaml.safe_load((examples / "resources.yaml").read_text())))
    past = sheli.handle(
        SaveEvent(
            {
                "kind": "legal_clinic",
                "title": "欠薪维权讲座",
                "starts_at": "2026-11-20 19:00",
                "place": "3栋一楼活动室",
                "capacity": "20",
            }
        )
    )
    wechat = WeChatServer(client)
    for i in range(3):
        Person(wechat, f"o_resident_{i}").say("报名 1")
    Person(wechat, "o_resident_0").say("登记 3栋502")
    clock.advance(minutes=20)
    Person(wechat, "o_new").say("6号楼203热水器不出热水了，电话13812345678")
    Person(wechat, "o_puzzled").say("你们这边能不能帮忙看看那个东西")  # kept for review
    with sheli.uow() as uow:
        active = [t.id for t in uow.tickets.list(status=("assigned", "accepted", "open"))]
        resident = uow.residents.by_openid("o_resident_0")
        assert resident is not None and active
    return {
        "overview": "/dashboard/",
        "tickets": "/dashboard/tickets",
        "tickets-filtered": "/dashboard/tickets?status=active&role=property_steward",
        "ticket": f"/dashboard/tickets/{active[-1]}",  # the newest, with a phone
        "accepted-ticket": f"/dashboard/tickets/{active[0]}",
        "staff": "/dashboard/staff",
        "summary": "/dashboard/summary",
        "summary-this-week": "/dashboard/summary?week=2026-W48",
        "events": "/dashboard/events",
        "event": "/dashboard/events/1",
        "past-event": f"/dashboard/events/{past.id}",
        "event-new": "/dashboard/events/new",
        "event-edit": "/dashboard/events/1/edit",
        "buildings": "/dashboard/buildings",
        "building": "/dashboard/building?name=3栋",
        "resident": f"/dashboard/residents/{resident.id}",
        "resources": "/dashboard/resources",
        "review": "/dashboard/review",
        "review-all": "/dashboard/review?show=all",
        "not-found": "/dashboard/tickets/9999",
        "bad-week": "/dashboard/summary?week=47",
    }


def check_page(page: Any, name: str, size: dict[str, int]) -> None:
    """Nothing wider than the screen; no role key, no English sentence in what a person reads."""
    scroll, inner = page.evaluate(WIDTH)
    assert inner == size["width"], (name, inner)
    assert scroll <= inner, f"{name} at {inner}px is {scroll}px wide"
    text = page.evaluate(VISIBLE_TEXT)
    for key in STAFF:
        assert key not in text, f"{name} shows the role key {key}"
    quoted = re.sub(r"'[^'\n]*'", "", text)  # what a file said, quoted in a problem
    words = set(re.findall(r"[A-Za-z][A-Za-z_]{2,}", quoted)) - ALLOWED_WORDS
    assert not words, f"{name} shows English: {sorted(words)}"
    assert "None" not in text and "Traceback" not in text, name


def shoot(page: Any, path: Path, size: dict[str, int]) -> None:
    """The page from its top, at most 2.5 screens long (enough to see how it reads)."""
    height = min(page.evaluate("document.documentElement.scrollHeight"), size["height"] * 5 // 2)
    clip = {"x": 0, "y": 0, "width": size["width"], "height": height}
    page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled")


def log_in(page: Any, base: str) -> None:
    page.goto(base + "/dashboard/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/$"))


@pytest.fixture
def seeded(make_sheli: Any, clock: Any, serve: Any) -> Iterator[tuple[Any, str, dict[str, str]]]:
    sheli = make_sheli(
        dashboard__password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    )
    pages = seed(sheli, clock)
    yield sheli, serve(sheli), pages


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_every_page_fits_and_speaks_chinese(
    browser: Any, seeded: Any, size: str, screenshot: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    _sheli, base, pages = seeded
    context = browser.new_context(viewport=SIZES[size], locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    folder = tmp_path / "pages"
    folder.mkdir()
    try:
        page.goto(base + "/dashboard/login")
        check_page(page, "login", SIZES[size])
        shoot(page, folder / f"login-{size}.png", SIZES[size])
        log_in(page, base)
        for name, url in pages.items():
            response = page.goto(base + url)
            assert response is not None and response.status in (200, 400, 404), (name, url)
            check_page(page, name, SIZES[size])
            shoot(page, folder / f"{name}-{size}.png", SIZES[size])
            if size == "phone" and name in README_PAGES:
                screenshot(page, README_PAGES[name])

        # Acting on a ticket: the full phone once, then 结单 with a reason.
        page.goto(base + pages["ticket"])
        expect(page.locator("[data-phone]")).to_contain_text("138****5678")
        page.click("[data-show-phone]")
        expect(page.locator(".full-phone")).to_have_text("13812345678")
        check_page(page, "phone-shown", SIZES[size])
        page.goto(base + pages["accepted-ticket"])
        page.click("#close summary")
        page.fill("#close input[name=reason]", "住户电话确认已解决")
        page.click("#close button[type=submit]")
        expect(page.locator(".flash.ok")).to_contain_text("已结单")
        expect(page.locator("table.trail")).to_contain_text("住户电话确认已解决")
        check_page(page, "closed", SIZES[size])
        shoot(page, folder / f"closed-{size}.png", SIZES[size])

        # The export button downloads what the list shows, as a workbook.
        page.goto(base + "/dashboard/tickets?intent=repair")
        with page.expect_download() as download:
            page.click("[data-export=xlsx]")
        assert re.fullmatch(r"工单-\d{8}-\d{4}\.xlsx", download.value.suggested_filename)
        book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
        rows = list(book[msg.EXPORT_SHEET_TICKETS].iter_rows(values_only=True))
        assert len(rows) > 10 and {r[2] for r in rows[1:]} == {"物业报修"}

        # A file with bad rows: every problem in Chinese, beside the form.
        page.goto(base + "/dashboard/buildings")
        page.set_input_files(
            "#import input[type=file]",
            files=[
                {
                    "name": "rooms.csv",
                    "mimeType": "text/csv",
                    "buffer": "building,room,capacity\n3栋,509,abc\n门卫室,1,2\n".encode(),
                }
            ],
        )
        page.click("#import button[type=submit]")
        expect(page.locator("[data-import-problems]")).to_contain_text(
            "第2行：容量必须是不小于0的整数，现在是'abc'"
        )
        check_page(page, "import-problems", SIZES[size])
        shoot(page, folder / f"import-problems-{size}.png", SIZES[size])

        # The navigation: a row of links on a laptop, a menu button on a phone.
        page.goto(base + "/dashboard/")
        nav = page.locator("header nav")
        if size == "phone":
            expect(nav).to_be_hidden()
            page.click("label.menu-button")
            expect(nav).to_be_visible()
            check_page(page, "menu-open", SIZES[size])
            box = nav.locator("a").first.bounding_box()
            assert box is not None and box["height"] >= 32  # a finger can hit it
            shoot(page, folder / f"menu-{size}.png", SIZES[size])
            page.click("header nav >> text=工单")
            expect(page.locator("h1")).to_have_text("工单")
            # A table row is a card: label-over-value pairs, two to a line, text on its own.
            first = page.locator("table.tickets tbody tr").first
            card = first.bounding_box()
            assert card is not None and card["x"] >= 0 and card["width"] <= PHONE["width"]
            cells = first.locator("td")
            label = "(td) => getComputedStyle(td, '::before').content"
            assert cells.nth(0).evaluate(label) == '"编号"'
            a, b = cells.nth(0).bounding_box(), cells.nth(2).bounding_box()
            assert a is not None and b is not None and b["y"] > a["y"]  # the third is below
            text = first.locator("td.text").bounding_box()
            assert text is not None and text["width"] > card["width"] * 0.8
            expect(page.locator("table.tickets thead")).to_be_hidden()
        else:
            expect(nav).to_be_visible()
            expect(page.locator("label.menu-button")).to_be_hidden()
            page.click("header nav >> text=工单")
            expect(page.locator("table.tickets thead")).to_be_visible()
    finally:
        context.close()


def test_the_disabled_dashboard_fits_a_phone_too(browser: Any, serve: Any, make_sheli: Any) -> None:
    base = serve(make_sheli())  # no password hash: the dashboard is off
    for size in SIZES.values():
        context = browser.new_context(viewport=size, locale="zh-CN")
        page = context.new_page()
        response = page.goto(base + "/dashboard/")
        assert response is not None and response.status == 503
        check_page(page, "disabled", size)
        context.close()


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_with_two_communities_the_selector_shows_and_pages_still_fit(
    browser: Any, seeded: Any, size: str, tmp_path: Path
) -> None:
    """Issue 13: on a site of more communities the header carries the community selector; every
    page still fits, and choosing one narrows the lists (the choice kept from page to page)."""
    from playwright.sync_api import expect

    sheli, base, pages = seeded
    sheli.handle(AddCommunity(key="lihe", name="立和苑"))
    sheli.handle(MoveBuilding("3栋", "lihe", move_open=True))
    with sheli.uow() as uow:
        theirs = {t.id for t in uow.tickets.list(community="lihe")}
        ours = {t.id for t in uow.tickets.list(community="default")}
    assert theirs and ours
    context = browser.new_context(viewport=SIZES[size], locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    folder = tmp_path / "communities"
    folder.mkdir()
    try:
        log_in(page, base)
        selector = page.locator(".scope select[name=community]")
        expect(selector).to_be_visible()
        for name in ("overview", "tickets", "ticket", "staff", "summary", "buildings", "events"):
            page.goto(base + pages[name])
            expect(selector).to_be_visible()
            check_page(page, f"{name} (communities)", SIZES[size])
            shoot(page, folder / f"{name}-{size}.png", SIZES[size])

        page.goto(base + "/dashboard/tickets")
        selector.select_option("lihe")
        page.click(".scope button[type=submit]")
        expect(selector).to_have_value("lihe")
        shown = {
            int(n.strip().lstrip("#"))
            for n in page.locator("table.tickets tbody tr td:first-child").all_inner_texts()
        }
        assert shown and shown <= theirs
        page.goto(base + "/dashboard/buildings")  # the choice is kept
        expect(selector).to_have_value("lihe")
        expect(page.locator("main")).not_to_contain_text("12栋")
        check_page(page, "buildings of one community", SIZES[size])
        shoot(page, folder / f"buildings-lihe-{size}.png", SIZES[size])
    finally:
        context.close()
