"""Delivering the outbox: local inbox or WeChat customer-service messages, with retries."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import requests
from wechatpy.exceptions import WeChatClientException

from handlers.ports import Clock
from storage.models import OutboxMessage
from storage.uow import AbstractUnitOfWork

log = logging.getLogger(__name__)

# 45015: the user has not written in 48 h; 45047: customer-service quota used up.
OUTSIDE_WINDOW = (45015, 45047)
# Errors no retry can fix (bad openid, user blocked the account, content rejected).
PERMANENT = (40003, 43004, 45002, 40008, 43019)


class SendError(Exception):
    """Delivery failed; `retryable` says whether trying later may help."""

    def __init__(self, reason: str, retryable: bool = True, code: int | None = None):
        super().__init__(reason)
        self.retryable = retryable
        self.code = code


class Sender(Protocol):
    channel: str

    def send(self, message: OutboxMessage) -> None: ...


class LocalInboxSender:
    """Local mode: the outbox row itself is the recipient's inbox; delivery just marks it."""

    channel = "local"

    def send(self, message: OutboxMessage) -> None:
        return None


class WeChatSender:
    """Customer-service text messages; a template message when WeChat refuses those."""

    channel = "wechat"

    def __init__(self, client_factory: Callable[[], object], template_id: str = ""):
        self._client_factory = client_factory
        self._client: object | None = None
        self.template_id = template_id

    @property
    def client(self):  # type: ignore[no-untyped-def]
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def send(self, message: OutboxMessage) -> None:
        try:
            self.client.message.send_text(message.recipient, message.body)  # type: ignore[attr-defined]
        except WeChatClientException as exc:
            code = exc.errcode
            if code in OUTSIDE_WINDOW:
                self._send_template(message, code)
                return
            raise SendError(
                f"wechat error {code}: {exc.errmsg}", code not in PERMANENT, code
            ) from None
        except (TimeoutError, requests.RequestException, OSError) as exc:
            raise SendError(f"network: {exc.__class__.__name__}") from None

    def _send_template(self, message: OutboxMessage, code: int) -> None:
        if not self.template_id:
            raise SendError(
                f"wechat error {code}: outside the 48 h window and no template configured",
                retryable=False,
                code=code,
            )
        data = {
            "first": {"value": "智慧舍里通知"},
            "keyword1": {"value": f"#{message.ticket_id}" if message.ticket_id else "通知"},
            "keyword2": {"value": message.body[:180]},
            "remark": {"value": "回复公众号可继续办理"},
        }
        try:
            self.client.message.send_template(message.recipient, self.template_id, data)  # type: ignore[attr-defined]
        except WeChatClientException as exc:
            raise SendError(
                f"template error {exc.errcode}: {exc.errmsg}",
                exc.errcode not in PERMANENT + OUTSIDE_WINDOW,
                exc.errcode,
            ) from None
        except (requests.RequestException, OSError) as exc:
            raise SendError(f"network: {exc.__class__.__name__}") from None
        message.channel = "template"


@dataclass
class OutboxSettings:
    max_attempts: int = 10
    backoff: timedelta = timedelta(seconds=30)
    claim_for: timedelta = timedelta(minutes=2)


def deliver_due(
    uow_factory: Callable[[], AbstractUnitOfWork],
    sender: Sender,
    clock: Clock,
    settings: OutboxSettings,
    limit: int = 50,
) -> dict[str, int]:
    """Send what is due. Each message is claimed first, so concurrent dispatchers never send it twice."""
    now = clock.now()
    with uow_factory() as uow:
        due = uow.outbox.due(now, limit=limit)
        claimed = [m.id for m in due]
        for message in due:
            message.next_attempt_at = now + settings.claim_for
        uow.commit()
    counts = {"sent": 0, "retry": 0, "dead": 0}
    for message_id in claimed:
        with uow_factory() as uow:
            message = uow.outbox.get(message_id)
            if message is None or message.status != "pending":
                continue
            try:
                sender.send(message)
            except SendError as exc:
                message.attempts += 1
                message.last_error = str(exc)[:500]
                if not exc.retryable or message.attempts >= settings.max_attempts:
                    message.status = "dead"
                    counts["dead"] += 1
                    log.warning("outbox #%s to %s given up: %s", message.id, message.recipient, exc)
                else:
                    delay = min(
                        settings.backoff * (2 ** (message.attempts - 1)), timedelta(hours=1)
                    )
                    message.next_attempt_at = clock.now() + delay
                    counts["retry"] += 1
            else:
                message.attempts += 1
                message.status = "sent"
                message.sent_at = clock.now()
                message.channel = message.channel or sender.channel
                counts["sent"] += 1
            uow.commit()
    return counts
