"""Repositories for community data (events, buildings and rooms, resources). They never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from storage.community import (
    AllianceUnit,
    Building,
    Community,
    Event,
    Room,
    SignUp,
    SignUpStatus,
    TicketHelper,
    Volunteer,
)
from storage.models import Resident, Staff, Ticket
from storage.states import ACTIVE_STATUSES, DEFAULT_COMMUNITY


class EventRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, event: Event) -> Event:
        """Add an event and give it its number."""
        self.session.add(event)
        self.session.flush()
        return event

    def get(self, event_id: int) -> Event | None:
        """The event 活动<id>."""
        return self.session.get(Event, event_id)

    def find(self, kind: str, title: str, starts_at: datetime) -> Event | None:
        """The event with this kind, title and start (what an import matches on)."""
        return self.session.scalar(
            select(Event).where(
                Event.kind == kind, Event.title == title, Event.starts_at == starts_at
            )
        )

    def list(
        self,
        *,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_cancelled: bool = False,
        limit: int | None = None,
        newest_first: bool = False,
        offset: int = 0,
    ) -> Sequence[Event]:
        """Events starting in [since, until), in time order."""
        query = select(Event)
        if kind:
            query = query.where(Event.kind == kind)
        if since is not None:
            query = query.where(Event.starts_at >= since)
        if until is not None:
            query = query.where(Event.starts_at < until)
        if not include_cancelled:
            query = query.where(Event.cancelled.is_(False))
        order = (
            (Event.starts_at.desc(), Event.id.desc())
            if newest_first
            else (Event.starts_at, Event.id)
        )
        query = query.order_by(*order)
        if offset:
            query = query.offset(offset)
        if limit:
            query = query.limit(limit)
        return self.session.scalars(query).all()

    def sign_up_counts(self, event_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Per event: sign-ups per status, and "attended" (confirmed sign-ups that came)."""
        counts: dict[int, dict[str, int]] = {n: {} for n in event_ids}
        if not event_ids:
            return counts
        rows = self.session.execute(
            select(
                SignUp.event_id,
                SignUp.status,
                func.count(),
                func.sum(case((SignUp.attended.is_(True), 1), else_=0)),
            )
            .where(SignUp.event_id.in_(list(event_ids)))
            .group_by(SignUp.event_id, SignUp.status)
        )
        for event_id, status, count, attended in rows:
            counts[event_id][str(status)] = int(count)
            counts[event_id]["attended"] = counts[event_id].get("attended", 0) + int(attended or 0)
        return counts

    def sign_ups_with_residents(
        self, event_id: int, offset: int = 0, limit: int | None = None
    ) -> Sequence[tuple[SignUp, Resident | None]]:
        """An event's sign-ups, first come first, each with its resident (None once erased)."""
        query = (
            select(SignUp, Resident)
            .outerjoin(Resident, Resident.id == SignUp.resident_id)
            .where(SignUp.event_id == event_id)
            .order_by(SignUp.id)
            .offset(offset)
        )
        if limit:
            query = query.limit(limit)
        return [(signed, resident) for signed, resident in self.session.execute(query)]

    def waiting_before(self, event_id: int, sign_up_id: int) -> int:
        """How many sign-ups wait on the event's list before `sign_up_id`."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(SignUp)
                .where(
                    SignUp.event_id == event_id,
                    SignUp.status == SignUpStatus.WAITING,
                    SignUp.id < sign_up_id,
                )
            )
            or 0
        )

    def figures_between(
        self, start: datetime, end: datetime, held_before: datetime | None = None
    ) -> dict[str, int]:
        """Sign-ups made in [start, end) (not cancelled; of them waiting), events held then
        (not cancelled, starting in [start, held_before), by default [start, end)) and, of
        their confirmed sign-ups, attended and attendance marked."""
        made = self.session.execute(
            select(
                func.count(),
                func.sum(case((SignUp.status == SignUpStatus.WAITING, 1), else_=0)),
            ).where(
                SignUp.created_at >= start,
                SignUp.created_at < end,
                SignUp.status != SignUpStatus.CANCELLED,
            )
        ).one()
        held_events = select(Event.id).where(
            Event.starts_at >= start,
            Event.starts_at < (end if held_before is None else held_before),
            Event.cancelled.is_(False),
        )
        held = self.session.scalar(select(func.count()).select_from(held_events.subquery()))
        attendance = self.session.execute(
            select(
                func.sum(case((SignUp.attended.is_(True), 1), else_=0)),
                func.sum(case((SignUp.attended.is_not(None), 1), else_=0)),
            ).where(SignUp.event_id.in_(held_events), SignUp.status == SignUpStatus.CONFIRMED)
        ).one()
        return {
            "sign_ups": int(made[0] or 0),
            "waiting": int(made[1] or 0),
            "held": int(held or 0),
            "attended": int(attendance[0] or 0),
            "attendance_marked": int(attendance[1] or 0),
        }

    def get_sign_up(self, sign_up_id: int) -> SignUp | None:
        """One sign-up by its id."""
        return self.session.get(SignUp, sign_up_id)

    def sign_up_of(self, event_id: int, resident_id: int) -> SignUp | None:
        """This resident's sign-up for this event."""
        return self.session.scalar(
            select(SignUp).where(SignUp.event_id == event_id, SignUp.resident_id == resident_id)
        )

    def add_sign_up(self, sign_up: SignUp) -> SignUp:
        """Record a sign-up."""
        self.session.add(sign_up)
        self.session.flush()
        return sign_up

    def count_sign_ups(self, event_id: int, status: str = SignUpStatus.CONFIRMED) -> int:
        """How many sign-ups of this status the event has."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(SignUp)
                .where(SignUp.event_id == event_id, SignUp.status == status)
            )
            or 0
        )

    def sign_ups(self, event_id: int) -> Sequence[SignUp]:
        """An event's sign-ups, first come first."""
        return self.session.scalars(
            select(SignUp).where(SignUp.event_id == event_id).order_by(SignUp.id)
        ).all()

    def waiting(self, event_id: int) -> Sequence[SignUp]:
        """An event's waiting list, first come first."""
        return self.session.scalars(
            select(SignUp)
            .where(SignUp.event_id == event_id, SignUp.status == SignUpStatus.WAITING)
            .order_by(SignUp.id)
        ).all()

    def sign_ups_of_resident(self, resident_id: int) -> Sequence[SignUp]:
        """A resident's sign-ups, newest event first."""
        return self.session.scalars(
            select(SignUp)
            .join(Event, Event.id == SignUp.event_id)
            .where(SignUp.resident_id == resident_id)
            .order_by(Event.starts_at.desc(), SignUp.id.desc())
        ).all()

    def reminders_due(self, start: datetime, end: datetime) -> Sequence[SignUp]:
        """Confirmed, unreminded sign-ups for events starting in [start, end)."""
        return self.session.scalars(
            select(SignUp)
            .join(Event, Event.id == SignUp.event_id)
            .where(
                Event.starts_at >= start,
                Event.starts_at < end,
                Event.cancelled.is_(False),
                SignUp.status == SignUpStatus.CONFIRMED,
                SignUp.reminded_at.is_(None),
                SignUp.resident_id.is_not(None),
            )
            .order_by(SignUp.id)
            .with_for_update(skip_locked=True, of=SignUp)
        ).all()

    def sign_ups_between(self, start: datetime, end: datetime) -> Sequence[SignUp]:
        """Sign-ups made in [start, end)."""
        return self.session.scalars(
            select(SignUp)
            .where(SignUp.created_at >= start, SignUp.created_at < end)
            .order_by(SignUp.id)
        ).all()

    def forget_resident(self, resident_id: int) -> int:
        """Detach a resident from their sign-ups; the sign-ups stay as anonymous counts."""
        result = self.session.execute(
            update(SignUp).where(SignUp.resident_id == resident_id).values(resident_id=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class BuildingRepository:
    def __init__(self, session: Session):
        self.session = session

    def by_name(self, name: str) -> Building | None:
        """The building called `name` ("3栋")."""
        return self.session.scalar(select(Building).where(Building.name == name))

    def add(self, building: Building) -> Building:
        """Add a building."""
        self.session.add(building)
        self.session.flush()
        return building

    def list(self) -> Sequence[Building]:
        """Every building, by name."""
        return self.session.scalars(select(Building).order_by(Building.name)).all()

    def has_rooms(self) -> bool:
        """Whether any rooms were imported."""
        return self.session.scalar(select(Room.id).limit(1)) is not None

    def room_by_label(self, label: str) -> Room | None:
        """The room with this normalised label ("3栋502")."""
        return self.session.scalar(select(Room).where(Room.label == label))

    def add_room(self, room: Room) -> Room:
        """Add a room."""
        self.session.add(room)
        self.session.flush()
        return room

    def rooms(self) -> Sequence[Room]:
        """Every room."""
        return self.session.scalars(select(Room).order_by(Room.label)).all()

    def residents_in(self, building: str, community: str | None = None) -> Sequence[Resident]:
        """Residents (not erased) living in `building` (residents.building, kept with the room),
        of one community when given."""
        query = select(Resident).where(Resident.building == building, Resident.erased_at.is_(None))
        if community is not None:
            query = query.where(Resident.community == community)
        return self.session.scalars(query.order_by(Resident.id)).all()

    def residents_per_building(self, community: str | None = None) -> dict[str, int]:
        """{building: residents (not erased) known to live there}, of one community when given."""
        query = select(Resident.building, func.count()).where(
            Resident.building.is_not(None), Resident.erased_at.is_(None)
        )
        if community is not None:
            query = query.where(Resident.community == community)
        rows = self.session.execute(query.group_by(Resident.building))
        return {str(building): int(n) for building, n in rows}

    def residents_with_room(self) -> Sequence[Resident]:
        """Residents (not erased) who registered or were learned to live in a room."""
        return self.session.scalars(
            select(Resident)
            .where(Resident.room.is_not(None), Resident.erased_at.is_(None))
            .order_by(Resident.id)
        ).all()


class ResourceRepository:
    def __init__(self, session: Session):
        self.session = session

    def unit_by_name(self, name: str) -> AllianceUnit | None:
        """The alliance unit called `name`."""
        return self.session.scalar(select(AllianceUnit).where(AllianceUnit.name == name))

    def add_unit(self, unit: AllianceUnit) -> AllianceUnit:
        """Add an alliance unit."""
        self.session.add(unit)
        self.session.flush()
        return unit

    def units(self) -> Sequence[AllianceUnit]:
        """Every alliance unit, by name."""
        return self.session.scalars(select(AllianceUnit).order_by(AllianceUnit.name)).all()

    def volunteer(self, volunteer_id: int) -> Volunteer | None:
        """The volunteer with this id."""
        return self.session.get(Volunteer, volunteer_id)

    def volunteer_by_name(self, team: str, name: str) -> Volunteer | None:
        """The volunteer `name` of `team`."""
        return self.session.scalar(
            select(Volunteer).where(Volunteer.team == team, Volunteer.name == name)
        )

    def add_volunteer(self, volunteer: Volunteer) -> Volunteer:
        """Add a volunteer."""
        self.session.add(volunteer)
        self.session.flush()
        return volunteer

    def volunteers(self, active_only: bool = False) -> Sequence[Volunteer]:
        """Volunteers by team and name."""
        query = select(Volunteer).order_by(Volunteer.team, Volunteer.name)
        if active_only:
            query = query.where(Volunteer.active.is_(True))
        return self.session.scalars(query).all()

    def helper(self, ticket_id: int, volunteer_id: int) -> TicketHelper | None:
        """The link between a ticket and a volunteer helping on it."""
        return self.session.get(TicketHelper, (ticket_id, volunteer_id))

    def add_helper(self, helper: TicketHelper) -> None:
        """Link a volunteer to a ticket."""
        self.session.add(helper)

    def helpers(self, ticket_id: int) -> Sequence[TicketHelper]:
        """Volunteers helping on a ticket."""
        return (
            self.session.scalars(
                select(TicketHelper)
                .where(TicketHelper.ticket_id == ticket_id)
                .order_by(TicketHelper.assigned_at)
            )
            .unique()
            .all()
        )

    def helper_counts(self) -> dict[int, int]:
        """How many tickets each volunteer has helped on."""
        rows = self.session.execute(
            select(TicketHelper.volunteer_id, func.count()).group_by(TicketHelper.volunteer_id)
        ).all()
        return {int(v): int(n) for v, n in rows}


class CommunityRepository:
    """The site's communities (issue 13)."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, key: str) -> Community | None:
        """The community with this key."""
        return self.session.get(Community, key)

    def add(self, community: Community) -> Community:
        """Add a community."""
        self.session.add(community)
        self.session.flush()
        return community

    def list(self, active_only: bool = False) -> Sequence[Community]:
        """Every community, `default` first, then by key: the same order whenever asked (two
        communities added within one second have the same created_at)."""
        query = select(Community).order_by(Community.key != DEFAULT_COMMUNITY, Community.key)
        if active_only:
            query = query.where(Community.active.is_(True))
        return self.session.scalars(query).all()

    def names(self) -> dict[str, str]:
        """{key: name} of every community (one small query; pages and notices label by it)."""
        return {
            key: name for key, name in self.session.execute(select(Community.key, Community.name))
        }

    def active_count(self) -> int:
        """How many communities are active: with one, nothing is ever asked or narrowed."""
        return int(
            self.session.scalar(
                select(func.count()).select_from(Community).where(Community.active.is_(True))
            )
            or 0
        )

    def of_building(self, name: str) -> str | None:
        """The community of the building called `name`, if the building is known."""
        return self.session.scalar(select(Building.community).where(Building.name == name))

    def counts(self) -> dict[str, tuple[int, int, int]]:
        """{key: (buildings, staff, residents)} in three grouped queries."""
        found: dict[str, list[int]] = {}
        for position, (column, model) in enumerate(
            (
                (Building.community, Building),
                (Staff.community, Staff),
                (Resident.community, Resident),
            )
        ):
            query = select(column, func.count()).group_by(column)
            if model is Staff:
                query = query.where(Staff.active.is_(True))
            if model is Resident:
                query = query.where(Resident.erased_at.is_(None))
            for key, n in self.session.execute(query):
                if key is not None:
                    found.setdefault(str(key), [0, 0, 0])[position] = int(n)
        return {key: (b, s, r) for key, (b, s, r) in found.items()}

    def move_building(self, name: str, key: str, move_open: bool) -> Sequence[int]:
        """Put the building in community `key`; with `move_open`, its active tickets follow.

        Returns the numbers of the tickets moved (the caller records it on each trail)."""
        self.session.execute(update(Building).where(Building.name == name).values(community=key))
        if not move_open:
            return ()
        return self.session.scalars(
            select(Ticket.id).where(
                Ticket.building == name,
                Ticket.status.in_(ACTIVE_STATUSES),
                Ticket.community != key,
            )
        ).all()
