"""Delivering the outbox: local inbox or WeChat customer-service messages, with retries.

Handlers write every message Sheli sends on its own to the outbox, in the transaction that caused
it. `deliver_due` sends what is due: one dispatcher at a time (a lease in the database), oldest
first, in order per recipient, and with exponential backoff after a failure. A WeChat outage only
delays messages; errors no retry can fix mark the message `dead` with its `last_error`, for the
operator (`sheli outbox status`, `sheli outbox retry ID`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Protocol

import requests
from urllib3.exceptions import ProtocolError
from wechatpy.exceptions import WeChatClientException

from bot.logsafe import describe_error, log_error
from handlers import messages as msg
from handlers.lifecycle import set_outbox_status
from handlers.masking import pseudonym
from handlers.media import MEDIA_ID_LIFETIME, MEDIA_ID_MARGIN
from handlers.ports import Clock, SystemClock
from storage.models import OutboxMessage
from storage.states import OutboxStatus
from storage.uow import AbstractUnitOfWork

log = logging.getLogger(__name__)

# 45015: the user has not written in 48 h; 45047: customer-service quota used up.
OUTSIDE_WINDOW = (45015, 45047)
# Errors no retry can fix (bad openid, user blocked the account, content rejected).
PERMANENT = (40003, 43004, 45002, 40008, 43019)
# The lease that makes one dispatcher at a time deliver (keeps per-recipient order simple).
DISPATCH_LEASE = "outbox-dispatch"
# Outbox kinds that forward a resident's photo or voice note (handlers/media.py) by media id.
MEDIA_KINDS = ("image", "voice")


class SendError(Exception):
    """Delivery failed. `retryable`: trying later may help; `outage`: WeChat was unreachable or
    answered with a server error, which delays a message but never kills it; `unknown`: the
    request may have reached WeChat (no answer in time), so the message may have arrived."""

    def __init__(
        self,
        reason: str,
        retryable: bool = True,
        code: int | None = None,
        outage: bool = False,
        unknown: bool = False,
    ):
        super().__init__(reason)
        self.retryable = retryable
        self.code = code
        self.outage = outage
        self.unknown = unknown


def _network_error(exc: BaseException) -> SendError:
    """A failed HTTP call: unknown outcome if the request may have reached WeChat."""
    reached = isinstance(exc, requests.ReadTimeout | requests.exceptions.ChunkedEncodingError) or (
        isinstance(exc, requests.ConnectionError)
        and not isinstance(exc, requests.ConnectTimeout)
        and bool(exc.args)
        and isinstance(exc.args[0], ProtocolError)  # the connection broke after the request
    )
    return SendError(f"network: {exc.__class__.__name__}", outage=True, unknown=reached)


class Sender(Protocol):
    channel: str

    def send(self, message: OutboxMessage) -> None: ...


class LocalInboxSender:
    """Local mode: the outbox row itself is the recipient's inbox; delivery just marks it."""

    channel = "local"

    def send(self, message: OutboxMessage) -> None:
        return None


