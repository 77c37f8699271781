"""In a real browser: a resident files a repair in the simulator, the property steward accepts
and finishes it, and the follow-up visit arrives in the resident's chat."""

from __future__ import annotations

from typing import Any


def test_resident_and_steward_play_a_repair_to_its_visit(
    page: Any, serve: Any, make_sheli: Any, clock: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    sheli = make_sheli(followup__delay="1s")
    base = serve(sheli)
    page.goto(base + "/simulator/")
    expect(page.locator("#people")).to_contain_text("还没有绑定的工作人员")
    page.click("#seed")
    steward = page.locator('.person[data-openid="demo_property_steward"]')
    expect(steward).to_contain_text("物业管家 张师傅")

    def say(text: str) -> None:
        page.fill("#text", text)
        page.click("#send")

    page.click('.person[data-openid="demo_resident_1"]')
    expect(page.locator("#who")).to_have_text("住户 1")
    say("热水器坏了，洗不了澡")
    expect(page.locator(".msg.reply").last).to_contain_text("在哪里")
    page.fill("#location-label", "3栋502")
    page.click("#location")
    expect(page.locator(".msg.reply").last).to_contain_text("#1")

    steward.click()
    expect(page.locator("#who")).to_have_text("物业管家 张师傅")
    expect(page.locator(".msg.push").first).to_contain_text("#1")  # the new task, from the inbox
    say("接单 1")
    expect(page.locator(".msg.reply").last).to_contain_text("已接单 #1")
    say("完成 1 换了加热棒，已经有热水了")
    # The finishing reply itself (not the acceptance before it): only then move Sheli's clock.
    expect(page.locator(".msg.reply").last).to_contain_text("#1 已办结")

    clock.advance(seconds=2)  # past followup.delay on Sheli's clock
    page.click("#run-due")
    expect(page.locator("#status")).to_contain_text("回访 1 件")

    page.click('.person[data-openid="demo_resident_1"]')
    expect(page.locator(".msg.push", has_text="换了加热棒")).to_have_count(1)
    expect(page.locator(".msg.push").last).to_contain_text("回访")
    say("5")
    expect(page.locator(".msg.reply").last).to_contain_text("5分")
    replies = page.locator(".msg.reply").count()
    page.click("#menu button[data-key=PROGRESS]")
    expect(page.locator(".msg.reply")).to_have_count(replies + 1)
    screenshot(page, "simulator")
    # accepted, finished, the visit: each exactly once however the inbox polls interleave
    assert page.locator(".msg.push").count() == 3

    with sheli.uow() as uow:
        ticket = uow.tickets.get(1)
        assert ticket is not None and (ticket.status, ticket.rating) == ("closed", 5)
