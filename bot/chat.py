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

from bot.cli.common import Refusal
from bot.simulator import wechat_xml
from handlers import messages as msg
from handlers.conversation import MENU_KEYS

# What /help prints: the typed commands, with every menu button the account has.
HELP = msg.CHAT_HELP.format(
    buttons=" ".join(
        msg.CHAT_HELP_BUTTON.format(key=key, label=msg.MENU_LABELS.get(key, key))
        for key in MENU_KEYS
    )
)


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
            raise ChatError(msg.CHAT_REFUSED_SIGNATURE)
        if response.status_code != 200:
            raise ChatError(msg.CHAT_HTTP_ERROR.format(status=response.status_code))
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
            raise ChatError(
                msg.CHAT_CANNOT_READ.format(path=path, error=exc.__class__.__name__)
            ) from None
        response = self._call(
            "post", "/local/media", json={"data": base64.b64encode(data).decode("ascii")}
        )
        if response.status_code == 404:
            raise ChatError(msg.CHAT_NO_LOCAL_MEDIA)
        answer = (
            response.json()
            if response.headers.get("Content-Type", "").startswith("application/json")
            else {}
        )
        if response.status_code != 200:
            raise ChatError(
                answer.get("error") or msg.CHAT_UPLOAD_FAILED.format(status=response.status_code)
            )
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
            raise ChatError(msg.CHAT_NO_LOCAL_INBOX)
        if response.status_code != 200:
            raise ChatError(msg.CHAT_INBOX_FAILED.format(status=response.status_code))
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
                msg.CHAT_UNREACHABLE.format(url=self.url, error=exc.__class__.__name__)
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
        raise Refusal(str(exc)) from None
    click.echo(msg.CHAT_START.format(openid=openid, url=url))
    if earlier:
        click.echo(msg.CHAT_EARLIER.format(n=len(earlier)))
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
                _show("sheli>", reply if reply else msg.CHAT_NO_REPLY)
            _show_inbox(session.inbox(), session)
        except ChatError as exc:
            click.echo(f"!! {exc}")
