"""Photos and voice notes outside the reply path: fetching them from WeChat's media API in the
background, keeping them under `media.dir`, finding them again for the outbox and the dashboard,
and pictures uploaded in local mode.

`fetch_due` is the media job (bot/scheduler.py runs it every `outbox.poll_interval`). Each due
attachment is claimed with a conditional update (so two schedulers never fetch one twice, and
one that dies leaves it due again), fetched outside any transaction, and its result recorded: the
stored file's name, SHA-256, type and size, or why it failed. A failure is retried with a backoff
that doubles from `media.backoff` up to an hour, `media.max_attempts` times; an answer no retry
can change (an invalid or expired media id, a file that is no picture) fails at once. The ticket
never waits for any of it.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import requests
from flask import Response, abort, send_file
from wechatpy.exceptions import WeChatClientException

from bot.logsafe import log_error
from handlers import messages as msg
from handlers.media import (
    LOCAL_MEDIA_PREFIX,
    MAX_MEDIA_BYTES,
    MEDIA_ID_LIFETIME,
    MediaType,
    identify,
    stored_copy,
    stored_media,
)
from handlers.ports import Clock
from storage.media_files import MediaFiles, StoredFile
from storage.states import MediaStatus
from storage.uow import AbstractUnitOfWork

log = logging.getLogger(__name__)

# WeChat's answers no retry changes: invalid media id (also an expired one), invalid media type,
# media id missing.
PERMANENT_MEDIA_ERRORS = (40007, 40004, 41006)


class FetchError(Exception):
    """A fetch failed; `reason` is the sentence the dashboard shows, `retryable` whether trying
    later may help."""

    def __init__(self, reason: str, retryable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class MediaSource(Protocol):
    def fetch(self, media_id: str) -> bytes: ...


class WeChatMediaSource:
    """WeChat's `media/get` through wechatpy (`client.media.download`), under wechat.api_base_url."""

    def __init__(self, client_factory: Callable[[], Any]):
        self._client_factory = client_factory

    @cached_property
    def client(self) -> Any:
        """The wechatpy client, built on first use."""
        return self._client_factory()

    def fetch(self, media_id: str) -> bytes:
        try:
            result = self.client.media.download(media_id)
        except WeChatClientException as exc:
            raise _wechat_failure(exc) from None
        except (requests.RequestException, OSError) as exc:
            raise FetchError(msg.MEDIA_NETWORK.format(detail=_network_detail(exc))) from None
        if isinstance(result, dict):  # JSON without an errcode (a video's download link, …)
            raise FetchError(msg.MEDIA_JSON_NOT_FILE, retryable=False)
        return bytes(result.content)


def _wechat_failure(exc: WeChatClientException) -> FetchError:
    code = exc.errcode
    if code is None:  # an HTTP error status, or no token to be had
        response = getattr(exc, "response", None)
        detail = f"HTTP {response.status_code}" if response is not None else str(exc.errmsg or "")
        return FetchError(msg.MEDIA_WECHAT_UNAVAILABLE.format(detail=detail))
    return FetchError(
        msg.MEDIA_WECHAT_ERROR.format(code=code, text=exc.errmsg),
        retryable=code not in PERMANENT_MEDIA_ERRORS,
    )


def _network_detail(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout):
        return "超时"
    if isinstance(exc, requests.ConnectionError):
        return "连接失败"
    return exc.__class__.__name__


class LocalMediaSource:
    """Local mode has no WeChat: pictures uploaded through the simulator or `sheli chat` are
    already under media.dir, and their media id names the file."""

    def __init__(self, files: MediaFiles):
        self.files = files

    def fetch(self, media_id: str) -> bytes:
        if not media_id.startswith(LOCAL_MEDIA_PREFIX):
            raise FetchError(msg.MEDIA_NOT_LOCAL, retryable=False)
        data = self.files.read(media_id[len(LOCAL_MEDIA_PREFIX) :])
        if data is None:
            raise FetchError(msg.MEDIA_LOCAL_MISSING, retryable=False)
        return data


@dataclass
class MediaSettings:
    max_attempts: int = 8
    backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(hours=1)
    # A claimed fetch is due again after this (its fetcher died); far longer than a download.
    claim_for: timedelta = timedelta(minutes=2)
    max_bytes: int = MAX_MEDIA_BYTES


