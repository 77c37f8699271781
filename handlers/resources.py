"""Party-building resources at work: a volunteer (志愿者) helping the assignee on a ticket; the
volunteer teams for residents who want to join one; the alliance units that help with social
security (社保/医保)."""

from __future__ import annotations

import re
from collections import Counter

from handlers import commands as cmd
from handlers import communities
from handlers import messages as msg
from handlers.errors import Invalid, NotFound
from handlers.events import event_line, upcoming
from handlers.keywords import normalise
from handlers.lifecycle import record
from handlers.notices import notify
from handlers.ports import Context
from storage.community import EventKind, TicketHelper
from storage.uow import AbstractUnitOfWork


def assign_helper(command: cmd.AssignHelper, uow: AbstractUnitOfWork, ctx: Context) -> TicketHelper:
    """A volunteer helps on ticket #n: recorded in its audit trail, the assignee told (once)."""
    ticket = uow.tickets.get(command.number)
    if ticket is None or not communities.visible_to(command.actor, ticket):
        raise NotFound(msg.NO_SUCH_TICKET.format(n=command.number))
    volunteer = uow.resources.volunteer(command.volunteer_id)
    if volunteer is None or not volunteer.active:
        raise Invalid(msg.NO_SUCH_VOLUNTEER)
    existing = uow.resources.helper(ticket.id, volunteer.id)
    if existing is not None:
        return existing
    actor = command.actor.label
    helper = TicketHelper(
        ticket_id=ticket.id, volunteer_id=volunteer.id, assigned_at=ctx.now, assigned_by=actor
    )
    helper.volunteer = volunteer
    uow.resources.add_helper(helper)
    record(
        uow,
        ticket,
        "helper_assigned",
        actor,
        ctx.now,
        f"{volunteer.team}{volunteer.name}",
        volunteer_id=volunteer.id,
    )
    if ticket.assignee is not None:
        notify(
            uow,
            ticket.assignee.openid,
            msg.NOTIFY_HELPER.format(n=ticket.id, volunteer=volunteer.name, team=volunteer.team),
            ctx.now,
            ticket=ticket,
        )
    return helper


# --- what residents are told --------------------------------------------------------------------


_SKILL_SEPARATORS = re.compile(r"[、，,;；\s]+")


def asks_to_volunteer(text: str) -> bool:
    """ "怎么报名当志愿者", "我想做义工": a question about joining as a volunteer."""
    clean = normalise(text).replace(" ", "")
    return any(word in clean for word in msg.VOLUNTEER_WORDS)


def volunteer_answer(uow: AbstractUnitOfWork, ctx: Context) -> str:
    """The volunteer teams (how many members, what they do; never who), how to join, and the
    next volunteer activities to sign up for."""
    members: Counter[str] = Counter()
    skills: dict[str, list[str]] = {}
    for volunteer in uow.resources.volunteers(active_only=True):
        members[volunteer.team] += 1
        known = skills.setdefault(volunteer.team, [])
        for skill in _SKILL_SEPARATORS.split(volunteer.skills or ""):
            if skill and skill not in known:
                known.append(skill)
    if not members:
        return msg.VOLUNTEER_NO_TEAMS
    lines = [msg.VOLUNTEER_TEAMS_HEADER]
    for team, count in members.items():
        what = "、".join(skills[team][:4])
        lines.append(
            msg.VOLUNTEER_TEAM_LINE.format(
                team=team,
                n=count,
                skills=msg.VOLUNTEER_TEAM_SKILLS.format(skills=what) if what else "",
            )
        )
    lines.append(msg.VOLUNTEER_JOIN)
    activities = upcoming(uow, ctx.now, EventKind.VOLUNTEER)
    if activities:
        lines.append(msg.VOLUNTEER_EVENTS)
        lines += [event_line(uow, ctx.policy, event, openings=False) for event in activities]
        lines.append(msg.EVENTS_FOOTER.format(n=activities[0].id))
    return "\n".join(lines)


def social_security_hint(uow: AbstractUnitOfWork, text: str) -> str:
    """Lines added to a social-security ticket's reply: the answer to the commonest questions
    (by topic), and an alliance unit that helps with 社保/医保, when one is imported."""
    clean = normalise(text).replace(" ", "")
    answer = next(
        (reply for words, reply in msg.SOCIAL_SECURITY_FAQ if any(w in clean for w in words)),
        msg.SOCIAL_SECURITY_GENERAL,
    )
    hint = "\n" + answer
    for unit in uow.resources.units():
        services = unit.services or ""
        if any(word in services for word in msg.SOCIAL_SECURITY_SERVICE_WORDS):
            phone = msg.SOCIAL_SECURITY_UNIT_PHONE.format(phone=unit.phone) if unit.phone else ""
            hint += msg.SOCIAL_SECURITY_UNIT.format(name=unit.name, services=services, phone=phone)
            break
    return hint
