"""An inbound WeChat message as handlers see it: no XML, no Flask."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Inbound:
    """One message or event from a WeChat user."""

    openid: str
    kind: str  # text | voice | image | location | event | other
    dedupe_key: str
    text: str | None = None
    media_id: str | None = None
    picture_url: str | None = None
    location_label: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    event: str | None = None  # subscribe | unsubscribe | click | view | location | scan
    event_key: str | None = None
