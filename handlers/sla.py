"""SLA (督办): accept and resolve deadlines per intent; each breach level is told once."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers import messages as msg
from handlers.ports import Policy
from handlers.tickets import assignee_label, notify, record
from storage.models import Ticket, TicketStatus
from storage.uow import AbstractUnitOfWork

NOT_YET_ACCEPTED = (TicketStatus.OPEN, TicketStatus.ASSIGNED, TicketStatus.REOPENED)


def human_duration(delta: timedelta) -> str:
    """ "30分钟", "2小时", "3天" — for messages to people."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)}分钟"
    if minutes < 48 * 60:
        hours = minutes / 60
        return f"{hours:.0f}小时" if hours == int(hours) else f"{hours:.1f}小时"
    return f"{minutes // 1440}天"


def _level(elapsed: timedelta, limit: timedelta, factor: float) -> int:
    if elapsed > limit * factor:
        return 2
    if elapsed > limit:
        return 1
    return 0


def check_sla(uow: AbstractUnitOfWork, policy: Policy, now: datetime) -> list[tuple[int, str, int]]:
    """Notify new breaches; returns (ticket, "accept"|"resolve", level) for each one found."""
    found = []
    for ticket in uow.tickets.list(status=(*NOT_YET_ACCEPTED, TicketStatus.ACCEPTED)):
        deadlines = policy.deadlines(ticket.intent, ticket.urgent)
        if deadlines is None:
            continue
        if ticket.status in NOT_YET_ACCEPTED:
            start = ticket.assigned_at or ticket.created_at
            level = _level(now - start, deadlines.accept, policy.escalate_factor)
            if level > ticket.accept_breach_level:
                _breach(uow, policy, ticket, "accept", level, deadlines.accept, now)
                found.append((ticket.id, "accept", level))
        start = (
            ticket.assigned_at
            if ticket.status == TicketStatus.REOPENED and ticket.assigned_at
            else ticket.created_at
        )
        level = _level(now - start, deadlines.resolve, policy.escalate_factor)
        if level > ticket.resolve_breach_level:
            _breach(uow, policy, ticket, "resolve", level, deadlines.resolve, now)
            found.append((ticket.id, "resolve", level))
    return found


def _breach(
    uow: AbstractUnitOfWork,
    policy: Policy,
    ticket: Ticket,
    kind: str,
    level: int,
    limit: timedelta,
    now: datetime,
) -> None:
    previous = ticket.accept_breach_level if kind == "accept" else ticket.resolve_breach_level
    if kind == "accept":
        ticket.accept_breach_level = level
    else:
        ticket.resolve_breach_level = level
    what = "接单" if kind == "accept" else "办结"
    hours = human_duration(limit if level == 1 else limit * policy.escalate_factor)
    record(
        uow,
        ticket,
        "sla_breach",
        "system",
        now,
        f"{what}超时（{hours}）·{level}级",
        breach=kind,
        level=level,
    )
    label = assignee_label(policy, ticket)
    key = f"sla:{ticket.id}:{kind}:{ticket.assigned_at or ticket.created_at:%Y%m%d%H%M%S}"
    if previous < 1:  # first breach: the assignee and the branch liaison
        template = msg.NOTIFY_SLA_ACCEPT if kind == "accept" else msg.NOTIFY_SLA_RESOLVE
        if ticket.assignee:
            notify(
                uow,
                ticket.assignee.openid,
                template.format(n=ticket.id, hours=human_duration(limit)),
                now,
                kind="sla",
                ticket=ticket,
                dedupe_key=f"{key}:1:assignee",
            )
        for liaison in uow.staff.list(role=policy.fallback_role, active_only=True):
            if ticket.assignee and liaison.id == ticket.assignee.id:
                continue
            notify(
                uow,
                liaison.openid,
                msg.NOTIFY_SLA_LIAISON.format(
                    n=ticket.id, assignee=label, what=what, hours=human_duration(limit)
                ),
                now,
                kind="sla",
                ticket=ticket,
                dedupe_key=f"{key}:1:{liaison.id}",
            )
    if level >= 2:  # second, longer breach: the branch secretary
        for openid in policy.summary_recipients:
            notify(
                uow,
                openid,
                msg.NOTIFY_SLA_SECRETARY.format(
                    n=ticket.id,
                    intent_name=msg.INTENT_NAMES.get(ticket.intent, ticket.intent),
                    assignee=label,
                    what=what,
                    hours=hours,
                ),
                now,
                kind="sla",
                ticket=ticket,
                dedupe_key=f"{key}:2:{openid}",
            )
