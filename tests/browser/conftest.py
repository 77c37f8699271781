"""Headless Chromium (Debian's `chromium` package) driven by Playwright, against a real server.

The browser is never downloaded: the tests skip unless /usr/bin/chromium and the playwright
package are both installed (`apt-get install chromium`, `pip install playwright`).

They all run on one xdist worker (one Chromium, not one per worker). Their screenshots go to a
temporary folder, so a test run leaves the tree as it found it; `make screenshots` sets
SHELI_SCREENSHOTS=docs to write the README images instead.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from bot.app import create_app
from tests.servers import serve_in_thread, stop

CHROMIUM = Path("/usr/bin/chromium")
PROJECT = Path(__file__).resolve().parents[2]
SCREENSHOTS = "SHELI_SCREENSHOTS"  # a folder, relative to the project; unset: a temporary one
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return "needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "needs the playwright package (pip install playwright; no browser download)"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = _missing()
    for item in items:
        if "tests/browser/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """Serve a Sheli over HTTP on a free port in a thread; returns its base URL."""
    servers: list[Any] = []

    def start(sheli: Any) -> str:
        app = create_app(sheli=sheli)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        serve_in_thread(server)
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        stop(server)


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[[Any, str], Path]:
    """Save the page as <name>.png: a README image under `make screenshots`, else a temporary one."""
    folder = PROJECT / os.environ[SCREENSHOTS] if os.environ.get(SCREENSHOTS) else tmp_path

    def take(page: Any, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        # No hover, focus ring or caret: the same page gives the same bytes (from a fixed clock
        # and data), so regenerating the README images changes nothing when the pages did not.
        page.mouse.move(0, 0)
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.screenshot(path=str(path), animations="disabled", caret="hide")
        assert path.read_bytes().startswith(b"\x89PNG"), path
        return path

    return take
