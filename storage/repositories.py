"""Repositories: queries and additions over one session. They never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.dialects import dialect_insert
from storage.errors import DuplicateMessage
from storage.models import (
    Attachment,
    ConversationState,
    Counter,
    InboundMessage,
    KeyValue,
    Lease,
    OutboxMessage,
    Resident,
    Staff,
    Ticket,
    TicketEvent,
    TicketFollower,
)
from storage.states import (
    ACTIVE_STATUSES,
    ASKED_STATES,
    FollowUpState,
    OutboxStatus,
    TicketStatus,
)


def _like_escaped(fragment: str) -> str:
    """`fragment` for a LIKE pattern with escape character backslash."""
    return fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ResidentRepository:
    def __init__(self, session: Session):
        self.session = session

    def by_openid(self, openid: str) -> Resident | None:
        """The resident with this openid, if known."""
        return self.session.scalar(select(Resident).where(Resident.openid == openid))

    def get_or_create(self, openid: str, now: datetime) -> Resident:
        """The resident with this openid, created on first contact.

        Race-free: when a new resident's first messages arrive together, each inserts with "on
        conflict do nothing" (waiting for a concurrent insert to commit) and then reads the row.
        """
        resident = self.by_openid(openid)
        if resident is None:
            self.session.execute(
                dialect_insert(self.session, Resident)
                .values(openid=openid, created_at=now, last_seen_at=now)
                .on_conflict_do_nothing(index_elements=[Resident.openid])
            )
            resident = self.by_openid(openid)
            if resident is None:  # pragma: no cover - the row was inserted or committed above
                raise LookupError("resident vanished right after its insert")
        resident.last_seen_at = now
        return resident

    def get(self, resident_id: int) -> Resident | None:
        """The resident with this id."""
        return self.session.get(Resident, resident_id)

    def lock(self, resident_id: int) -> None:
        """Hold the resident's row until commit, so one person's concurrent messages take their
        turns (PostgreSQL: SELECT … FOR UPDATE; SQLite has one writer at a time anyway)."""
        self.session.execute(
            select(Resident.id).where(Resident.id == resident_id).with_for_update()
        )

    def forget_traces(self, openid: str, anonymous: str) -> None:
        """Remove what messages in and out say about `openid`; pending messages are dropped."""
        self.session.execute(
            update(InboundMessage)
            .where(InboundMessage.openid == openid)
            .values(openid=anonymous, content=None, reply=None)
        )
        self.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.recipient == openid,
                OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            )
        )
        self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient == openid)
            .values(recipient=anonymous, body="（已删除）")
        )
        self.session.execute(delete(ConversationState).where(ConversationState.openid == openid))


class StaffRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, staff: Staff) -> Staff:
        """Add a staff member and give them an id."""
        self.session.add(staff)
        self.session.flush()
        return staff

    def get(self, staff_id: int) -> Staff | None:
        """The staff member with this id."""
        return self.session.get(Staff, staff_id)

    def by_openid(self, openid: str) -> Staff | None:
        """The active staff member bound to this openid."""
        return self.session.scalar(
            select(Staff).where(Staff.openid == openid, Staff.active.is_(True))
        )

    def by_bind_code_hash(self, code_hash: str) -> Staff | None:
        """The staff member waiting to bind with this code."""
        return self.session.scalar(select(Staff).where(Staff.bind_code_hash == code_hash))

    def list(self, role: str | None = None, active_only: bool = False) -> Sequence[Staff]:
        """Staff ordered by role and name."""
        query = select(Staff).order_by(Staff.role, Staff.id)
        if role:
            query = query.where(Staff.role == role)
        if active_only:
            query = query.where(Staff.active.is_(True))
        return self.session.scalars(query).all()

    def open_load(self) -> dict[int, int]:
        """Number of active tickets per staff id."""
        rows = self.session.execute(
            select(Ticket.assignee_id, func.count())
            .where(Ticket.status.in_(ACTIVE_STATUSES), Ticket.assignee_id.is_not(None))
            .group_by(Ticket.assignee_id)
        ).all()
        return {int(staff_id): int(count) for staff_id, count in rows if staff_id is not None}

    def least_loaded(self, role: str) -> Staff | None:
        """The active, bound staff member of `role` with the fewest active tickets."""
        candidates = [s for s in self.list(role=role, active_only=True) if s.openid]
        if not candidates:
            return None
        load = self.open_load()
        return min(candidates, key=lambda s: (load.get(s.id, 0), s.id))


class TicketRepository:
    def __init__(self, session: Session):
        self.session = session

    def next_number(self) -> int:
        """The next ticket number; the counter row stays locked until commit, so numbers have no gaps.

        One upsert, so even the very first tickets, opened at the same moment, each get their own.
        """
        value = self.session.execute(
            dialect_insert(self.session, Counter)
            .values(name="ticket", value=1)
            .on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
            .returning(Counter.value)
        ).scalar_one()
        return int(value)

    def add(self, ticket: Ticket) -> Ticket:
        """Add a ticket (its id already allocated by next_number)."""
        self.session.add(ticket)
        self.session.flush()
        return ticket

    def get(self, number: int) -> Ticket | None:
        """The ticket #number."""
        return self.session.get(Ticket, number)

    def list(
        self,
        *,
        status: str | Sequence[str] | None = None,
        intent: str | None = None,
        role: str | None = None,
        resident_id: int | None = None,
        assignee_id: int | None = None,
        building: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Sequence[Ticket]:
        """Tickets matching every given filter."""
        query = select(Ticket)
        if isinstance(status, str):
            query = query.where(Ticket.status == status)
        elif status is not None:
            query = query.where(Ticket.status.in_(list(status)))
        if intent:
            query = query.where(Ticket.intent == intent)
        if role:
            query = query.where(Ticket.role == role)
        if resident_id is not None:
            query = query.where(Ticket.resident_id == resident_id)
        if assignee_id is not None:
            query = query.where(Ticket.assignee_id == assignee_id)
        if building:
            query = query.where(Ticket.building == building)
        if since is not None:
            query = query.where(Ticket.created_at >= since)
        if until is not None:
            query = query.where(Ticket.created_at < until)
        query = query.order_by(Ticket.id.desc() if newest_first else Ticket.id)
        if limit:
            query = query.limit(limit)
        return self.session.scalars(query).unique().all()

    def opened_by_since(self, resident_id: int, since: datetime) -> int:
        """How many tickets the resident opened at or after `since`."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.resident_id == resident_id, Ticket.created_at >= since)
            )
            or 0
        )

    def newest_cancelled_by(self, resident_id: int, since: datetime) -> Ticket | None:
        """The resident's ticket cancelled most recently, at or after `since`."""
        return (
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.resident_id == resident_id,
                    Ticket.status == TicketStatus.CANCELLED,
                    Ticket.closed_at >= since,
                )
                .order_by(Ticket.closed_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            .unique()
            .first()
        )

    def staff_wrote_since(self, resident_id: int, since: datetime) -> Ticket | None:
        """Of the tickets the resident owns or follows and that are not closed or cancelled, the
        one staff wrote to them about last (回复 n), at or after `since`."""
        followed = select(TicketFollower.ticket_id).where(TicketFollower.resident_id == resident_id)
        return (
            self.session.scalars(
                select(Ticket)
                .where(
                    (Ticket.resident_id == resident_id) | Ticket.id.in_(followed),
                    Ticket.staff_messaged_at >= since,
                    Ticket.status.not_in((TicketStatus.CLOSED, TicketStatus.CANCELLED)),
                )
                .order_by(Ticket.staff_messaged_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            .unique()
            .first()
        )

    def newest_active_for(self, resident_id: int) -> Ticket | None:
        """The resident's most recent ticket that still needs work."""
        found = self.list(
            resident_id=resident_id, status=ACTIVE_STATUSES, newest_first=True, limit=1
        )
        return found[0] if found else None

    def active_at(self, intent: str, location: str) -> Sequence[Ticket]:
        """Active tickets of this intent at exactly this location, oldest first."""
        return (
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.intent == intent,
                    Ticket.location == location,
                    Ticket.status.in_(ACTIVE_STATUSES),
                )
                .order_by(Ticket.id)
            )
            .unique()
            .all()
        )

    def add_follower(self, follower: TicketFollower) -> None:
        """Link a resident to a ticket they also reported (idempotent)."""
        if self.session.get(TicketFollower, (follower.ticket_id, follower.resident_id)) is None:
            self.session.add(follower)

    def followers(self, number: int) -> Sequence[Resident]:
        """Residents who follow ticket #number."""
        return self.session.scalars(
            select(Resident)
            .join(TicketFollower, TicketFollower.resident_id == Resident.id)
            .where(TicketFollower.ticket_id == number)
            .order_by(Resident.id)
        ).all()

    def followed_by(self, resident_id: int) -> Sequence[Ticket]:
        """Tickets a resident follows without owning them."""
        return (
            self.session.scalars(
                select(Ticket)
                .join(TicketFollower, TicketFollower.ticket_id == Ticket.id)
                .where(TicketFollower.resident_id == resident_id)
                .order_by(Ticket.id)
            )
            .unique()
            .all()
        )

    def visit_pending_for(self, resident_id: int) -> Ticket | None:
        """The resident's newest ticket whose visit was asked and not yet answered."""
        return (
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.resident_id == resident_id,
                    Ticket.status == TicketStatus.RESOLVED,
                    Ticket.followup_state.in_(ASKED_STATES),
                )
                .order_by(Ticket.followup_asked_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            .unique()
            .first()
        )

    def visits_due(self, now: datetime, limit: int = 200) -> Sequence[Ticket]:
        """Resolved tickets whose visit is due now."""
        return (
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.status == TicketStatus.RESOLVED,
                    Ticket.followup_state == FollowUpState.DUE,
                    Ticket.followup_due_at <= now,
                )
                .order_by(Ticket.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=Ticket)
            )
            .unique()
            .all()
        )

    def visits_unanswered_since(self, asked_before: datetime) -> Sequence[Ticket]:
        """Visits asked before `asked_before` and never answered."""
        return (
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.status == TicketStatus.RESOLVED,
                    Ticket.followup_state.in_(ASKED_STATES),
                    Ticket.followup_asked_at <= asked_before,
                )
                .order_by(Ticket.id)
                .with_for_update(skip_locked=True, of=Ticket)
            )
            .unique()
            .all()
        )

    def add_attachment(self, attachment: Attachment) -> None:
        """Attach a picture or file to a ticket."""
        self.session.add(attachment)

    def attachments(self, number: int) -> Sequence[Attachment]:
        """A ticket's attachments, oldest first."""
        return self.session.scalars(
            select(Attachment).where(Attachment.ticket_id == number).order_by(Attachment.id)
        ).all()

    def add_event(self, event: TicketEvent) -> None:
        """Append to a ticket's audit trail."""
        self.session.add(event)

    def events_between(self, start: datetime, end: datetime) -> Sequence[TicketEvent]:
        """Every audit event in [start, end), oldest first."""
        return self.session.scalars(
            select(TicketEvent)
            .where(TicketEvent.at >= start, TicketEvent.at < end)
            .order_by(TicketEvent.id)
        ).all()

    def events_by_actor(self, actor: str) -> Sequence[TicketEvent]:
        """Every trail event one actor wrote ("resident:12"), on any ticket."""
        return self.session.scalars(
            select(TicketEvent).where(TicketEvent.actor == actor).order_by(TicketEvent.id)
        ).all()

    def remove_follower(self, number: int, resident_id: int) -> bool:
        """The resident stops following ticket #number; False if they did not follow it."""
        follower = self.session.get(TicketFollower, (number, resident_id))
        if follower is None:
            return False
        self.session.delete(follower)
        return True

    def waiting_unassigned(self, limit: int = 200) -> Sequence[Ticket]:
        """Open tickets nobody has (nobody was on duty), oldest first, locked for this
        transaction (PostgreSQL skips rows another transaction is assigning)."""
        return (
            self.session.scalars(
                select(Ticket)
                .where(Ticket.status == TicketStatus.OPEN, Ticket.assignee_id.is_(None))
                .order_by(Ticket.id)
                .limit(limit)
                .with_for_update(of=Ticket, skip_locked=True)
            )
            .unique()
            .all()
        )

    def forget_follower(self, resident_id: int) -> None:
        """The resident follows no ticket any more (erasure)."""
        self.session.execute(
            delete(TicketFollower).where(TicketFollower.resident_id == resident_id)
        )

    def events(self, number: int) -> Sequence[TicketEvent]:
        """A ticket's audit trail, oldest first."""
        return self.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == number).order_by(TicketEvent.id)
        ).all()

    def last_event_at(self, numbers: Sequence[int], kind: str) -> dict[int, datetime]:
        """When each of these tickets' trails last recorded `kind` (one query for a page)."""
        if not numbers:
            return {}
        rows = self.session.execute(
            select(TicketEvent.ticket_id, func.max(TicketEvent.at))
            .where(TicketEvent.ticket_id.in_(list(numbers)), TicketEvent.kind == kind)
            .group_by(TicketEvent.ticket_id)
        )
        return {number: at for number, at in rows}

    def batch_before(
        self,
        before: int | None,
        size: int,
        *,
        status: str | Sequence[str] | None = None,
        intent: str | None = None,
        role: str | None = None,
        building: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        overdue: bool = False,
    ) -> Sequence[Ticket]:
        """The next `size` tickets below number `before` (None: from the newest) that match the
        filters, newest first: an export walks the whole selection a batch at a time (keyset
        pagination on the primary key), so its cost grows with the rows it writes."""
        query = select(Ticket)
        if isinstance(status, str):
            query = query.where(Ticket.status == status)
        elif status is not None:
            query = query.where(Ticket.status.in_(list(status)))
        if intent:
            query = query.where(Ticket.intent == intent)
        if role:
            query = query.where(Ticket.role == role)
        if building:
            query = query.where(Ticket.building == building)
        if since is not None:
            query = query.where(Ticket.created_at >= since)
        if until is not None:
            query = query.where(Ticket.created_at < until)
        if overdue:
            query = query.where(
                Ticket.status.in_(ACTIVE_STATUSES),
                (Ticket.accept_breach_level > 0) | (Ticket.resolve_breach_level > 0),
            )
        if before is not None:
            query = query.where(Ticket.id < before)
        return self.session.scalars(query.order_by(Ticket.id.desc()).limit(size)).unique().all()