class WeChatSender:
    """Customer-service text messages; a template message when WeChat refuses those.

    A forwarded photo or voice note goes out as an image or voice message by its media id while
    WeChat still keeps it (three days); after that its stored copy is uploaded for a new id
    (`stored_media(attachment_id)` finds the file: bot/media.py MediaLibrary.stored).
    """

    channel = "wechat"

    def __init__(
        self,
        client_factory: Callable[[], Any],
        template_id: str = "",
        stored_media: Callable[[int], Any] | None = None,
        clock: Clock | None = None,
    ):
        self._client_factory = client_factory
        self.template_id = template_id
        self.stored_media = stored_media
        self.clock = clock or SystemClock()

    @cached_property
    def client(self) -> Any:
        """The wechatpy client, built on first use."""
        return self._client_factory()

    def send(self, message: OutboxMessage) -> None:
        try:
            if message.kind in MEDIA_KINDS:
                self._send_media(message)
            else:
                self.client.message.send_text(message.recipient, message.body)
        except WeChatClientException as exc:
            if exc.errcode in OUTSIDE_WINDOW:
                self._send_template(message, exc.errcode)
                return
            raise _classify(exc, "wechat") from None
        except (requests.RequestException, OSError) as exc:
            raise _network_error(exc) from None

    def _send_media(self, message: OutboxMessage) -> None:
        media_id = message.media_id
        expires = message.media_expires_at
        if not media_id or expires is None or expires <= self.clock.now():
            media_id = self._upload_again(message)
        if message.kind == "image":
            self.client.message.send_image(message.recipient, media_id)
        else:
            self.client.message.send_voice(message.recipient, media_id)

    def _upload_again(self, message: OutboxMessage) -> str:
        """Upload the stored copy for a fresh media id (kept on the message for a retry)."""
        stored = None
        if self.stored_media is not None and message.attachment_id:
            stored = self.stored_media(message.attachment_id)
        if stored is None:
            raise SendError(
                "the media id expired and there is no stored copy to upload again",
                retryable=False,
            )
        try:
            with stored.path.open("rb") as file:
                result = self.client.media.upload(
                    message.kind, (stored.path.name, file, stored.content_type)
                )
        except WeChatClientException as exc:
            raise _classify(exc, "media upload") from None
        except (requests.RequestException, OSError) as exc:
            # Nothing reached the person yet: a plain retry, never an unknown outcome.
            raise SendError(
                f"media upload: network: {exc.__class__.__name__}", outage=True
            ) from None
        media_id = str(result.get("media_id") or "") if isinstance(result, dict) else ""
        if not media_id:
            raise SendError("media upload: WeChat answered without a media_id")
        message.media_id = media_id
        message.media_expires_at = self.clock.now() + MEDIA_ID_LIFETIME - MEDIA_ID_MARGIN
        return media_id

    def _send_template(self, message: OutboxMessage, code: int) -> None:
        if not self.template_id:
            raise SendError(
                f"wechat error {code}: customer-service message refused "
                "(outside the 48 h window or over quota) and no wechat.template_id configured",
                retryable=False,
                code=code,
            )
        data = {
            "first": {"value": msg.TEMPLATE_FIRST},
            "keyword1": {
                "value": f"#{message.ticket_id}" if message.ticket_id else msg.TEMPLATE_NO_TICKET
            },
            "keyword2": {"value": message.body[:180]},
            "remark": {"value": msg.TEMPLATE_REMARK},
        }
        try:
            self.client.message.send_template(message.recipient, self.template_id, data)
        except WeChatClientException as exc:
            error = _classify(exc, "template")
            if exc.errcode in OUTSIDE_WINDOW:
                error.retryable = False
            raise error from None
        except (requests.RequestException, OSError) as exc:
            raise _network_error(exc) from None
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
    # A message whose send had an unknown outcome is sent again at most this many times.
    max_unknown: int = 1
    # A message still "sending" this long after its send began has an unknown outcome. Longer
    # than the lease, so no live dispatcher can still be waiting for WeChat's answer to it.
    unknown_grace: timedelta = timedelta(minutes=2)


def retry_delay(settings: OutboxSettings, attempts: int) -> timedelta:
    """Backoff after the `attempts`-th failure: doubling from `backoff`, capped at `max_backoff`."""
    return min(settings.backoff * (2 ** min(max(attempts - 1, 0), 20)), settings.max_backoff)


@dataclass
class _Result:
    """What one send attempt came to, kept until the database has it."""

    attempt: int
    error: SendError | None
    channel: str | None
    note: str | None
    # A forward's media id and its expiry, new if the sender uploaded the stored copy again.
    media: tuple[str | None, datetime | None] = (None, None)


@dataclass
class _Dispatcher:
    """This process's dispatcher for one sender.

    Its lease holder id is stable, so after losing the database it takes its own lease back on
    the next pass instead of waiting for the lease to expire; its lock keeps two threads of the
    process from dispatching at once; and it remembers outcomes it could not record.
    """

    pid: int
    holder: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    unrecorded: dict[int, _Result] = field(default_factory=dict)


_DISPATCHERS: weakref.WeakKeyDictionary[Any, _Dispatcher] = weakref.WeakKeyDictionary()
_DISPATCHERS_LOCK = threading.Lock()


def _dispatcher(sender: Sender) -> _Dispatcher:
    with _DISPATCHERS_LOCK:
        found = _DISPATCHERS.get(sender)
        if found is None or found.pid != os.getpid():  # a forked worker is a new dispatcher
            found = _Dispatcher(
                os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
            )
            _DISPATCHERS[sender] = found
        return found


