"""In a real browser: log in, read the overview's figures, open a ticket and reassign it."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.security import generate_password_hash

from bot.app import create_app
from handlers import read_models
from tests.browser.community import play_twelve_weeks

PASSWORD = "sheli-demo-password"


def test_operator_logs_in_reads_the_overview_and_reassigns_a_ticket(
    page: Any, serve: Any, make_sheli: Any, clock: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    sheli = make_sheli(
        dashboard__password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    )
    play_twelve_weeks(sheli, create_app(sheli=sheli).test_client(), clock)
    figures = sheli.read(read_models.overview)
    assert figures.recent.new_tickets > 30 and figures.open >= 2

    base = serve(sheli)
    page.goto(base + "/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/login"))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    expect(page.locator("[data-figure=open]")).to_have_text(str(figures.open))
    expect(page.locator("[data-figure=resolved]")).to_have_text(str(figures.this_week.resolved))
    rate = figures.this_week.completion_rate
    expect(page.locator("[data-figure=completion]")).to_have_text(
        "—" if rate is None else f"{rate * 100:.0f}%"
    )
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.locator("svg.chart text", has_text="物业报修").first).to_be_visible()
    screenshot(page, "dashboard")

    page.click("a.tile >> text=在办")
    expect(page).to_have_url(re.compile(r"status=active"))
    row = page.locator("table.list tbody tr", has_text="物业管家").first
    number = int(row.locator("td a").inner_text().lstrip("#"))
    row.locator("td a").click()
    expect(page.locator("h1")).to_contain_text(f"#{number}")
    expect(page.locator("table.trail")).to_contain_text("运营人员 admin")  # this very visit
    page.select_option("#reassign-role", "grid_worker")
    page.click("text=转派 >> nth=-1")
    expect(page.locator(".flash.ok")).to_contain_text("已转派给网格员陈网格")
    expect(page.locator("[data-assignee]")).to_contain_text("网格员 陈网格")

    with sheli.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.role == "grid_worker"
        kinds = [(e.kind, e.actor) for e in uow.tickets.events(number)]
    assert ("viewed", "operator:admin") in kinds
    assert ("transferred", "operator:admin") in kinds