def retry_delay(settings: MediaSettings, attempts: int) -> timedelta:
    """Backoff after the `attempts`-th failure: doubling from `backoff`, capped at `max_backoff`."""
    return min(settings.backoff * (2 ** min(max(attempts - 1, 0), 20)), settings.max_backoff)


def checked(data: bytes, kind: str, max_bytes: int) -> MediaType:
    """The type of fetched or uploaded bytes, which must be a file of `kind` (image, voice)."""
    if not data:
        raise FetchError(msg.MEDIA_EMPTY, retryable=False)
    if len(data) > max_bytes:
        raise FetchError(msg.MEDIA_TOO_LARGE.format(mb=max_bytes // 2**20), retryable=False)
    found = identify(data)
    if found is None or found.kind != kind:
        what = msg.MEDIA_KIND_WORDS.get(kind, kind)
        raise FetchError(msg.MEDIA_UNKNOWN_TYPE.format(what=what), retryable=False)
    return found


def fetch_due(
    uow_factory: Callable[[], AbstractUnitOfWork],
    source: MediaSource,
    files: MediaFiles,
    clock: Clock,
    settings: MediaSettings,
    limit: int = 20,
) -> dict[str, int]:
    """Fetch the attachments that are due; returns counts (`fetched`, `retry`, `failed`)."""
    counts = {"fetched": 0, "retry": 0, "failed": 0}
    started = time.monotonic()
    budget = settings.claim_for.total_seconds() / 2
    with uow_factory() as uow:
        due = uow.attachments.due(clock.now(), limit)
    for attachment_id, attempts in due:
        outcome = _fetch_one(uow_factory, source, files, clock, settings, attachment_id, attempts)
        if outcome:
            counts[outcome] += 1
        if time.monotonic() - started > budget:
            break  # the rest is still due on the next pass
    if any(counts.values()):
        log.info("media: %s", counts)
    return counts


@dataclass(frozen=True)
class _Claimed:
    attachment_id: int
    attempt: int
    kind: str
    media_id: str
    received_at: datetime


def _fetch_one(
    uow_factory: Callable[[], AbstractUnitOfWork],
    source: MediaSource,
    files: MediaFiles,
    clock: Clock,
    settings: MediaSettings,
    attachment_id: int,
    attempts: int,
) -> str | None:
    now = clock.now()
    with uow_factory() as uow:
        if not uow.attachments.claim(attachment_id, attempts, now, now + settings.claim_for):
            return None  # another fetcher took it
        row = uow.attachments.get(attachment_id)
        uow.commit()
    if row is None or not row.media_id:  # pragma: no cover - claimed rows are pending with an id
        return None
    claimed = _Claimed(row.id, row.attempts, row.kind, row.media_id, row.created_at)
    try:
        local = claimed.media_id.startswith(LOCAL_MEDIA_PREFIX)
        if not local and claimed.received_at + MEDIA_ID_LIFETIME <= now:
            raise FetchError(msg.MEDIA_EXPIRED, retryable=False)
        data = source.fetch(claimed.media_id)
        media_type = checked(data, claimed.kind, settings.max_bytes)
        stored = files.save(data, media_type.extension)
    except FetchError as failure:
        return _record_failure(uow_factory, clock, settings, claimed, failure)
    except Exception as exc:  # a bug or a full disk: logged without data, tried again later
        log_error(log, "media #%s: unexpected error while fetching", attachment_id, exc=exc)
        failure = FetchError(msg.MEDIA_UNEXPECTED.format(kind=exc.__class__.__name__))
        return _record_failure(uow_factory, clock, settings, claimed, failure)
    return _record_fetched(uow_factory, clock, files, claimed, stored, media_type)


def _still_ours(row: Any, claimed: _Claimed) -> bool:
    return (
        row is not None
        and row.fetch_status == MediaStatus.PENDING
        and row.attempts == claimed.attempt
    )


def _record_fetched(
    uow_factory: Callable[[], AbstractUnitOfWork],
    clock: Clock,
    files: MediaFiles,
    claimed: _Claimed,
    stored: StoredFile,
    media_type: MediaType,
) -> str | None:
    with uow_factory() as uow:
        row = uow.attachments.get(claimed.attachment_id)
        if not _still_ours(row, claimed):
            # Erased (注销) while it was being fetched: keep nothing of it.
            if not uow.attachments.file_in_use(stored.name):
                files.delete(stored.name)
            return None
        assert row is not None
        row.fetch_status = MediaStatus.FETCHED
        row.path, row.sha256, row.size = stored.name, stored.sha256, stored.size
        row.content_type = media_type.content_type
        row.fetched_at, row.next_attempt_at, row.last_error = clock.now(), None, None
        uow.commit()
    return "fetched"


def _record_failure(
    uow_factory: Callable[[], AbstractUnitOfWork],
    clock: Clock,
    settings: MediaSettings,
    claimed: _Claimed,
    failure: FetchError,
) -> str | None:
    now = clock.now()
    with uow_factory() as uow:
        row = uow.attachments.get(claimed.attachment_id)
        if not _still_ours(row, claimed):
            return None
        assert row is not None
        if failure.retryable and row.attempts < settings.max_attempts:
            row.last_error = failure.reason[:500]
            row.next_attempt_at = now + retry_delay(settings, row.attempts)
            outcome = "retry"
        else:
            gave_up = msg.MEDIA_GAVE_UP.format(n=row.attempts) if failure.retryable else ""
            row.fetch_status = MediaStatus.FAILED
            row.last_error = (failure.reason + gave_up)[:500]
            row.next_attempt_at = None
            outcome = "failed"
        uow.commit()
    log.warning(
        "media #%s: fetch attempt %s failed (%s)%s",
        claimed.attachment_id,
        claimed.attempt,
        failure.reason,
        "; will retry" if outcome == "retry" else "; given up",
    )
    return outcome


# --- the stored copies, for the outbox and the web ----------------------------------------------


@dataclass(frozen=True)
class MediaFile:
    path: Path
    content_type: str
    kind: str


class MediaLibrary:
    """Finds an attachment's stored file (the outbox uploads it again once the media id expired)."""

    def __init__(self, uow_factory: Callable[[], AbstractUnitOfWork], files: MediaFiles):
        self.uow_factory = uow_factory
        self.files = files

    def stored(self, attachment_id: int) -> MediaFile | None:
        """The stored file of a fetched attachment, or None."""
        with self.uow_factory() as uow:
            found = stored_copy(uow, attachment_id)
        path = self.files.path(found.name) if found else None
        if found is None or path is None:
            return None
        return MediaFile(path, found.content_type, found.kind)


def media_response(sheli: Any, attachment_id: int, community: str | None = None) -> Response:
    """The stored file of attachment `attachment_id` with its own content type; 404 while there
    is none (or, with a `community`, when it is another community's ticket's). The path comes
    from the database's file name, never from the request."""
    found = sheli.read(stored_media, attachment_id, community)
    path = sheli.media_files.path(found.name) if found else None
    if found is None or path is None:
        abort(404)
    extension = found.name.rsplit(".", 1)[-1]
    response = send_file(
        path,
        mimetype=found.content_type,
        conditional=True,
        download_name=f"sheli-{found.ticket_id}-{found.attachment_id}.{extension}",
    )
    # Personal data: not kept by shared caches, never sniffed into something runnable.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- local mode: pictures uploaded through the simulator or `sheli chat /image` -----------------


class UploadRefused(ValueError):
    """An upload that is no picture, or too large; the text says so in Chinese."""


def decode_upload(data: str) -> bytes:
    """Base64, or a data URL (`data:image/png;base64,…`) as a browser's FileReader gives it."""
    if data.startswith("data:"):
        _, _, data = data.partition(",")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise UploadRefused(msg.MEDIA_UPLOAD_BAD) from None


def store_upload(files: MediaFiles, data: bytes, max_bytes: int = MAX_MEDIA_BYTES) -> str:
    """Keep an uploaded picture under media.dir; its media id for an image message."""
    if len(data) > max_bytes:
        raise UploadRefused(msg.MEDIA_UPLOAD_TOO_LARGE.format(mb=max_bytes // 2**20))
    found = identify(data)
    if found is None or found.kind != "image":
        raise UploadRefused(msg.MEDIA_UPLOAD_BAD)
    return LOCAL_MEDIA_PREFIX + files.save(data, found.extension).name
