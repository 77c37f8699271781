"""What a tester met using the simulator and the dashboard on a phone (390×844) and a laptop
(1366×900), in a real browser: the simulator's phone layout (finding 1), 停用 asks first
(17), the tickets list never breaks a number, a score or a phone (24), the overview's charts
(25). Screenshots go to pytest's temporary folder (`screenshot` fixture)."""

from __future__ import annotations

from typing import Any

PHONE = {"width": 390, "height": 844}
LANDSCAPE = {"width": 844, "height": 390}  # a phone turned sideways: the table, not cards
LAPTOP = {"width": 1366, "height": 900}
WIDTH = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def fits(page: Any, name: str) -> None:
    scroll, inner = page.evaluate(WIDTH)
    assert scroll <= inner, f"{name} is {scroll}px wide at {inner}px"


def one_line(locator: Any) -> None:
    """The element's text sits on one line: its box is no taller than one line of its font."""
    height, line = locator.evaluate(
        "(e) => [e.getBoundingClientRect().height, "
        "parseFloat(getComputedStyle(e).fontSize) * 1.9 "
        "+ parseFloat(getComputedStyle(e).paddingTop) "
        "+ parseFloat(getComputedStyle(e).paddingBottom)]"
    )
    assert height <= line, (locator, height, line)


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
        page.click("#seed")
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
