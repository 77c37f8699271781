"""Many communities on one site (issue 13): which community a resident and a ticket belong to,
the QR code that says it, the one question that asks it, and what operators do with communities.

A site that declares no community has only `default`: nothing here asks or says anything then.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from handlers import commands as cmd
from handlers import messages as msg
from handlers.errors import Invalid, NotFound
from handlers.lifecycle import record
from handlers.ports import Context, Policy
from handlers.summary import forget_kept_week
from nlu.places import building_of, normalise_location
from storage.community import Community
from storage.models import Resident, Staff, Ticket
from storage.states import DEFAULT_COMMUNITY
from storage.uow import AbstractUnitOfWork

log = logging.getLogger(__name__)

# A permanent QR code's scene string names the community: "community:zhangshe".
SCENE_PREFIX = "community:"
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def scene_for(key: str) -> str:
    """The scene string of a community's QR code."""
    return SCENE_PREFIX + key


def community_of_scene(uow: AbstractUnitOfWork, scene: str | None) -> Community | None:
    """The active community a QR scene names ("community:KEY", or the bare key), if any."""
    if not scene:
        return None
    key = scene.removeprefix(SCENE_PREFIX).strip().lower()
    community = uow.communities.get(key) if KEY_PATTERN.fullmatch(key) else None
    return community if community is not None and community.active else None


def many(uow: AbstractUnitOfWork) -> bool:
    """Whether the site has more than one active community (else nothing is asked or shown)."""
    return uow.communities.active_count() > 1


def require(uow: AbstractUnitOfWork, key: str) -> Community:
    """The community `key`; an unknown key is refused naming the known ones."""
    community = uow.communities.get(key.strip().lower())
    if community is None:
        raise NotFound(unknown_key(uow, key))
    return community


def unknown_key(uow: AbstractUnitOfWork, key: str) -> str:
    known = "、".join(c.key for c in uow.communities.list()) or "（无）"
    return msg.COMMUNITY_UNKNOWN.format(key=key, known=known)


def name_of(uow: AbstractUnitOfWork, key: str | None) -> str:
    """A community's name for people ("张舍家园"); the key if it is not known."""
    if key is None:
        return msg.COMMUNITY_SITE_POOL
    community = uow.communities.get(key)
    return community.name if community is not None else key


# --- which community -------------------------------------------------------------------------


def known_for(uow: AbstractUnitOfWork, resident: Resident, location: str | None) -> str | None:
    """The community of a new ticket at `location` by `resident`, without asking: the only one
    the site has; the resident's (QR code, earlier answer); the reported building's; the
    registered room's building's. None: Sheli must ask (or has asked once already)."""
    active = uow.communities.list(active_only=True)
    if len(active) <= 1:
        return active[0].key if active else DEFAULT_COMMUNITY
    if resident.community is not None:
        return resident.community
    for place in (location, resident.room):
        building = building_of(place) if place else None
        key = uow.communities.of_building(building) if building else None
        if key is not None:
            resident.community = key  # "the building they register or report"
            return key
    return None


def should_ask(resident: Resident) -> bool:
    """Sheli asks "你住在哪个小区？" once per resident."""
    return resident.community_asked_at is None


def question(uow: AbstractUnitOfWork, resident: Resident, now: datetime) -> str:
    """The one question, with the communities to choose from by number."""
    resident.community_asked_at = now
    choices = "\n".join(
        msg.COMMUNITY_CHOICE.format(i=i, name=c.name)
        for i, c in enumerate(uow.communities.list(active_only=True), start=1)
    )
    return msg.ASK_COMMUNITY.format(choices=choices)


def from_answer(uow: AbstractUnitOfWork, text: str) -> Community | None:
    """The community an answer names: its number in the list, its name (or a part of it of two
    characters or more), or its key."""
    text = text.strip().strip("。.!！ ").lower()
    if not text:
        return None
    active = list(uow.communities.list(active_only=True))
    if text.isdigit() and 1 <= int(text) <= len(active):
        return active[int(text) - 1]
    for community in active:
        if text == community.key or community.name.lower() in text:
            return community
    # "张舍的", "住李舍那边": the community sharing the longest run of two or more characters
    shared = {c.key: _longest_common_run(text, c.name.lower()) for c in active}
    best = max(shared.values(), default=0)
    found = [c for c in active if shared[c.key] == best]
    return found[0] if best >= 2 and len(found) == 1 else None


def _longest_common_run(a: str, b: str) -> int:
    """The length of the longest string found in both `a` and `b`."""
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] not in b:
                break
            best = j - i
    return best


def settle(resident: Resident, community: Community) -> None:
    resident.community = community.key


def notice_lines(
    uow: AbstractUnitOfWork, policy: Policy, ticket: Ticket, staff: Staff
) -> tuple[str, str]:
    """What a staff notice gains on a site of many communities: a first line naming the
    ticket's community (a site-wide pool member serves several), and a last one saying why a
    pool member has it (the community has nobody in the role). ("", "") on a site of one."""
    if not many(uow):
        return "", ""
    name = name_of(uow, ticket.community)
    why = ""
    if staff.community is None:
        why = msg.NOTIFY_POOL_REASON.format(community=name, role=policy.role_name(staff.role))
    return msg.COMMUNITY_TAG.format(name=name), why


