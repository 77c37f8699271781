"""Photos and voice notes: attached to a ticket when they arrive, forwarded to the assignee,
fetched from WeChat in the background (bot/media.py) and kept under `media.dir`, forgotten when
the resident erases their data.

Nothing here waits for WeChat: a message only records what arrived and queues the forward, so
the passive reply stays inside WeChat's 5 seconds. WeChat keeps temporary media three days; the
forward re-uses the resident's media id while it is valid, after that the stored copy is
uploaded again (bot/outbox.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from handlers import messages as msg
from handlers.lifecycle import record
from handlers.ports import Context
from handlers.tickets import resident_actor
from handlers.turn import Turn
from storage.models import Attachment, OutboxMessage, Resident, Ticket
from storage.states import MediaStatus, OutboxStatus
from storage.uow import AbstractUnitOfWork

# WeChat keeps temporary media (what residents send) three days; a forward re-uses the media id
# until an hour before that, then uploads the stored copy for a new one.
MEDIA_ID_LIFETIME = timedelta(days=3)
MEDIA_ID_MARGIN = timedelta(hours=1)
# WeChat's own limit for an image (a voice note is at most 2 MB).
MAX_MEDIA_BYTES = 10 * 1024 * 1024
# Media ids of pictures uploaded in local mode (the simulator, `sheli chat /image`): the file is
# already under media.dir, named "<sha256>.<ext>", and the "fetch" only checks and records it.
LOCAL_MEDIA_PREFIX = "local:"


@dataclass(frozen=True)
class MediaType:
    content_type: str
    extension: str
    kind: str  # image | voice


# Known by their first bytes, never by what a server or an upload claims: a stored file is
# served back to operators' browsers with this type, so it must be exactly what it says.
PNG = MediaType("image/png", "png", "image")
JPEG = MediaType("image/jpeg", "jpg", "image")
GIF = MediaType("image/gif", "gif", "image")
WEBP = MediaType("image/webp", "webp", "image")
BMP = MediaType("image/bmp", "bmp", "image")
AMR = MediaType("audio/amr", "amr", "voice")
AMR_WB = MediaType("audio/amr-wb", "awb", "voice")
MP3 = MediaType("audio/mpeg", "mp3", "voice")
MEDIA_TYPES = (PNG, JPEG, GIF, WEBP, BMP, AMR, AMR_WB, MP3)


def identify(data: bytes) -> MediaType | None:
    """The type of a picture or voice file from its first bytes; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"BM") and len(data) > 26:
        return BMP
    if data.startswith(b"#!AMR\n"):
        return AMR
    if data.startswith(b"#!AMR-WB\n"):
        return AMR_WB
    if data.startswith(b"ID3") or (len(data) > 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return MP3
    return None


# --- arriving ---------------------------------------------------------------------------------


def on_image(turn: Turn) -> str:
    """A photo: attached to the resident's newest active ticket and forwarded to its assignee."""
    ticket = turn.uow.tickets.newest_active_for(turn.resident.id)
    if ticket is None:
        return msg.IMAGE_NO_TICKET
    attach(turn.uow, turn.ctx, ticket, turn.resident, "image", turn.inbound.media_id)
    turn.row.ticket_id = ticket.id
    return msg.IMAGE_ATTACHED.format(n=ticket.id)


def keep_voice(turn: Turn) -> None:
    """After a resident's voice message was answered: attach the recording to the ticket the
    message opened or joined (none: the recording is not kept)."""
    inbound = turn.inbound
    if inbound.kind != "voice" or not inbound.media_id or turn.staff is not None:
        return
    ticket = turn.uow.tickets.get(turn.row.ticket_id) if turn.row.ticket_id else None
    if ticket is not None:
        attach(turn.uow, turn.ctx, ticket, turn.resident, "voice", inbound.media_id)


def on_unrecognised_voice(turn: Turn) -> str:
    """A voice message WeChat gave no text for: with an active ticket it joins that ticket (the
    assignee can listen to it; `keep_voice` attaches it); either way the resident is asked to
    type."""
    ticket = turn.uow.tickets.newest_active_for(turn.resident.id)
    if ticket is None or not turn.inbound.media_id or turn.staff is not None:
        return msg.VOICE_NOT_RECOGNISED
    turn.row.ticket_id = ticket.id
    return msg.VOICE_ATTACHED.format(n=ticket.id)


def attach(
    uow: AbstractUnitOfWork,
    ctx: Context,
    ticket: Ticket,
    resident: Resident,
    kind: str,
    media_id: str | None,
) -> Attachment:
    """Record a photo or voice note on `ticket`, due to be fetched now, and forward it."""
    attachment = uow.attachments.add(
        Attachment(
            ticket_id=ticket.id,
            resident_id=resident.id,
            kind=kind,
            media_id=media_id,
            created_at=ctx.now,
            fetch_status=MediaStatus.PENDING if media_id else MediaStatus.FAILED,
            attempts=0,
            next_attempt_at=ctx.now if media_id else None,
            last_error=None if media_id else msg.MEDIA_NO_ID,
        )
    )
    record(uow, ticket, kind, resident_actor(resident), ctx.now, attachment=attachment.id)
    forward(uow, ctx, ticket, attachment)
    return attachment


def forward(uow: AbstractUnitOfWork, ctx: Context, ticket: Ticket, attachment: Attachment) -> None:
    """Queue the photo or voice note for the ticket's assignee, as a WeChat image or voice
    message (in local mode the inbox shows a line and a link)."""
    assignee = ticket.assignee
    if assignee is None or not assignee.openid or not attachment.media_id:
        return
    body = msg.FORWARD_IMAGE if attachment.kind == "image" else msg.FORWARD_VOICE
    uow.outbox.enqueue(
        OutboxMessage(
            recipient=assignee.openid,
            kind=attachment.kind,
            body=body.format(n=ticket.id),
            ticket_id=ticket.id,
            attachment_id=attachment.id,
            media_id=attachment.media_id,
            media_expires_at=attachment.created_at + MEDIA_ID_LIFETIME - MEDIA_ID_MARGIN,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=ctx.now,
            created_at=ctx.now,
            dedupe_key=f"media:{attachment.id}:{assignee.id}",
        )
    )


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredMedia:
    attachment_id: int
    ticket_id: int
    kind: str
    name: str  # the file's name under media.dir
    content_type: str


def stored_media(
    uow: AbstractUnitOfWork, ctx: Context, attachment_id: int, community: str | None = None
) -> StoredMedia | None:
    """The stored copy of an attachment; None while it is not fetched (or was erased), and
    with a `community`, when its ticket is another community's."""
    found = stored_copy(uow, attachment_id)
    if found is not None and community is not None:
        ticket = uow.tickets.get(found.ticket_id)
        if ticket is None or ticket.community != community:
            return None
    return found


def stored_copy(uow: AbstractUnitOfWork, attachment_id: int) -> StoredMedia | None:
    """The same, for callers without a Context (the outbox's re-upload)."""
    attachment = uow.attachments.get(attachment_id)
    if (
        attachment is None
        or attachment.fetch_status != MediaStatus.FETCHED
        or not attachment.path
        or not attachment.content_type
    ):
        return None
    return StoredMedia(
        attachment.id,
        attachment.ticket_id,
        attachment.kind,
        attachment.path,
        attachment.content_type,
    )


# --- erasure (注销) -----------------------------------------------------------------------------


def forget_media(uow: AbstractUnitOfWork, resident_id: int) -> int:
    """Everything a resident sent as photos or voice: the files (unless another resident sent
    the very same bytes), the media ids on attachments, forwards and the trail; unsent forwards
    are dropped. Files go when the transaction commits. Returns how many attachments."""
    attachments = list(uow.attachments.sent_by(resident_id))
    media_ids = {a.media_id for a in attachments if a.media_id}
    names = {a.path for a in attachments if a.path}
    for attachment in attachments:
        attachment.fetch_status = MediaStatus.ERASED
        attachment.media_id = attachment.url = attachment.path = attachment.sha256 = None
        attachment.content_type = attachment.size = attachment.last_error = None
        attachment.next_attempt_at = None
    for name in sorted(names):
        if not uow.attachments.file_in_use(name):
            uow.discard_media_file(name)
    uow.attachments.forget_forwards([a.id for a in attachments])
    tickets = {a.ticket_id for a in attachments}
    for event in uow.attachments.trail_events(tickets, ("image", "voice")):
        if event.data and event.data.get("media_id") in media_ids:
            event.data = {k: v for k, v in event.data.items() if k != "media_id"} or None
    return len(attachments)
