"""Repositories: queries and additions over one session. They never commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

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
    SlaNotice,
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

# session.info keys: what ResidentRepository.get_or_create learnt is not there (openids without
# a conversation state, resident ids without a visit waiting for an answer, (resident id, since)
# without a ticket staff wrote to them about since then).
NO_STATE = "sheli:no_state"
NO_VISIT = "sheli:no_visit"
NO_THREAD = "sheli:no_thread"
# Resident ids whose row this transaction already holds (its upsert locked the row).
HELD = "sheli:held_residents"
TRANSACTION_FACTS = (NO_STATE, NO_VISIT, NO_THREAD, HELD)


def forget_transaction_facts(session: Session) -> None:
    """The transaction ended (commit or rollback): what it learnt or held no longer holds."""
    for key in TRANSACTION_FACTS:
        session.info.pop(key, None)


# Statements the webhook runs for every message, built once per dialect (building one costs
# more than running it): their values are bind parameters.
_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, name: str, build: Any) -> Any:
    dialect = session.get_bind().dialect.name
    found = _STATEMENTS.get((dialect, name))
    if found is None:
        found = _STATEMENTS[(dialect, name)] = build(dialect_insert(session, build.table))
    return found


def _resident_upsert(insert: Any) -> Any:
    """Insert or touch a resident (:openid, :now), and say whether a state, a visit or a staff
    thread (a ticket staff wrote to them about at or after :thread_since) waits."""
    openid: Any = bindparam("openid")
    has_state = select(ConversationState.openid).where(ConversationState.openid == openid)
    known = aliased(Resident)
    resident_id = select(known.id).where(known.openid == openid).scalar_subquery()
    has_visit = select(Ticket.id).where(
        Ticket.resident_id == resident_id,
        Ticket.status == TicketStatus.RESOLVED,
        Ticket.followup_state.in_(ASKED_STATES),
    )
    has_thread = select(Ticket.id).where(*_staff_wrote(resident_id, bindparam("thread_since")))
    return (
        insert.values(openid=openid, created_at=bindparam("now"), last_seen_at=bindparam("now"))
        .on_conflict_do_update(
            index_elements=[Resident.openid], set_={"last_seen_at": insert.excluded.last_seen_at}
        )
        .returning(Resident, has_state.exists(), has_visit.exists(), has_thread.exists())
    )


def _staff_wrote(resident_id: Any, since: Any) -> tuple[Any, ...]:
    """Tickets the resident owns or follows, not closed or cancelled, that staff wrote to them
    about (回复 n) at or after `since`."""
    followed = select(TicketFollower.ticket_id).where(TicketFollower.resident_id == resident_id)
    return (
        (Ticket.resident_id == resident_id) | Ticket.id.in_(followed),
        Ticket.staff_messaged_at >= since,
        Ticket.status.not_in((TicketStatus.CLOSED, TicketStatus.CANCELLED)),
    )


_resident_upsert.table = Resident  # type: ignore[attr-defined]


def _inbound_claim(insert: Any) -> Any:
    """Insert an inbound message unless its dedupe key is there; its id when inserted."""
    columns = ("dedupe_key", "openid", "msg_type", "content", "received_at", "reply", "ticket_id")
    return (
        insert.values({name: bindparam(name) for name in columns})
        .on_conflict_do_nothing(index_elements=[InboundMessage.dedupe_key])
        .returning(InboundMessage.id)
    )


_inbound_claim.table = InboundMessage  # type: ignore[attr-defined]


def _inbound_answer(_: Any) -> Any:
    table: Any = InboundMessage.__table__  # Core: no ORM bookkeeping for this one UPDATE
    return (
        update(table)
        .where(table.c.id == bindparam("message_id"))
        .values(reply=bindparam("new_reply"), ticket_id=bindparam("about"))
    )


_inbound_answer.table = InboundMessage  # type: ignore[attr-defined]


def _inbound_count(_: Any) -> Any:
    table: Any = InboundMessage.__table__
    return select(func.count()).where(
        table.c.openid == bindparam("openid"), table.c.received_at >= bindparam("since")
    )


_inbound_count.table = InboundMessage  # type: ignore[attr-defined]


def _tickets_opened(_: Any) -> Any:
    table: Any = Ticket.__table__
    return select(func.count()).where(
        table.c.resident_id == bindparam("resident_id"), table.c.created_at >= bindparam("since")
    )


_tickets_opened.table = Ticket  # type: ignore[attr-defined]


def _like_escaped(fragment: str) -> str:
    """`fragment` for a LIKE pattern with escape character backslash."""
    return fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ResidentRepository:
    def __init__(self, session: Session):
        self.session = session

    def by_openid(self, openid: str) -> Resident | None:
        """The resident with this openid, if known."""
        return self.session.scalar(select(Resident).where(Resident.openid == openid))

    def get_or_create(
        self, openid: str, now: datetime, thread_since: datetime | None = None
    ) -> Resident:
        """The resident with this openid, created on first contact, seen `now`.

        One statement, race-free: "insert … on conflict (openid) do update last_seen_at …
        returning" gives the row whether it was new or not; when a new resident's first messages
        arrive together, the second waits for the first's commit and then updates its row.
        The same statement says whether a conversation state, a visit or (with `thread_since`)
        a ticket staff wrote to them about since then waits for them: when none does,
        ConversationRepository.get, TicketRepository.visit_pending_for and
        TicketRepository.staff_wrote_since answer from that for the rest of the unit of work,
        without asking the database again.
        """
        resident, state, visit, thread = self.session.execute(
            _statement(self.session, "resident upsert", _resident_upsert),
            {"openid": openid, "now": now, "thread_since": thread_since or now},
            execution_options={"populate_existing": True},
        ).one()
        if not state:
            self.session.info.setdefault(NO_STATE, set()).add(openid)
        if not visit:
            self.session.info.setdefault(NO_VISIT, set()).add(resident.id)
        if not thread and thread_since is not None:
            self.session.info.setdefault(NO_THREAD, set()).add((resident.id, thread_since))
        # "on conflict do update" (or the insert) holds the row until commit, as lock() would.
        self.session.info.setdefault(HELD, set()).add(resident.id)
        return resident

    def get(self, resident_id: int) -> Resident | None:
        """The resident with this id."""
        return self.session.get(Resident, resident_id)

    def lock(self, resident_id: int) -> None:
        """Hold the resident's row until commit, so one person's concurrent messages take their
        turns (PostgreSQL: SELECT … FOR UPDATE; SQLite has one writer at a time anyway). A row
        this transaction upserted (get_or_create) is held already: nothing is asked."""
        if resident_id in self.session.info.get(HELD, ()):
            return
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

    def list(
        self, role: str | None = None, active_only: bool = False, community: str | None = None
    ) -> Sequence[Staff]:
        """Staff ordered by role and name (of one community and the site-wide pool, when given)."""
        query = select(Staff).order_by(Staff.role, Staff.id)
        if community is not None:
            query = query.where(or_(Staff.community == community, Staff.community.is_(None)))
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

    def least_loaded(self, role: str, community: str | None = None) -> Staff | None:
        """The active, bound staff member of `role` with the fewest active tickets (one query:
        each candidate's load counted on the (assignee, status) index).

        With a `community`: its own staff first; the site-wide pool (staff with no community)
        only where it has nobody in the role; never another community's staff."""
        load = (
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.assignee_id == Staff.id, Ticket.status.in_(ACTIVE_STATUSES))
            .scalar_subquery()
        )
        with self.session.no_autoflush:  # a ticket being opened is written once it is assigned
            query = select(Staff).where(
                Staff.role == role, Staff.active.is_(True), Staff.openid.is_not(None)
            )
            if community is None:
                return self.session.scalars(query.order_by(load, Staff.id).limit(1)).first()
            return self.session.scalars(
                query.where(or_(Staff.community == community, Staff.community.is_(None)))
                .order_by(Staff.community.is_(None), load, Staff.id)
                .limit(1)
            ).first()


