"""An inbound WeChat message as handlers see it: no XML, no Flask."""

from __future__ import annotations

from dataclasses import dataclass

# The events Sheli answers: a follow (with or without a QR scene), a SCAN by a follower, a menu
# click. Every other event is a system notification or needs no words (the webhook drops them).
ANSWERED_EVENTS = frozenset({"subscribe", "scan", "click"})
# Message kinds an Inbound may have; anything else WeChat sends is "other".
MESSAGE_KINDS = frozenset(
    {"text", "voice", "image", "location", "video", "shortvideo", "link", "file", "event"}
)


@dataclass(frozen=True)
class Inbound:
    """One message or event from a WeChat user."""

    openid: str
    kind: str  # one of MESSAGE_KINDS, or other
    dedupe_key: str
    text: str | None = None
    media_id: str | None = None
    picture_url: str | None = None
    location_label: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    event: str | None = None  # subscribe | scan | click (the webhook lets only these through)
    event_key: str | None = None
    scene: str | None = None  # the QR code's scene: "qrscene_<scene>" on subscribe, or on SCAN
