"""`sheli chat`: a terminal WeChat stand-in talking over HTTP to a real Sheli served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from werkzeug.serving import make_server

from bot.app import create_app
from bot.bootstrap import Sheli
from bot.chat import parse_line
from bot.cli import cli
from tests.helpers import hire
from tests.servers import serve_in_thread, stop
from tests.wechat import TOKEN

STEWARD = "o_steward_zhang"
Serve = Callable[[Sheli], str]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Serve a Sheli's app with werkzeug on 127.0.0.1:<free port>; returns its URL."""
    servers: list[Any] = []

    def start(sheli: Sheli) -> str:
        server = make_server("127.0.0.1", 0, create_app(sheli=sheli), threaded=True)
        serve_in_thread(server)
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        stop(server)


@pytest.fixture
def url(sheli: Sheli, serve: Serve) -> str:
    hire(sheli, "property_steward", "张师傅", STEWARD)
    return serve(sheli)


def chat(url: str, openid: str, *lines: str, token: str = TOKEN) -> Result:
    """Run `sheli chat --as openid` with these lines typed in."""
    return CliRunner().invoke(
        cli,
        ["chat", "--as", openid, "--url", url],
        input="".join(line + "\n" for line in lines),
        env={"SHELI_WECHAT__TOKEN": token},
        catch_exceptions=False,
    )


def test_a_resident_reports_and_the_steward_takes_it_in_another_terminal(url: str) -> None:
    resident = chat(url, "o_resident_1", "3栋502热水器坏了，洗不了澡", "/quit")
    assert resident.exit_code == 0, resident.output
    assert "sheli> " in resident.output and "#1" in resident.output

    steward = chat(url, STEWARD, "", "接单 1", "/quit")
    assert steward.exit_code == 0, steward.output
    assert "inbox> 【新任务 #1】" in steward.output  # the task Sheli pushed on its own
    assert "3栋502" in steward.output
    [accepted] = [line for line in steward.output.splitlines() if line.startswith("sheli> ")]
    assert "#1" in accepted

    later = chat(url, "o_resident_1", "")  # press Enter: what arrived meanwhile
    inbox = [line for line in later.output.splitlines() if line.startswith("inbox> ")]
    assert inbox and "#1" in inbox[-1]


def test_menu_clicks_locations_and_following(url: str) -> None:
    result = chat(
        url, "o_resident_2", "/sub", "/click REPAIR", "厕所堵了", "/loc 6栋101", "5栋301水管漏水了"
    )
    assert result.exit_code == 0, result.output
    replies = [line for line in result.output.splitlines() if line.startswith("sheli> ")]
    assert len(replies) == 5, result.output
    welcome, prompt, asks_where, first, second = replies
    assert "欢迎" in welcome
    assert "哪里坏了" in prompt
    assert "#" not in asks_where  # a repair without a location asks for it…
    assert "#1" in first  # …and the location message fills it in
    assert "#2" in second


def test_help_and_the_whole_inbox(url: str) -> None:
    chat(url, "o_resident_3", "3栋502热水器坏了")
    result = chat(url, STEWARD, "/help", "/inbox", "/quit")
    assert "/loc" in result.output and "/click" in result.output
    assert result.output.count("【新任务 #1】") == 2  # shown on arrival, then by /inbox


def test_a_wrong_token_is_reported_not_a_crash(url: str) -> None:
    result = chat(url, "o_resident_1", "你好", token="not-the-token")
    assert result.exit_code == 0
    assert "!! Sheli 拒绝了签名" in result.output


def test_nobody_listening(unused_url: str) -> None:
    result = chat(unused_url, "o_resident_1", "你好")
    assert result.exit_code == 1
    assert "连不上" in result.output and "sheli serve 在运行吗" in result.output


@pytest.fixture
def unused_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_wechat_mode_has_no_local_inbox(make_sheli: Any, serve: Serve) -> None:
    sheli = make_sheli(**{"wechat.app_id": "wxtest", "wechat.app_secret": "s"})
    result = chat(serve(sheli), "o_resident_1", "你好")
    assert result.exit_code == 1
    assert "本地模式" in result.output
    assert create_app(sheli=sheli).test_client().get("/local/inbox/o_x").status_code == 404


def test_the_local_inbox_endpoint(sheli: Sheli, client: Any, person: Any) -> None:
    assert client.get(f"/local/inbox/{STEWARD}").get_json() == {"openid": STEWARD, "messages": []}
    hire(sheli, "property_steward", "张师傅", STEWARD)
    person("o_resident_1").say("3栋502热水器坏了")

    [task] = client.get(f"/local/inbox/{STEWARD}").get_json()["messages"]
    assert task["body"].startswith("【新任务 #1】") and task["ticket"] == 1
    assert task["status"] == "pending" and task["kind"]
    newer = client.get(f"/local/inbox/{STEWARD}", query_string={"after": task["id"]})
    assert newer.get_json()["messages"] == []


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("  你好 ", ("text", {"Content": "你好"})),
        ("", None),
        ("/loc B区2幢108", ("location", {"Label": "B区2幢108"})),
        ("/click repair", ("event", {"Event": "CLICK", "EventKey": "REPAIR"})),
        ("/sub", ("event", {"Event": "subscribe"})),
        ("/quit", "quit"),
        ("/whatever", "help"),
    ],
)
def test_typed_lines(line: str, parsed: Any) -> None:
    result = parse_line(line)
    if isinstance(parsed, tuple) and parsed[0] == "location":
        assert isinstance(result, tuple)
        assert result[0] == "location" and result[1]["Label"] == parsed[1]["Label"]
    else:
        assert result == parsed
