"""SQLAlchemy models: residents, staff, tickets and their audit trail, messages in and out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import text

from storage.base import Base
from storage.states import DEFAULT_COMMUNITY, FollowUpState, MediaStatus, OutboxStatus


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    room: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # Set when the resident asked to be forgotten; openid is then replaced by a random token.
    erased_at: Mapped[datetime | None]
    # The building of `room` (nlu.places.building_of), kept so building pages count in SQL.
    building: Mapped[str | None] = mapped_column(String(32), index=True)
    # The community they live in (a QR code they followed through, their building, or their
    # answer to "你住在哪个小区？"); NULL until known. community_asked_at: Sheli asked once.
    community: Mapped[str | None] = mapped_column(String(32), index=True)
    community_asked_at: Mapped[datetime | None]


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32), index=True)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Only the hash of the one-time bind code is kept.
    bind_code_hash: Mapped[str | None] = mapped_column(String(128))
    bind_code_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # The community they serve; NULL: the site-wide pool, which takes a community's tickets of a
    # role only where the community has nobody in it.
    community: Mapped[str | None] = mapped_column(String(32), index=True)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # What the scheduler asks for: visits due, visits asked long ago (a state, then a time).
        Index("ix_tickets_followup_due", "followup_state", "followup_due_at"),
        Index("ix_tickets_followup_asked", "followup_state", "followup_asked_at"),
        # A staff member's open tickets (their load, their 任务 list).
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        # A community's figures and pages read its tickets of a period.
        Index("ix_tickets_community_created", "community", "created_at"),
    )

    # The ticket number residents and staff see as #<id>: on PostgreSQL from the sequence
    # `ticket_numbers` (no lock; a rolled-back ticket leaves a gap), on SQLite from `counters`.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    intent: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(32), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(64))
    building: Mapped[str | None] = mapped_column(String(32), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    community: Mapped[str] = mapped_column(
        String(32), default=DEFAULT_COMMUNITY, server_default=DEFAULT_COMMUNITY
    )
    confidence: Mapped[float | None]
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(index=True)
    assigned_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None]
    # Follow-up visit: none → due → asked → asked_again → answered | no_response
    followup_state: Mapped[str] = mapped_column(String(16), default=FollowUpState.NONE)
    followup_due_at: Mapped[datetime | None]
    followup_asked_at: Mapped[datetime | None]
    # SLA breaches already notified: 0 none, 1 first breach, 2 escalated to the secretary.
    accept_breach_level: Mapped[int] = mapped_column(default=0)
    resolve_breach_level: Mapped[int] = mapped_column(default=0)
    # When staff last wrote to the resident about this ticket (`回复 n`): the resident's plain
    # answers within conversation.reply_window join this ticket.
    staff_messaged_at: Mapped[datetime | None]
    # Kept by handlers/lifecycle.py so that figures and the scheduler are set-based queries:
    # the first acceptance (or direct resolution), the start of the current round of work
    # (created, or last reopened), and when the SLA check must look at the ticket next (NULL:
    # nothing left to check).
    first_response_at: Mapped[datetime | None]
    work_started_at: Mapped[datetime | None]
    next_sla_check_at: Mapped[datetime | None] = mapped_column(index=True)

    assignee: Mapped[Staff | None] = relationship(lazy="joined")
    resident: Mapped[Resident] = relationship(lazy="joined")
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketEvent(Base):
    """One line of a ticket's audit trail."""

    __tablename__ = "ticket_events"
    # The figures read one kind of event over a period.
    __table_args__ = (
        Index("ix_ticket_events_kind_at", "kind", "at"),
        # The visits answered in a week, read with their ratings by community (the site
        # comparison): a partial index in time order, so the rows come in table order.
        Index(
            "ix_ticket_events_answered_at",
            "at",
            postgresql_where=text("kind = 'visit_answered'"),
            sqlite_where=text("kind = 'visit_answered'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketFollower(Base):
    """A resident who reported the same problem as the ticket's owner and wants its news."""

    __tablename__ = "ticket_followers"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    created_at: Mapped[datetime]


class Attachment(Base):
    """A photo or voice note a resident sent about a ticket; fetched from WeChat in the
    background (handlers/media.py, bot/media.py) and kept under media.dir."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_fetch_due", "fetch_status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    media_id: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    # Who sent it (a voice note can join another resident's ticket); erasure goes by this.
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    # pending → fetched | pending (retry) | failed; erased after 注销. See storage.states.MediaStatus.
    fetch_status: Mapped[str] = mapped_column(
        String(16), default=MediaStatus.PENDING, server_default=MediaStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The stored copy: a content-addressed file name under media.dir (sha256 + extension).
    path: Mapped[str | None] = mapped_column(String(80))
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None]
    fetched_at: Mapped[datetime | None]


class InboundMessage(Base):
    """Every message WeChat delivered; the unique key makes re-deliveries harmless."""

    __tablename__ = "inbound_messages"
    # The flood check counts a person's messages of the last minute on every message.
    __table_args__ = (Index("ix_inbound_messages_openid_received", "openid", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    reply: Mapped[str | None] = mapped_column(Text)
    # The ticket the message is about: the ticket page's conversation is read by it.
    ticket_id: Mapped[int | None] = mapped_column(index=True)


class OutboxMessage(Base):
    """A message Sheli sends on its own, written with the change that caused it, sent later."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(index=True)  # the ticket page reads by it
    # pending → sending → sent | pending (retry) | dead; dead is kept for the operator, with
    # last_error. A row left in "sending" is reconciled by bot/outbox.py (an unknown outcome).
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # Set for notifications that must go out once per cause (e.g. "sla:12:accept:1").
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    channel: Mapped[str | None] = mapped_column(String(16))
    # Sends whose outcome was unknown (a timeout after WeChat got the request, a crash) and that
    # were sent again; capped by outbox.max_unknown, so one message reaches WeChat at most 1 + N times.
    unknown_outcomes: Mapped[int] = mapped_column(default=0, server_default="0")
    # A forwarded photo or voice note (kind "image" / "voice"): the attachment, and the WeChat
    # media id to send while it is valid (WeChat keeps temporary media three days).
    attachment_id: Mapped[int | None] = mapped_column(index=True)
    media_id: Mapped[str | None] = mapped_column(String(128))
    media_expires_at: Mapped[datetime | None]


class ConversationState(Base):
    """Multi-turn state per person (e.g. waiting for a location); survives restarts."""

    __tablename__ = "conversation_states"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class SlaNotice(Base):
    """An SLA breach recorded on its ticket and not yet told: the scheduler folds every one of a
    tick into one digest per person (handlers/sla.py), then deletes them."""

    __tablename__ = "sla_notices"
    # Ids are never reused (SQLite's AUTOINCREMENT): a digest's dedupe key names its first notice.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # accept | resolve
    level: Mapped[int]
    # The assignee when the breach happened (level 1 tells them and the branch liaison).
    staff_id: Mapped[int | None]
    created_at: Mapped[datetime]


class FigureCache(Base):
    """A past week's figures as storage/figures.py read them (WeekData.to_bytes): kept by the
    scheduler so reports read one row instead of the week's tickets and events."""

    __tablename__ = "figure_cache"

    # The week's bounds and the accept deadlines it was counted with.
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(index=True)
    pending: Mapped[int]  # tickets still open then, read again live by every report
    data: Mapped[bytes] = mapped_column(LargeBinary)


class KeyValue(Base):
    """Small shared values such as the WeChat access token, with an expiry."""

    __tablename__ = "key_values"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None]


class Lease(Base):
    """Who may run a singleton job (the scheduler) until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class WebhookNonce(Base):
    """A (timestamp, nonce) pair a signed POST to /wechat used: a second use is a replay.

    Kept for the replay window only; older timestamps are refused anyway, so their rows go.
    """

    __tablename__ = "webhook_nonces"

    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)


class LoginThrottle(Base):
    """Dashboard login attempts of one client address or one (hashed) username, in a window."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class OperatorSession(Base):
    """A dashboard login; logging out deletes it, so a copied cookie stops working."""

    __tablename__ = "operator_sessions"

    # SHA-256 of the random token in the signed session cookie (the token itself is not kept).
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(128))
    # Of the password hash at login: changing the password ends every session.
    password_fingerprint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ReviewMessage(Base):
    """A message the NLU did not understand or was unsure of, kept for review (issue 16).

    The text is masked (phones, ID numbers); the resident's id lets `注销` delete their rows.
    An operator's label turns the row into a training example for the embedded model.
    """

    __tablename__ = "nlu_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    # The intent the NLU ranked first (even below the threshold), its confidence, the runner-up.
    intent: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float]
    runner_up: Mapped[str | None] = mapped_column(String(32))
    runner_up_confidence: Mapped[float | None]
    # Why it was kept: below_threshold | out_of_scope | close (see handlers/review.py).
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(index=True)
    labelled_intent: Mapped[str | None] = mapped_column(String(32))
    labelled_by: Mapped[str | None] = mapped_column(String(80))
    labelled_at: Mapped[datetime | None] = mapped_column(index=True)
