"""Delivering the outbox: local inbox or WeChat customer-service messages, with retries.

Handlers write every message Sheli sends on its own to the outbox, in the transaction that caused
it. `deliver_due` sends what is due: one dispatcher at a time (a lease in the database), oldest
first, in order per recipient, and with exponential backoff after a failure. A WeChat outage only
delays messages; errors no retry can fix mark the message `dead` with its `last_error`, for the
operator (`sheli outbox status`, `sheli outbox retry ID`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

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
# The lease that makes one dispatcher at a time deliver (keeps per-recipient order simple).
DISPATCH_LEASE = "outbox-dispatch"


class SendError(Exception):
    """Delivery failed. `retryable`: trying later may help; `outage`: WeChat was unreachable or
    answered with a server error, which delays a message but never kills it."""

    def __init__(
        self, reason: str, retryable: bool = True, code: int | None = None, outage: bool = False
    ):
        super().__init__(reason)
        self.retryable = retryable
        self.code = code
        self.outage = outage


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

    def __init__(self, client_factory: Callable[[], Any], template_id: str = ""):
        self._client_factory = client_factory
        self._client: Any = None
        self.template_id = template_id

    @property
    def client(self) -> Any:
        """The wechatpy client, built on first use."""
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def send(self, message: OutboxMessage) -> None:
        try:
            self.client.message.send_text(message.recipient, message.body)
        except WeChatClientException as exc:
            if exc.errcode in OUTSIDE_WINDOW:
                self._send_template(message, exc.errcode)
                return
            raise _classify(exc, "wechat") from None
        except (requests.RequestException, OSError) as exc:
            raise SendError(f"network: {exc.__class__.__name__}", outage=True) from None

    def _send_template(self, message: OutboxMessage, code: int) -> None:
        if not self.template_id:
            raise SendError(
                f"wechat error {code}: customer-service message refused "
                "(outside the 48 h window or over quota) and no wechat.template_id configured",
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
            self.client.message.send_template(message.recipient, self.template_id, data)
        except WeChatClientException as exc:
            error = _classify(exc, "template")
            if exc.errcode in OUTSIDE_WINDOW:
                error.retryable = False
            raise error from None
        except (requests.RequestException, OSError) as exc:
            raise SendError(f"network: {exc.__class__.__name__}", outage=True) from None
        message.channel = "template"
        message.last_error = f"customer-service refused ({code}); sent as a template message"


def _classify(exc: WeChatClientException, what: str) -> SendError:
    code = exc.errcode
    if code is None or code == -1:  # HTTP error, no answer, or WeChat's "system busy"
        return SendError(f"{what} unavailable: {exc.errmsg or 'HTTP error'}", outage=True)
    return SendError(f"{what} error {code}: {exc.errmsg}", code not in PERMANENT, code)


@dataclass
class OutboxSettings:
    max_attempts: int = 10
    backoff: timedelta = timedelta(seconds=30)
    # How long one dispatcher holds the lease; it stops sending after half of it.
    claim_for: timedelta = timedelta(minutes=2)
    max_backoff: timedelta = timedelta(hours=1)
    scan_limit: int = 500


def retry_delay(settings: OutboxSettings, attempts: int) -> timedelta:
    """Backoff after the `attempts`-th failure: doubling from `backoff`, capped at `max_backoff`."""
    return min(settings.backoff * (2 ** min(max(attempts - 1, 0), 20)), settings.max_backoff)


def deliver_due(
    uow_factory: Callable[[], AbstractUnitOfWork],
    sender: Sender,
    clock: Clock,
    settings: OutboxSettings,
    limit: int = 50,
) -> dict[str, int]:
    """Send what is due, oldest first and in order per recipient; returns counts by outcome.

    Only the holder of the dispatch lease sends, so two dispatchers never send one message
    twice; the others return at once (`skipped`: 1) and the holder's next pass takes their work.
    """
    counts = {"sent": 0, "retry": 0, "dead": 0}
    holder = uuid.uuid4().hex
    with uow_factory() as uow:
        if not uow.leases.acquire(DISPATCH_LEASE, holder, clock.now(), settings.claim_for):
            return {**counts, "skipped": 1}
        uow.commit()
    started = time.monotonic()
    budget = settings.claim_for.total_seconds() / 2
    try:
        for _round in range(20):
            batch = _deliverable(uow_factory, clock.now(), settings.scan_limit, limit)
            if not batch:
                break
            held_back: set[str] = set()  # recipients whose earlier message just failed
            progress = False
            for message_id, recipient in batch:
                if recipient in held_back:
                    continue
                outcome = _deliver_one(uow_factory, sender, clock, settings, message_id)
                if outcome:
                    counts["retry" if outcome == "outage" else outcome] += 1
                if outcome in ("sent", "dead"):
                    progress = True
                elif outcome == "retry":
                    held_back.add(recipient)
                if outcome == "outage" or time.monotonic() - started > budget:
                    return counts
            if not progress:
                break
    finally:
        with uow_factory() as uow:
            uow.leases.release(DISPATCH_LEASE, holder)
            uow.commit()
    return counts


def _deliverable(
    uow_factory: Callable[[], AbstractUnitOfWork], now: datetime, scan: int, limit: int
) -> list[tuple[int, str]]:
    """Due messages (id, recipient), oldest first, none behind an earlier one still waiting."""
    with uow_factory() as uow:
        pending = uow.outbox.pending(limit=scan)
        waiting: set[str] = set()
        batch: list[tuple[int, str]] = []
        for message in pending:
            if message.recipient in waiting:
                continue
            if message.next_attempt_at > now:
                waiting.add(message.recipient)
                continue
            batch.append((message.id, message.recipient))
            if len(batch) >= limit:
                break
    return batch


def _deliver_one(
    uow_factory: Callable[[], AbstractUnitOfWork],
    sender: Sender,
    clock: Clock,
    settings: OutboxSettings,
    message_id: int,
) -> str | None:
    """Send one message and record the result; the send itself runs outside any transaction."""
    with uow_factory() as uow:
        message = uow.outbox.get(message_id)
        if message is None or message.status != "pending":
            return None  # erased (注销) or handled by an operator meanwhile
    error: SendError | None = None
    try:
        sender.send(message)
    except SendError as exc:
        error = exc
    except Exception as exc:  # a bug in a sender must not stop the queue
        log.exception("outbox #%s: unexpected error while sending", message_id)
        error = SendError(f"unexpected: {exc.__class__.__name__}")
    now = clock.now()
    with uow_factory() as uow:
        row = uow.outbox.get(message_id)
        if row is None or row.status != "pending":
            return None
        row.attempts += 1
        if error is None:
            row.status, row.sent_at = "sent", now
            row.channel = message.channel or sender.channel
            row.last_error = message.last_error
            outcome = "sent"
        elif not error.retryable or (not error.outage and row.attempts >= settings.max_attempts):
            row.status, row.last_error = "dead", str(error)[:500]
            log.warning("outbox #%s to %s given up: %s", row.id, row.recipient, error)
            outcome = "dead"
        else:
            row.last_error = str(error)[:500]
            row.next_attempt_at = now + retry_delay(settings, row.attempts)
            outcome = "outage" if error.outage else "retry"
        uow.commit()
    if outcome == "outage":
        log.warning("outbox #%s: WeChat unavailable (%s); will retry", message_id, error)
    return outcome


# --- for operators (`sheli outbox ...`) ----------------------------------------------------


def outbox_status(uow: AbstractUnitOfWork, limit: int = 20) -> dict[str, Any]:
    """Counts by status and the newest dead messages with their last error."""
    dead = uow.outbox.dead(limit)
    counts = {"pending": 0, "sent": 0, "dead": 0, **uow.outbox.count_by_status()}
    return {
        "counts": counts,
        "dead": [
            {
                "id": m.id,
                "recipient": m.recipient,
                "kind": m.kind,
                "ticket": m.ticket_id,
                "attempts": m.attempts,
                "created_at": m.created_at.isoformat(),
                "last_error": m.last_error,
                "body": m.body,
            }
            for m in dead
        ],
    }


def retry_message(uow: AbstractUnitOfWork, message_id: int, now: datetime) -> OutboxMessage:
    """Put a dead message back in the queue, due now; ValueError when it is not dead."""
    message = uow.outbox.get(message_id)
    if message is None:
        raise ValueError(f"no outbox message {message_id}")
    if message.status != "dead":
        raise ValueError(f"outbox message {message_id} is {message.status}, not dead")
    message.status, message.attempts, message.next_attempt_at = "pending", 0, now
    return message
