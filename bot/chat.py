"""`sheli chat`: a terminal stand-in for WeChat, for a service running in local mode.

What you type is signed with `wechat.token` and posted to `/wechat` exactly as WeChat's servers
would post it; the passive reply is printed, then whatever Sheli sent you on its own since (your
inbox, read from `/local/inbox/<openid>`). Play a resident in one terminal and a staff member in
another.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import click
import requests

from bot.simulator import wechat_xml

HELP = """\
Type a message and press Enter; Sheli's reply follows.
  (empty line)   check your inbox for messages Sheli sent on its own
  /loc 3栋502     send a location (as WeChat's "位置" button would)
  /image PATH    send a picture file (PNG, JPEG, GIF, WEBP or BMP)
  /click REPAIR  press a menu button: REPAIR MEDIATION LEGAL JOBS PROGRESS HUMAN MY_INFO
  /sub           follow the account (the welcome message)
  /inbox         show your whole inbox again
  /help          this text
  /quit          leave"""


class ChatError(Exception):
    """The service cannot be reached or refused us; the text says what to do."""


@dataclass
class ChatSession:
    """One person talking to a running Sheli over HTTP."""

    url: str
    openid: str
    token: str
    timeout: float = 10.0
    last_seen: int = 0
    http: requests.Session = field(default_factory=requests.Session)

    def post(self, kind: str, fields: dict[str, Any]) -> str | None:
        """Post one message or event as WeChat would; the passive reply text, if any."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        signature = hashlib.sha1(
            "".join(sorted([self.token, timestamp, nonce])).encode("utf-8")
        ).hexdigest()
        response = self._call(
            "post",
            "/wechat",
            params={"signature": signature, "timestamp": timestamp, "nonce": nonce},
            data=wechat_xml(self.openid, kind, fields).encode("utf-8"),
            headers={"Content-Type": "text/xml"},
        )
        if response.status_code == 403:
            raise ChatError("Sheli refused the signature: use the server's wechat.token")
        if response.status_code != 200:
            raise ChatError(f"Sheli answered HTTP {response.status_code}; see the server log")
        body = response.content.decode("utf-8")
        if not body.startswith("<xml>"):
            return None  # "success": nothing to say
        return ElementTree.fromstring(body).findtext("Content")

    def send_image(self, path: str) -> str | None:
        """Upload a picture file as local mode's WeChat would keep it, then send it as an image
        message; the passive reply text, if any."""
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise ChatError(f"cannot read {path} ({exc.__class__.__name__})") from None
        response = self._call(
            "post", "/local/media", json={"data": base64.b64encode(data).decode("ascii")}
        )
        if response.status_code == 404:
            raise ChatError("no local media upload there: `sheli chat` needs local mode")
        answer = (
            response.json()
            if response.headers.get("Content-Type", "").startswith("application/json")
            else {}
        )
        if response.status_code != 200:
            raise ChatError(answer.get("error") or f"upload: HTTP {response.status_code}")
        return self.post("image", {"MediaId": str(answer["media_id"])})

    def media_url(self, attachment_id: int) -> str:
        """Where a forwarded photo or voice note can be opened."""
        return f"{self.url.rstrip('/')}/local/media/{attachment_id}"

    def inbox(self, after: int | None = None) -> list[dict[str, Any]]:
        """Messages Sheli queued for this person after outbox id `after` (default: last seen)."""
        response = self._call(
            "get",
            f"/local/inbox/{self.openid}",
            params={"after": self.last_seen if after is None else after},
        )
        if response.status_code == 404:
            raise ChatError("no local inbox there: `sheli chat` needs the service in local mode")
        if response.status_code != 200:
            raise ChatError(f"inbox: HTTP {response.status_code}")
        messages: list[dict[str, Any]] = response.json()["messages"]
        if messages:
            self.last_seen = max(self.last_seen, *(int(m["id"]) for m in messages))
        return messages

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.http.request(
                method, self.url.rstrip("/") + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise ChatError(
                f"cannot reach Sheli at {self.url} ({exc.__class__.__name__}); "
                "is `sheli serve` running?"
            ) from None


def parse_line(line: str) -> tuple[str, dict[str, Any]] | str | None:
    """A typed line → (message type, XML fields), a command word ("quit", "inbox", "help"), or
    None for an empty line."""
    text = line.strip()
    if not text:
        return None
    if not text.startswith("/"):
        return "text", {"Content": text}
    word, _, rest = text[1:].partition(" ")
    word, rest = word.lower(), rest.strip()
    if word == "loc":
        label = rest or "3栋502"
        return "location", {
            "Location_X": 22.543,
            "Location_Y": 114.057,
            "Scale": 15,
            "Label": label,
        }
    if word == "image" and rest:
        return "image", {"path": rest}
    if word == "click" and rest:
        return "event", {"Event": "CLICK", "EventKey": rest.upper()}
    if word == "sub":
        return "event", {"Event": "subscribe"}
    if word in ("quit", "exit", "q"):
        return "quit"
    if word == "inbox":
        return "inbox"
    return "help"


def _show(prefix: str, text: str) -> None:
    lines = text.splitlines() or [""]
    click.echo(f"{prefix} {lines[0]}")
    for line in lines[1:]:
        click.echo(" " * (len(prefix) + 1) + line)


def _show_inbox(messages: Iterable[dict[str, Any]], session: ChatSession | None = None) -> None:
    for message in messages:
        body = message["body"]
        if message.get("attachment") and session is not None:
            body += "\n" + session.media_url(int(message["attachment"]))
        _show("inbox>", body)


def run_chat(url: str, openid: str, token: str) -> None:
    """Read lines from stdin until /quit or end of input; print replies and new inbox messages."""
    session = ChatSession(url, openid, token)
    try:
        earlier = session.inbox(after=0)
    except ChatError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Chatting with {url} as {openid}. /help lists commands, /quit leaves.")
    if earlier:
        click.echo(f"({len(earlier)} earlier message(s) in your inbox; the latest:)")
        _show_inbox(earlier[-3:], session)
    stdin = sys.stdin
    prompt = stdin.isatty()  # piped input (or a test) gets no prompts in the transcript
    while True:
        if prompt:
            click.echo("you> ", nl=False)
        line = stdin.readline()
        if not line:
            return
        parsed = parse_line(line)
        try:
            if parsed == "quit":
                return
            if parsed == "help":
                click.echo(HELP)
                continue
            if parsed == "inbox":
                _show_inbox(session.inbox(after=0), session)
                continue
            if isinstance(parsed, tuple):
                kind, fields = parsed
                if kind == "image":
                    reply = session.send_image(str(fields["path"]))
                else:
                    reply = session.post(kind, fields)
                _show("sheli>", reply if reply else "(no reply)")
            _show_inbox(session.inbox(), session)
        except ChatError as exc:
            click.echo(f"!! {exc}")