def deliver_due(
    uow_factory: Callable[[], AbstractUnitOfWork],
    sender: Sender,
    clock: Clock,
    settings: OutboxSettings,
    limit: int = 50,
) -> dict[str, int]:
    """Send what is due, oldest first and in order per recipient; returns counts by outcome
    (`sent`, `retry`, `dead`, and `unknown` for sends WeChat did not answer in time).

    Only the holder of the dispatch lease sends, so two dispatchers never send one message
    twice; the others return at once (`skipped`: 1) and the holder's next pass takes their work.
    Each message is marked "sending" (committed) before it goes to WeChat, so a send whose
    outcome was lost is found and reconciled instead of blindly repeated.
    """
    counts = {"sent": 0, "retry": 0, "dead": 0}
    dispatcher = _dispatcher(sender)
    if not dispatcher.lock.acquire(blocking=False):
        return {**counts, "skipped": 1}
    try:
        with uow_factory() as uow:
            if not uow.leases.acquire(
                DISPATCH_LEASE, dispatcher.holder, clock.now(), settings.claim_for
            ):
                return {**counts, "skipped": 1}
            uow.commit()
        try:
            _record_remembered(uow_factory, clock, settings, dispatcher)
            counts["dead"] += _reconcile(uow_factory, clock, settings)
            _deliver_batches(uow_factory, sender, clock, settings, limit, dispatcher, counts)
        finally:
            try:
                with uow_factory() as uow:
                    uow.leases.release(DISPATCH_LEASE, dispatcher.holder)
                    uow.commit()
            except Exception as exc:
                # The next pass of this dispatcher takes the lease back at once.
                log.warning(
                    "outbox: could not release the dispatch lease (%s)", describe_error(exc)
                )
    finally:
        dispatcher.lock.release()
    return counts


def _deliver_batches(
    uow_factory: Callable[[], AbstractUnitOfWork],
    sender: Sender,
    clock: Clock,
    settings: OutboxSettings,
    limit: int,
    dispatcher: _Dispatcher,
    counts: dict[str, int],
) -> None:
    started = time.monotonic()
    budget = settings.claim_for.total_seconds() / 2
    for _round in range(20):
        batch = _deliverable(uow_factory, clock.now(), settings.scan_limit, limit)
        if not batch:
            return
        held_back: set[str] = set()  # recipients whose earlier message just failed
        progress = False
        for message_id, recipient in batch:
            if recipient in held_back:
                continue
            outcome = _deliver_one(uow_factory, sender, clock, settings, message_id, dispatcher)
            if outcome == "unknown":
                counts["unknown"] = counts.get("unknown", 0) + 1
            elif outcome:
                counts["retry" if outcome == "outage" else outcome] += 1
            if outcome in ("sent", "dead"):
                progress = True
            elif outcome == "retry":
                held_back.add(recipient)
            # WeChat unreachable, or too slow to answer: the rest waits for the next pass.
            if outcome in ("outage", "unknown") or time.monotonic() - started > budget:
                return
        if not progress:
            return


def _deliverable(
    uow_factory: Callable[[], AbstractUnitOfWork], now: datetime, scan: int, limit: int
) -> list[tuple[int, str]]:
    """Due messages (id, recipient), oldest first, none behind an earlier one still waiting.

    A message still "sending" (its outcome not known yet) holds back its recipient's later ones.
    """
    with uow_factory() as uow:
        unfinished = uow.outbox.unfinished(limit=scan)
        waiting: set[str] = set()
        batch: list[tuple[int, str]] = []
        for message in unfinished:
            if message.recipient in waiting:
                continue
            if message.status != OutboxStatus.PENDING or message.next_attempt_at > now:
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
    dispatcher: _Dispatcher,
) -> str | None:
    """Mark one message "sending", send it, record the result; the send runs outside any
    transaction. If the result cannot be recorded, the dispatcher keeps it for its next pass."""
    with uow_factory() as uow:
        if not uow.outbox.start_sending(message_id, clock.now(), settings.unknown_grace):
            return None  # erased (注销), handled by an operator, or taken meanwhile
        message = uow.outbox.get(message_id)
        uow.commit()
    if message is None:  # pragma: no cover - the row was just updated in this transaction
        return None
    error: SendError | None = None
    try:
        sender.send(message)
    except SendError as exc:
        error = exc
    except Exception as exc:  # a bug in a sender must not stop the queue
        log_error(log, "outbox #%s: unexpected error while sending", message_id, exc=exc)
        error = SendError(f"unexpected: {exc.__class__.__name__}")
    result = _Result(
        message.attempts,
        error,
        message.channel or sender.channel,
        message.last_error,
        (message.media_id, message.media_expires_at),
    )
    try:
        return _record(uow_factory, clock, settings, message_id, result)
    except Exception:
        dispatcher.unrecorded[message_id] = result
        raise


