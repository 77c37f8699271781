"""In a real browser: a resident sends a photo from the simulator, the property steward sees it
in their chat, and the operator sees it on the ticket's dashboard page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from werkzeug.security import generate_password_hash

from tests.fake_wechat_api import png_bytes

PASSWORD = "sheli-demo-password"


def _loaded(page: Any, selector: str) -> None:
    """Wait until the picture at `selector` is decoded: a broken image has no natural width."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0; }",
        arg=selector,
    )


def test_a_photo_from_the_simulator_reaches_the_steward_and_the_ticket_page(
    page: Any, serve: Any, make_sheli: Any, screenshot: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    sheli = make_sheli(
        dashboard__password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    )
    photo = tmp_path / "leak.png"
    photo.write_bytes(png_bytes(64, 48, (40, 120, 200)))
    base = serve(sheli)

    page.goto(base + "/simulator/")
    page.click("#seed")
    steward = page.locator('.person[data-openid="demo_property_steward"]')
    expect(steward).to_contain_text("物业管家 张师傅")
    page.click('.person[data-openid="demo_resident_1"]')
    page.fill("#text", "3栋502卫生间漏水了")
    page.click("#send")
    expect(page.locator(".msg.reply").last).to_contain_text("#1")
    page.set_input_files("#picture", str(photo))
    expect(page.locator(".msg.reply").last).to_contain_text("图片已附到工单 #1")
    _loaded(page, ".msg.me img.pic")  # the resident's own bubble shows what was sent

    steward.click()
    expect(page.locator(".msg.push", has_text="[图片] #1")).to_have_count(1)
    _loaded(page, ".msg.push img.pic")
    screenshot(page, "media-simulator")

    page.goto(base + "/dashboard/tickets/1")
    expect(page).to_have_url(re.compile(r"/dashboard/login"))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("#1")
    expect(page.locator('[data-fetch="fetched"] img.media-thumb')).to_have_count(1)
    _loaded(page, "img.media-thumb")
    width = page.eval_on_selector("img.media-thumb", "i => i.naturalWidth")
    assert width == 64
    screenshot(page, "media-ticket")