class InboundRepository:
    def __init__(self, session: Session):
        self.session = session

    def by_key(self, key: str) -> InboundMessage | None:
        """The stored message with this dedupe key."""
        return self.session.scalar(select(InboundMessage).where(InboundMessage.dedupe_key == key))

    def claim(self, message: InboundMessage) -> InboundMessage:
        """Insert the message now; a second copy raises DuplicateMessage.

        On PostgreSQL a copy arriving while the first is still being handled waits here until
        the first commits, then fails; so two workers never both handle one message.
        """
        try:
            with self.session.begin_nested():
                self.session.add(message)
        except IntegrityError:
            raise DuplicateMessage(message.dedupe_key) from None
        return message

    def about_ticket(self, number: int) -> Sequence[InboundMessage]:
        """Messages (from anyone) recorded as being about ticket #number."""
        return self.session.scalars(
            select(InboundMessage).where(InboundMessage.ticket_id == number)
        ).all()

    def mentioning(self, fragment: str) -> Sequence[InboundMessage]:
        """Messages whose text or reply contains `fragment` (for erasure; rare, a scan is fine)."""
        pattern = f"%{_like_escaped(fragment)}%"
        return self.session.scalars(
            select(InboundMessage).where(
                InboundMessage.content.like(pattern, escape="\\")
                | InboundMessage.reply.like(pattern, escape="\\")
            )
        ).all()

    def count_since(self, openid: str, since: datetime) -> int:
        """How many messages this person sent at or after `since`."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(InboundMessage)
                .where(InboundMessage.openid == openid, InboundMessage.received_at >= since)
            )
            or 0
        )

    def for_openid(self, openid: str, limit: int = 50) -> Sequence[InboundMessage]:
        """The newest messages one person sent, oldest first."""
        rows = self.session.scalars(
            select(InboundMessage)
            .where(InboundMessage.openid == openid)
            .order_by(InboundMessage.id.desc())
            .limit(limit)
        ).all()
        return list(reversed(rows))


class OutboxRepository:
    def __init__(self, session: Session):
        self.session = session

    def enqueue(self, message: OutboxMessage) -> None:
        """Queue a message; delivered after the surrounding transaction commits.

        A message with a `dedupe_key` that is already queued (by this or a concurrent
        transaction) is dropped, so one cause never sends two messages.
        """
        if not message.dedupe_key:
            self.session.add(message)
            return
        if self.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == message.dedupe_key)
        ):
            return
        try:
            with self.session.begin_nested():
                self.session.add(message)
        except IntegrityError:
            return

    def pending(self, limit: int) -> Sequence[OutboxMessage]:
        """Every pending message, due or waiting for a retry, oldest first."""
        return self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()

    def unfinished(self, limit: int) -> Sequence[OutboxMessage]:
        """Pending messages and those being sent (or whose send has an unknown outcome), oldest first."""
        return self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()

    def start_sending(self, message_id: int, now: datetime, grace: timedelta) -> bool:
        """Mark a pending message "sending" (one more attempt); False if it is not pending.

        A conditional update, so of two dispatchers racing for one message only one wins.
        `next_attempt_at` becomes the moment after which a row still "sending" counts as a send
        with an unknown outcome.
        """
        result = self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(
                status=OutboxStatus.SENDING,
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=now + grace,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def stuck_sending(self, now: datetime, limit: int = 100) -> Sequence[OutboxMessage]:
        """Messages still "sending" past their grace period: their outcome is unknown."""
        return self.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()

    def dead(self, limit: int) -> Sequence[OutboxMessage]:
        """Messages given up on, newest first (for operators)."""
        return self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.DEAD)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        ).all()

    def get(self, message_id: int) -> OutboxMessage | None:
        """One outbox message."""
        return self.session.get(OutboxMessage, message_id)

    def for_recipient(
        self, openid: str, after_id: int = 0, limit: int = 100
    ) -> Sequence[OutboxMessage]:
        """Messages to one person (the local-mode inbox), oldest first."""
        return self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == openid, OutboxMessage.id > after_id)
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()

    def about_ticket(self, number: int) -> Sequence[OutboxMessage]:
        """Every message about ticket #number, to anyone."""
        return self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.ticket_id == number)
            .order_by(OutboxMessage.id)
        ).all()

    def mentioning(self, fragment: str) -> Sequence[OutboxMessage]:
        """Messages whose text contains `fragment` (erasure looks for a phone this way; rare,
        so a scan is acceptable)."""
        return self.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.body.like(f"%{_like_escaped(fragment)}%", escape="\\")
            )
        ).all()

    def count_by_status(self) -> dict[str, int]:
        """How many messages are pending, sent, dead."""
        rows = self.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
        return {str(status): int(count) for status, count in rows}


class ConversationRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, openid: str, now: datetime) -> ConversationState | None:
        """The live state for this person; expired state is returned too (caller decides)."""
        return self.session.get(ConversationState, openid)

    def set(self, openid: str, state: str, data: dict, now: datetime, expires_at: datetime) -> None:
        """Remember where this person's conversation stands."""
        row = self.session.get(ConversationState, openid)
        if row is None:
            row = ConversationState(openid=openid)
            self.session.add(row)
        row.state, row.data, row.updated_at, row.expires_at = state, dict(data), now, expires_at

    def clear(self, openid: str) -> None:
        """Forget this person's conversation state."""
        row = self.session.get(ConversationState, openid)
        if row is not None:
            self.session.delete(row)
            # Flush now: a set() later in the same transaction must not be undone by this delete.
            self.session.flush()


class KeyValueRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, key: str, now: datetime) -> str | None:
        """A value that has not expired."""
        row = self.session.get(KeyValue, key)
        if row is None or (row.expires_at is not None and row.expires_at <= now):
            return None
        return row.value

    def set(self, key: str, value: str, expires_at: datetime | None) -> None:
        """Store a value until `expires_at`."""
        row = self.session.get(KeyValue, key)
        if row is None:
            self.session.add(KeyValue(key=key, value=value, expires_at=expires_at))
        else:
            row.value, row.expires_at = value, expires_at


class LeaseRepository:
    def __init__(self, session: Session):
        self.session = session

    def acquire(self, name: str, holder: str, now: datetime, duration: timedelta) -> bool:
        """Take or renew the lease `name` for `holder`; False while someone else holds it."""
        row = self.session.get(Lease, name, with_for_update=True)
        if row is None:
            try:
                with self.session.begin_nested():
                    self.session.add(Lease(name=name, holder=holder, expires_at=now + duration))
            except IntegrityError:
                return False
            return True
        if row.holder != holder and row.expires_at > now:
            return False
        row.holder, row.expires_at = holder, now + duration
        return True

    def release(self, name: str, holder: str) -> None:
        """Give the lease up early (on a clean shutdown)."""
        row = self.session.get(Lease, name)
        if row is not None and row.holder == holder:
            self.session.delete(row)
