"""Community data the bot answers from: events and sign-ups, buildings and rooms, and the
party-building resources (alliance units, volunteers) that can help on a ticket."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base
from storage.states import DEFAULT_COMMUNITY


class EventKind(enum.StrEnum):
    JOB_FAIR = "job_fair"  # 招聘会 ("遇荐九龙湾")
    LEGAL_CLINIC = "legal_clinic"  # 法律服务 ("三官一律进网格")
    MARKET = "market"  # 市集 (festival markets)
    LECTURE = "lecture"  # 讲座 (talks, training sessions)
    VOLUNTEER = "volunteer"  # 志愿活动 (volunteer teams' activities)
    OTHER = "other"


class SignUpStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITING = "waiting"  # the event was full; moves up when a place frees
    CANCELLED = "cancelled"


class Event(Base):
    """A community event residents can ask about and sign up for (「活动n」, n = id)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime | None]
    place: Mapped[str | None] = mapped_column(String(120))
    details: Mapped[str | None] = mapped_column(Text)
    # Job fairs: [{"company": ..., "job": ..., "pay": ..., "count": n}, ...]
    openings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Places for sign-ups; None = no limit.
    capacity: Mapped[int | None] = mapped_column(Integer)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    sign_ups: Mapped[list[SignUp]] = relationship(
        back_populates="event", order_by="SignUp.id", cascade="all, delete-orphan"
    )


class SignUp(Base):
    """One resident signed up for one event; kept without the resident when they are erased."""

    __tablename__ = "event_sign_ups"
    __table_args__ = (UniqueConstraint("event_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    # Marked by an operator after the event: True came, False did not, None not recorded.
    attended: Mapped[bool | None]
    attendance_marked_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship(back_populates="sign_ups")


class Community(Base):
    """A 集宿区 of the site: its buildings, staff, residents and tickets carry its key.

    A site that never declares one has only `default`, and nothing else changes for it.
    """

    __tablename__ = "communities"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # Openids of its branch secretaries: they get its weekly summary and its SLA escalations.
    secretaries: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Building(Base):
    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # As residents write it and as tickets.building stores it: "3栋", "B区2幢", "6号楼".
    # Unique in the site: a building belongs to one community.
    name: Mapped[str] = mapped_column(String(32), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    community: Mapped[str] = mapped_column(
        String(32), default=DEFAULT_COMMUNITY, server_default=DEFAULT_COMMUNITY, index=True
    )

    rooms: Mapped[list[Room]] = relationship(
        back_populates="building", order_by="Room.label", cascade="all, delete-orphan"
    )


class Room(Base):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    # Building name + number, normalised ("3栋502"); what residents.room is matched against.
    label: Mapped[str] = mapped_column(String(64), unique=True)
    capacity: Mapped[int] = mapped_column(Integer, default=0)

    building: Mapped[Building] = relationship(back_populates="rooms")


class AllianceUnit(Base):
    """A 共建单位: an organisation that builds the community together with the party branch."""

    __tablename__ = "alliance_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    category: Mapped[str | None] = mapped_column(String(64))
    services: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))


class Volunteer(Base):
    """A member of a volunteer team who can be assigned as a helper on a ticket."""

    __tablename__ = "volunteers"
    __table_args__ = (UniqueConstraint("team", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    team: Mapped[str] = mapped_column(String(120))
    skills: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TicketHelper(Base):
    """A volunteer helping the assignee with a ticket."""

    __tablename__ = "ticket_helpers"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), primary_key=True)
    assigned_at: Mapped[datetime]
    assigned_by: Mapped[str] = mapped_column(String(80))

    volunteer: Mapped[Volunteer] = relationship(lazy="joined")