class TicketRepository:
    def __init__(self, session: Session):
        self.session = session

    def next_number(self) -> int:
        """The next ticket number.

        PostgreSQL: `nextval` of the sequence `ticket_numbers`, which takes no lock, so writers
        opening tickets at the same moment never wait for each other; a transaction that rolls
        back after taking a number leaves a gap. SQLite serialises writers anyway: there the
        counter row (one upsert, so even the very first tickets each get their own) stays locked
        until commit and numbers have no gaps.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            return int(self.session.execute(select(func.nextval("ticket_numbers"))).scalar_one())
        value = self.session.execute(
            dialect_insert(self.session, Counter)
            .values(name="ticket", value=1)
            .on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
            .returning(Counter.value)
        ).scalar_one()
        return int(value)

    def add(self, ticket: Ticket) -> Ticket:
        """Add a ticket (its id already allocated by next_number). It is written with the next
        flush: by then it is usually assigned too, so one INSERT, not an INSERT and an UPDATE."""
        self.session.add(ticket)
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
        community: str | None = None,
    ) -> Sequence[Ticket]:
        """Tickets matching every given filter."""
        query = _filtered(
            select(Ticket),
            status=status,
            intent=intent,
            role=role,
            resident_id=resident_id,
            assignee_id=assignee_id,
            building=building,
            since=since,
            until=until,
            community=community,
        )
        query = query.order_by(Ticket.id.desc() if newest_first else Ticket.id)
        if limit:
            query = query.limit(limit)
        return self.session.scalars(query).unique().all()

    def page(
        self,
        *,
        size: int,
        page: int = 1,
        status: str | Sequence[str] | None = None,
        intent: str | None = None,
        role: str | None = None,
        building: str | None = None,
        resident_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        overdue: bool = False,
        not_intents: Collection[str] = (),
        community: str | None = None,
    ) -> tuple[Sequence[Ticket], bool]:
        """One page of the tickets matching every filter, newest first, and whether another
        page follows. The numbers are found first (the indexes answer that), then only the
        page's tickets are loaded. `overdue`: active tickets with a breach told; `not_intents`:
        kinds left out (a building's page leaves out SENSITIVE_INTENTS)."""
        numbers = _filtered(
            select(Ticket.id),
            status=status,
            intent=intent,
            role=role,
            building=building,
            resident_id=resident_id,
            since=since,
            until=until,
            overdue=overdue,
            not_intents=not_intents,
            community=community,
        )
        found = list(
            self.session.scalars(
                numbers.order_by(Ticket.id.desc()).offset(max(page - 1, 0) * size).limit(size + 1)
            )
        )
        if not found:
            return [], False
        tickets = (
            self.session.scalars(
                select(Ticket).where(Ticket.id.in_(found[:size])).order_by(Ticket.id.desc())
            )
            .unique()
            .all()
        )
        return tickets, len(found) > size

    def buildings(self, community: str | None = None) -> Sequence[str]:
        """Every building any ticket names, in order; a walk down the building index (one
        lookup per building), not a scan of the tickets. Of one community: the buildings its
        tickets name (read on the (community, created_at) index)."""
        if community is not None:
            return sorted(
                str(name)
                for name in self.session.scalars(
                    select(Ticket.building)
                    .where(Ticket.community == community, Ticket.building.is_not(None))
                    .distinct()
                )
            )
        rows = self.session.execute(
            text(
                "WITH RECURSIVE b(name) AS ("
                " SELECT min(building) FROM tickets"
                " UNION ALL"
                " SELECT (SELECT min(building) FROM tickets WHERE building > b.name)"
                " FROM b WHERE b.name IS NOT NULL)"
                " SELECT name FROM b WHERE name IS NOT NULL"
            )
        )
        return [str(name) for (name,) in rows]

    def per_building(
        self, not_intents: Collection[str] = (), community: str | None = None
    ) -> dict[str, tuple[int, int, int]]:
        """{building: (tickets, active tickets, cancelled tickets)}, leaving out the kinds in
        `not_intents`."""
        query = select(
            Ticket.building,
            func.count(),
            func.sum(case((Ticket.status.in_(ACTIVE_STATUSES), 1), else_=0)),
            func.sum(case((Ticket.status == TicketStatus.CANCELLED, 1), else_=0)),
        ).where(Ticket.building.is_not(None))
        rows = self.session.execute(
            _filtered(query, not_intents=not_intents, community=community).group_by(Ticket.building)
        )
        return {str(b): (int(n), int(active or 0), int(gone or 0)) for b, n, active, gone in rows}

    def count(
        self,
        *,
        resident_id: int | None = None,
        building: str | None = None,
        not_intents: Collection[str] = (),
        community: str | None = None,
    ) -> int:
        """How many tickets a resident opened, or a building has (an index answers either),
        leaving out the kinds in `not_intents` (of one community, when given)."""
        query = _filtered(
            select(func.count()).select_from(Ticket),
            resident_id=resident_id,
            building=building,
            not_intents=not_intents,
            community=community,
        )
        return int(self.session.scalar(query) or 0)

    def opened_by_since(self, resident_id: int, since: datetime) -> int:
        """How many tickets the resident opened at or after `since` (the flood check, before
        each new ticket: a statement built once)."""
        query = _statement(self.session, "tickets opened", _tickets_opened)
        return int(self.session.scalar(query, {"resident_id": resident_id, "since": since}) or 0)

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
        if (resident_id, since) in self.session.info.get(NO_THREAD, ()):
            return None
        return (
            self.session.scalars(
                select(Ticket)
                .where(*_staff_wrote(resident_id, since))
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

    def active_at(
        self, intent: str, location: str, community: str | None = None
    ) -> Sequence[Ticket]:
        """Active tickets of this intent at exactly this location (in `community`, when given),
        oldest first."""
        return (
            self.session.scalars(
                _filtered(
                    select(Ticket).where(
                        Ticket.intent == intent,
                        Ticket.location == location,
                        Ticket.status.in_(ACTIVE_STATUSES),
                    ),
                    community=community,
                ).order_by(Ticket.id)
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
        if resident_id in self.session.info.get(NO_VISIT, ()):
            return None
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

    def visits_due(self, now: datetime, limit: int = 500) -> Sequence[Ticket]:
        """Resolved tickets whose visit is due now, at most `limit` (index: state, due time)."""
        return (
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.followup_state == FollowUpState.DUE,
                    Ticket.followup_due_at <= now,
                    Ticket.status == TicketStatus.RESOLVED,
                )
                .order_by(Ticket.followup_due_at, Ticket.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=Ticket)
            )
            .unique()
            .all()
        )

    def visits_unanswered_since(self, asked_before: datetime, limit: int = 500) -> Sequence[Ticket]:
        """Visits asked before `asked_before` and never answered, at most `limit`."""
        return (
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.followup_state.in_(ASKED_STATES),
                    Ticket.followup_asked_at <= asked_before,
                    Ticket.status == TicketStatus.RESOLVED,
                )
                .order_by(Ticket.followup_asked_at, Ticket.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=Ticket)
            )
            .unique()
            .all()
        )

    def sla_due(self, now: datetime, limit: int = 500) -> Sequence[Ticket]:
        """Tickets the SLA check must look at now (`next_sla_check_at` passed), at most `limit`."""
        return (
            self.session.scalars(
                select(Ticket)
                .where(Ticket.next_sla_check_at <= now)
                .order_by(Ticket.next_sla_check_at, Ticket.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=Ticket)
            )
            .unique()
            .all()
        )

    def recheck_sla(self, statuses: Sequence[str], now: datetime) -> int:
        """Make the SLA check look at every ticket in `statuses` again (the deadlines changed)."""
        result = self.session.execute(
            update(Ticket)
            .where(Ticket.status.in_(list(statuses)))
            .values(next_sla_check_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def add_sla_notice(self, notice: SlaNotice) -> None:
        """A breach to tell in the next digest."""
        self.session.add(notice)

    def sla_notices(self, limit: int) -> Sequence[tuple[SlaNotice, Ticket]]:
        """Breaches not yet told, oldest first, with their tickets."""
        rows = self.session.execute(
            select(SlaNotice, Ticket)
            .join(Ticket, Ticket.id == SlaNotice.ticket_id)
            .order_by(SlaNotice.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=SlaNotice)
        )
        return [(notice, ticket) for notice, ticket in rows.unique().all()]

    def drop_sla_notices(self, ids: Sequence[int]) -> None:
        """Forget breaches once their digests are queued."""
        for start in range(0, len(ids), 500):
            self.session.execute(
                delete(SlaNotice)
                .where(SlaNotice.id.in_(list(ids[start : start + 500])))
                .execution_options(synchronize_session=False)
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
        community: str | None = None,
    ) -> Sequence[Ticket]:
        """The next `size` tickets below number `before` (None: from the newest) that match the
        filters, newest first: an export walks the whole selection a batch at a time (keyset
        pagination on the primary key), so its cost grows with the rows it writes."""
        query = _filtered(
            select(Ticket),
            status=status,
            intent=intent,
            role=role,
            building=building,
            since=since,
            until=until,
            overdue=overdue,
            community=community,
        )
        if before is not None:
            query = query.where(Ticket.id < before)
        return self.session.scalars(query.order_by(Ticket.id.desc()).limit(size)).unique().all()


def _filtered(
    query: Any,
    *,
    status: str | Sequence[str] | None = None,
    intent: str | None = None,
    role: str | None = None,
    resident_id: int | None = None,
    assignee_id: int | None = None,
    building: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    overdue: bool = False,
    not_intents: Collection[str] = (),
    community: str | None = None,
) -> Any:
    """`query` restricted to the tickets matching every given filter (each has an index).
    `overdue`: active tickets with a breach told; `not_intents`: leave these kinds out;
    `community`: one community's tickets only."""
    if community is not None:
        query = query.where(Ticket.community == community)
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
    if overdue:
        query = query.where(
            Ticket.status.in_(ACTIVE_STATUSES),
            (Ticket.accept_breach_level > 0) | (Ticket.resolve_breach_level > 0),
        )
    if not_intents:
        query = query.where(Ticket.intent.not_in(list(not_intents)))
    return query


class InboundRepository:
    def __init__(self, session: Session):
        self.session = session

    def by_key(self, key: str) -> InboundMessage | None:
        """The stored message with this dedupe key."""
        return self.session.scalar(select(InboundMessage).where(InboundMessage.dedupe_key == key))

    def claim(self, message: InboundMessage) -> InboundMessage:
        """Insert the message now; a second copy raises DuplicateMessage.

        One statement: "insert … on conflict (dedupe_key) do nothing returning id". On
        PostgreSQL a copy arriving while the first is still being handled waits here until the
        first commits, then finds the key taken; so two workers never both handle one message.
        `message` stays out of the session: `answer` writes its reply (and ticket) at the end.
        """
        number = self.session.execute(
            _statement(self.session, "inbound claim", _inbound_claim),
            {
                "dedupe_key": message.dedupe_key,
                "openid": message.openid,
                "msg_type": message.msg_type,
                "content": message.content,
                "received_at": message.received_at,
                "reply": message.reply,
                "ticket_id": message.ticket_id,
            },
        ).scalar()
        if number is None:
            raise DuplicateMessage(message.dedupe_key)
        message.id = number
        return message

    def answer(self, message: InboundMessage, reply: str) -> None:
        """Store the passive reply of a claimed message (and the ticket it is about)."""
        message.reply = reply
        self.session.execute(
            _statement(self.session, "inbound answer", _inbound_answer),
            {"message_id": message.id, "new_reply": reply, "about": message.ticket_id},
        )

    def about_ticket(self, number: int) -> Sequence[InboundMessage]:
        """Messages (from anyone) recorded as being about ticket #number, oldest first (the
        ticket_id index answers it)."""
        return self.session.scalars(
            select(InboundMessage)
            .where(InboundMessage.ticket_id == number)
            .order_by(InboundMessage.id)
        ).all()

    def link_to_ticket(self, openid: str, first_id: int, before_id: int, number: int) -> None:
        """One person's messages from `first_id` up to (not including) `before_id` that are
        about no ticket yet are about ticket #number (the request that became it)."""
        self.session.execute(
            update(InboundMessage)
            .where(
                InboundMessage.openid == openid,
                InboundMessage.id >= first_id,
                InboundMessage.id < before_id,
                InboundMessage.ticket_id.is_(None),
            )
            .values(ticket_id=number)
        )

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
        """How many messages this person sent at or after `since` (the flood check, on every
        message: a statement built once)."""
        query = _statement(self.session, "inbound count", _inbound_count)
        return int(self.session.scalar(query, {"openid": openid, "since": since}) or 0)

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
        transaction) is dropped, so one cause never sends two messages: one "insert … on
        conflict (dedupe_key) do nothing".
        """
        if not message.dedupe_key:
            self.session.add(message)
            return
        self.session.flush()  # messages queued before this one keep their order
        values = {
            column.key: getattr(message, column.key)
            for column in OutboxMessage.__table__.columns
            if column.key != "id" and getattr(message, column.key) is not None
        }
        self.session.execute(
            dialect_insert(self.session, OutboxMessage)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key])
        )

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
        if openid in self.session.info.get(NO_STATE, ()):
            return None
        return self.session.get(ConversationState, openid)

    def set(self, openid: str, state: str, data: dict, now: datetime, expires_at: datetime) -> None:
        """Remember where this person's conversation stands."""
        absent = self.session.info.get(NO_STATE, set())
        row = None if openid in absent else self.session.get(ConversationState, openid)
        absent.discard(openid)
        if row is None:
            row = ConversationState(openid=openid)
            self.session.add(row)
        row.state, row.data, row.updated_at, row.expires_at = state, dict(data), now, expires_at

    def clear(self, openid: str) -> None:
        """Forget this person's conversation state."""
        if openid in self.session.info.get(NO_STATE, ()):
            return
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