def visible_to(actor: cmd.Actor | None, ticket: Ticket) -> bool:
    """Whether an actor may see a ticket at all as far as communities go: an operator limited
    to one community (dashboard.users) sees only its tickets; anyone else, any (staff are
    checked by `serves`)."""
    return actor is None or actor.community is None or actor.community == ticket.community


def serves(staff: Staff, ticket: Ticket) -> bool:
    """Whether a staff member may see and act on a ticket's community at all: their own, or
    any when they are in the site-wide pool."""
    return staff.community is None or staff.community == ticket.community


def liaisons_of(uow: AbstractUnitOfWork, policy: Policy, community: str | None) -> list[Staff]:
    """The active branch liaisons who hear about a ticket of `community`: its own, else the
    site-wide pool's."""
    staff = uow.staff.list(role=policy.fallback_role, active_only=True, community=community)
    own = [s for s in staff if s.community is not None]
    return own or [s for s in staff if s.community is None]


def secretaries_of(uow: AbstractUnitOfWork, policy: Policy, community: str | None) -> list[str]:
    """Who hears a community's escalations and gets its summary: its secretaries, else the
    site's `summary.recipients` (a site of one community needs nothing more)."""
    found = uow.communities.get(community) if community else None
    return (
        list(found.secretaries or ())
        if found and found.secretaries
        else list(policy.summary_recipients)
    )


# --- QR codes --------------------------------------------------------------------------------


def on_follow(uow: AbstractUnitOfWork, resident: Resident, scene: str | None) -> Community | None:
    """A follow or SCAN through a QR code: the community it names becomes the resident's.
    A scene that names no community is logged for the operator (the scene, never the openid)."""
    if not scene:
        return None
    community = community_of_scene(uow, scene)
    if community is None:
        log.warning("QR scene %r names no active community; the resident will be asked", scene)
        return None
    resident.community = community.key
    return community


# --- operators ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommunityView:
    key: str
    name: str
    secretaries: tuple[str, ...]
    active: bool
    buildings: int
    staff: int
    residents: int


def add_community(command: cmd.AddCommunity, uow: AbstractUnitOfWork, ctx: Context) -> str:
    """`sheli community add KEY --name NAME [--secretary OPENID]…`: a new community, or new
    name, secretaries or state for an existing one. Returns what was done, in Chinese."""
    key = command.key.strip().lower()
    if not KEY_PATTERN.fullmatch(key):
        raise Invalid(msg.COMMUNITY_BAD_KEY.format(key=command.key))
    name = (command.name or "").strip()
    if len(name) > 64:
        raise Invalid(msg.COMMUNITY_BAD_NAME)
    secretaries = [s.strip() for s in command.secretaries if s.strip()]
    if any(len(s) > 64 for s in secretaries):
        raise Invalid(msg.COMMUNITY_BAD_SECRETARY)
    community = uow.communities.get(key)
    if community is None:
        if not name:
            raise Invalid(msg.COMMUNITY_NAME_NEEDED)
        uow.communities.add(
            Community(
                key=key,
                name=name,
                secretaries=secretaries,
                active=command.active is not False,
                created_at=ctx.now,
            )
        )
        return msg.COMMUNITY_ADDED.format(key=key, name=name)
    if name:
        community.name = name
    if secretaries:
        community.secretaries = secretaries
    if command.active is not None:
        community.active = command.active
    return msg.COMMUNITY_UPDATED.format(key=key, name=community.name)


def list_communities(uow: AbstractUnitOfWork, ctx: Context) -> list[CommunityView]:
    counts = uow.communities.counts()
    return [
        CommunityView(
            c.key, c.name, tuple(c.secretaries or ()), c.active, *counts.get(c.key, (0, 0, 0))
        )
        for c in uow.communities.list()
    ]


def move_building(command: cmd.MoveBuilding, uow: AbstractUnitOfWork, ctx: Context) -> str:
    """Put a building in another community. Its open tickets follow only with `move_open`, and
    each one's trail says so; otherwise they stay where they were opened."""
    community = require(uow, command.community)
    name = normalise_location(command.building.strip())
    building = uow.buildings.by_name(name + "栋" if name.isdigit() else name)
    if building is None:
        raise NotFound(msg.COMMUNITY_NO_BUILDING.format(name=command.building))
    before = building.community
    numbers = uow.communities.move_building(building.name, community.key, command.move_open)
    for number in numbers:
        ticket = uow.tickets.get(number)
        if ticket is None:
            continue
        old = ticket.community
        ticket.community = community.key
        # Its week's kept figures counted it in the old community.
        forget_kept_week(uow, ctx.policy, ticket.created_at, [old, community.key])
        record(
            uow,
            ticket,
            "community_moved",
            command.actor.label,
            ctx.now,
            msg.COMMUNITY_TICKET_MOVED.format(
                old=name_of(uow, old), new=community.name, building=building.name
            ),
            old=old,
            new=community.key,
        )
    if not command.move_open:
        return msg.COMMUNITY_BUILDING_MOVED.format(
            building=building.name, old=before, new=community.key
        )
    return msg.COMMUNITY_BUILDING_MOVED_WITH_TICKETS.format(
        building=building.name, old=before, new=community.key, n=len(numbers)
    )