def _record(
    uow_factory: Callable[[], AbstractUnitOfWork],
    clock: Clock,
    settings: OutboxSettings,
    message_id: int,
    result: _Result,
) -> str | None:
    """Write what a send came to; None when the row moved on meanwhile (erased, reconciled)."""
    now = clock.now()
    error = result.error
    with uow_factory() as uow:
        row = uow.outbox.get(message_id)
        if row is None or row.status != OutboxStatus.SENDING or row.attempts != result.attempt:
            return None
        if row.attachment_id and result.media[0]:
            row.media_id, row.media_expires_at = result.media
        if error is None:
            set_outbox_status(row, OutboxStatus.SENT)
            row.sent_at = now
            row.channel = result.channel
            row.last_error = result.note
            outcome = "sent"
        elif error.unknown:
            # Stays "sending": after the grace period _reconcile decides (send again, or give up).
            row.last_error = f"attempt {row.attempts}: outcome unknown ({error})"[:500]
            outcome = "unknown"
        elif not error.retryable or (not error.outage and row.attempts >= settings.max_attempts):
            set_outbox_status(row, OutboxStatus.DEAD)
            row.last_error = str(error)[:500]
            log.warning("outbox #%s to %s given up: %s", row.id, pseudonym(row.recipient), error)
            outcome = "dead"
        else:
            set_outbox_status(row, OutboxStatus.PENDING)
            row.last_error = str(error)[:500]
            row.next_attempt_at = now + retry_delay(settings, row.attempts)
            outcome = "outage" if error.outage else "retry"
        uow.commit()
    if outcome == "outage":
        log.warning("outbox #%s: WeChat unavailable (%s); will retry", message_id, error)
    elif outcome == "unknown":
        log.warning("outbox #%s: no answer from WeChat (%s); outcome unknown", message_id, error)
    return outcome


def _record_remembered(
    uow_factory: Callable[[], AbstractUnitOfWork],
    clock: Clock,
    settings: OutboxSettings,
    dispatcher: _Dispatcher,
) -> None:
    """Write the outcomes this dispatcher knew but the database missed (it was down)."""
    for message_id, result in list(dispatcher.unrecorded.items()):
        _record(uow_factory, clock, settings, message_id, result)
        del dispatcher.unrecorded[message_id]


def _reconcile(
    uow_factory: Callable[[], AbstractUnitOfWork], clock: Clock, settings: OutboxSettings
) -> int:
    """Messages still "sending" after the grace period: the send's outcome is unknown.

    WeChat has no idempotency key for customer-service messages, so nobody can ask whether it
    arrived. Such a message is sent again, at most `max_unknown` times; after that it is
    marked dead with the reason, for the operator, rather than risk more copies. Returns how
    many were given up.
    """
    now = clock.now()
    with uow_factory() as uow:
        stuck = uow.outbox.stuck_sending(now)
        for row in stuck:
            lost = (
                row.last_error
                if (row.last_error or "").startswith("attempt ")
                else (f"attempt {row.attempts}: outcome unknown (no result recorded)")
            )
            if row.unknown_outcomes < settings.max_unknown:
                row.unknown_outcomes += 1
                set_outbox_status(row, OutboxStatus.PENDING)
                row.next_attempt_at = now
                row.last_error = (
                    f"{lost}; sent again ({row.unknown_outcomes} of {settings.max_unknown})"
                )[:500]
            else:
                set_outbox_status(row, OutboxStatus.DEAD)
                row.last_error = (
                    f"{lost}; not sent again (outbox.max_unknown={settings.max_unknown}): "
                    "it may have arrived, check before `sheli outbox retry`"
                )[:500]
            log.warning(
                "outbox #%s: outcome of attempt %s unknown; %s",
                row.id,
                row.attempts,
                "sending again" if row.status == OutboxStatus.PENDING else "given up",
            )
        uow.commit()
    return sum(1 for row in stuck if row.status == OutboxStatus.DEAD)


# --- for operators (`sheli outbox ...`) ----------------------------------------------------


def outbox_status(uow: AbstractUnitOfWork, limit: int = 20) -> dict[str, Any]:
    """Counts by status and the newest dead messages with their last error."""
    dead = uow.outbox.dead(limit)
    counts = {
        OutboxStatus.PENDING.value: 0,
        OutboxStatus.SENT.value: 0,
        OutboxStatus.DEAD.value: 0,
        **uow.outbox.count_by_status(),
    }
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
    if message.status != OutboxStatus.DEAD:
        raise ValueError(f"outbox message {message_id} is {message.status}, not dead")
    set_outbox_status(message, OutboxStatus.PENDING)
    message.attempts, message.next_attempt_at = 0, now
    message.unknown_outcomes = 0
    return message
