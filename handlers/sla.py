"""SLA (督办): accept and resolve deadlines per intent; each breach level is told once.

Level 1 — the deadline passed: the assignee and the branch liaison are told.
Level 2 — `escalate_factor` times the deadline passed: the branch secretary (the summary
recipients) is told as well. Every level reached is a `sla_breach` event on the ticket, and the
ticket remembers the level it reached, so a restart or a second scheduler never tells anyone twice.

The accept clock starts when the ticket was (re)assigned, or created if nobody could take it.
The resolve clock starts when the ticket was created, or reopened after a visit
(`work_started_at`).

The check reads only what is due: `next_sla_check_at` (indexed) says when a ticket must be looked
at next. handlers/lifecycle.py sets it to "now" whenever the ticket changes; the check then sets
it to the moment the next deadline passes, or NULL when nothing is left to check. It works in
batches (`CheckSla.limit`, one transaction each). A breach is recorded on its ticket at once, and
queued as an `sla_notices` row; `SendSlaDigests` then folds every breach of a scheduler tick into
one message per person ("你有37件工单超时未接单：#12 #15 …"), so a backlog of ten thousand breaches
is a handful of messages, not tens of thousands.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers import commands as cmd
from handlers import messages as msg
from handlers.communities import liaisons_of, secretaries_of
from handlers.lifecycle import record
from handlers.notices import notify
from handlers.ports import Context, Deadlines, Policy
from handlers.tickets import assignee_label
from handlers.times import clock_text, human_duration
from storage.models import SlaNotice, Staff, Ticket
from storage.states import ACTIVE_STATUSES, TicketStatus
from storage.uow import AbstractUnitOfWork

CHECKED_STATUSES = ACTIVE_STATUSES
# Ticket numbers listed in one digest line; more are summed up as "等".
DIGEST_NUMBERS = 20
# A digest of this many breaches or fewer spells each one out, one line each.
DIGEST_SPELLED_OUT = 3
# key_values: the deadlines the stored `next_sla_check_at` times were computed with.
DEADLINES_KEY = "sla:deadlines"


@dataclass(frozen=True)
class Breach:
    """One deadline a ticket is past: "accept" or "resolve", level 1 or 2."""

    ticket: int
    kind: str
    level: int


def _level(elapsed: timedelta, limit: timedelta, factor: float) -> int:
    if elapsed > limit * factor:
        return 2
    if elapsed > limit:
        return 1
    return 0


def awaits_acceptance(ticket: Ticket) -> bool:
    """Nobody has taken the ticket since it was (re)assigned."""
    if ticket.status in (TicketStatus.OPEN, TicketStatus.ASSIGNED):
        return True
    return ticket.status == TicketStatus.REOPENED and ticket.accepted_at is None


def resolve_clock_start(ticket: Ticket) -> datetime:
    """When the ticket's current round of work began: created, or last reopened."""
    return ticket.work_started_at or ticket.created_at


def breach_levels(policy: Policy, ticket: Ticket, now: datetime) -> tuple[int, int]:
    """(accept level, resolve level) the ticket has reached at `now`; 0 = within its deadline."""
    deadlines = policy.deadlines(ticket.intent, ticket.urgent)
    if deadlines is None or ticket.status not in CHECKED_STATUSES:
        return 0, 0
    accept = 0
    if awaits_acceptance(ticket):
        start = ticket.assigned_at or ticket.created_at
        accept = _level(now - start, deadlines.accept, policy.escalate_factor)
    resolve = _level(now - resolve_clock_start(ticket), deadlines.resolve, policy.escalate_factor)
    return accept, resolve


@dataclass(frozen=True)
class SlaClock:
    """Where an active ticket stands against the deadline that comes first: "accept" (while
    nobody has taken it) or "resolve"; `left` is negative once it is past."""

    deadline: str
    due_at: datetime  # naive UTC
    left: timedelta

    @property
    def overdue(self) -> bool:
        return self.left < timedelta(0)

    @property
    def text(self) -> str:
        """ "距接单时限还剩 35分钟" / "接单已超时 1小时25分" (whole units, no decimals)."""
        what = msg.SLA_WHAT[self.deadline]
        if self.overdue:
            return msg.SLA_OVER.format(what=what, over=clock_text(-self.left))
        return msg.SLA_LEFT.format(what=what, left=clock_text(self.left))


def due_times(ticket: Ticket, policy: Policy) -> tuple[datetime | None, datetime | None]:
    """(accept due, resolve due) of an active ticket, naive UTC; None where no deadline runs.

    The same clocks as `breach_levels`: accept from the (re)assignment while nobody has taken
    the ticket, resolve from the start of its current round of work (`work_started_at`: its
    last reopening, else its creation). Pages ask this one function; it reads only the ticket.
    """
    deadlines = policy.deadlines(ticket.intent, ticket.urgent)
    if deadlines is None or ticket.status not in CHECKED_STATUSES:
        return None, None
    accept = None
    if awaits_acceptance(ticket):
        accept = (ticket.assigned_at or ticket.created_at) + deadlines.accept
    return accept, resolve_clock_start(ticket) + deadlines.resolve


def countdown(ticket: Ticket, policy: Policy, now: datetime) -> SlaClock | None:
    """The ticket's SLA clock at `now` (None: no deadline runs, or the ticket is done)."""
    accept, resolve = due_times(ticket, policy)
    clocks = [(due, kind) for due, kind in ((accept, "accept"), (resolve, "resolve")) if due]
    if not clocks:
        return None
    due, kind = min(clocks)
    return SlaClock(kind, due, due - now)


def next_check(policy: Policy, ticket: Ticket) -> datetime | None:
    """When a level not yet reached will be: the earliest of the deadlines still ahead."""
    deadlines = policy.deadlines(ticket.intent, ticket.urgent)
    if deadlines is None or ticket.status not in CHECKED_STATUSES:
        return None
    factor = policy.escalate_factor
    due = []
    if awaits_acceptance(ticket) and ticket.accept_breach_level < 2:
        start = ticket.assigned_at or ticket.created_at
        due.append(start + deadlines.accept * (factor if ticket.accept_breach_level else 1))
    if ticket.resolve_breach_level < 2:
        start = resolve_clock_start(ticket)
        due.append(start + deadlines.resolve * (factor if ticket.resolve_breach_level else 1))
    return min(due) if due else None


def _deadlines_fingerprint(policy: Policy) -> str:
    rules = sorted(
        (key, d.accept.total_seconds(), d.resolve.total_seconds()) for key, d in policy.sla.items()
    )
    return hashlib.sha256(repr((rules, policy.escalate_factor)).encode()).hexdigest()[:16]


def _recheck_if_deadlines_changed(uow: AbstractUnitOfWork, policy: Policy, now: datetime) -> None:
    """Stored check times follow the deadlines they were computed with: new deadlines (or a
    database from before the times were kept) mean every active ticket is looked at again."""
    fingerprint = _deadlines_fingerprint(policy)
    if uow.values.get(DEADLINES_KEY, now) != fingerprint:
        uow.tickets.recheck_sla(CHECKED_STATUSES, now)
        uow.values.set(DEADLINES_KEY, fingerprint, None)


def check_sla(command: cmd.CheckSla, uow: AbstractUnitOfWork, ctx: Context) -> cmd.Batch:
    """Record every breach level reached since the last check, on at most `command.limit`
    tickets that are due; their notices wait for the tick's digests. `done`: the Breaches."""
    policy, now = ctx.policy, ctx.now
    _recheck_if_deadlines_changed(uow, policy, now)
    found = []
    due = uow.tickets.sla_due(now, command.limit)
    for ticket in due:
        deadlines = policy.deadlines(ticket.intent, ticket.urgent)
        if deadlines is not None and ticket.status in CHECKED_STATUSES:
            accept, resolve = breach_levels(policy, ticket, now)
            for kind, level, known in (
                ("accept", accept, ticket.accept_breach_level),
                ("resolve", resolve, ticket.resolve_breach_level),
            ):
                for new_level in range(known + 1, level + 1):
                    _breach(uow, policy, ticket, kind, new_level, deadlines, now)
                    found.append(Breach(ticket.id, kind, new_level))
        ticket.next_sla_check_at = next_check(policy, ticket)
    return cmd.Batch(sorted(found, key=lambda b: b.ticket), full=len(due) >= command.limit)


def _breach(
    uow: AbstractUnitOfWork,
    policy: Policy,
    ticket: Ticket,
    kind: str,
    level: int,
    deadlines: Deadlines,
    now: datetime,
) -> None:
    limit = deadlines.accept if kind == "accept" else deadlines.resolve
    if kind == "accept":
        ticket.accept_breach_level = level
    else:
        ticket.resolve_breach_level = level
    over = limit if level == 1 else limit * policy.escalate_factor
    record(
        uow,
        ticket,
        "sla_breach",
        "system",
        now,
        msg.SLA_EVENT_DETAIL.format(
            what=msg.SLA_WHAT[kind], hours=human_duration(over), level=level
        ),
        breach=kind,
        level=level,
    )
    uow.tickets.add_sla_notice(
        SlaNotice(
            ticket_id=ticket.id, kind=kind, level=level, staff_id=ticket.assignee_id, created_at=now
        )
    )


# --- digests -----------------------------------------------------------------------------------


@dataclass
class _Item:
    ticket: Ticket
    kind: str
    alone: str  # the sentence when this is the person's only item
    short: str  # the ticket in a list


@dataclass
class _Digest:
    own: dict[str, list[_Item]] = field(default_factory=lambda: defaultdict(list))
    others: list[_Item] = field(default_factory=list)
    escalated: list[_Item] = field(default_factory=list)

    def items(self) -> list[_Item]:
        return [*self.own["accept"], *self.own["resolve"], *self.others, *self.escalated]


def _listed(items: list[_Item], separator: str) -> str:
    shown = separator.join(item.short for item in items[:DIGEST_NUMBERS])
    return shown + (msg.SLA_DIGEST_MORE if len(items) > DIGEST_NUMBERS else "")


def _render(digest: _Digest) -> tuple[str, Ticket | None]:
    """The digest's text, and its ticket when it is about one."""
    items = digest.items()
    if len(items) <= DIGEST_SPELLED_OUT:
        about = {item.ticket.id for item in items}
        return "\n".join(item.alone for item in items), items[0].ticket if len(about) == 1 else None
    lines = [
        msg.SLA_DIGEST_OWN[kind].format(count=len(found), numbers=_listed(found, " "))
        for kind, found in (("accept", digest.own["accept"]), ("resolve", digest.own["resolve"]))
        if found
    ]
    if digest.others:
        lines.append(
            msg.SLA_DIGEST_OTHERS.format(
                count=len(digest.others), items=_listed(digest.others, "、")
            )
        )
    title = msg.SLA_DIGEST_TITLE if lines else ""
    if digest.escalated:
        escalated = msg.SLA_DIGEST_ESCALATED.format(
            count=len(digest.escalated), items=_listed(digest.escalated, "、")
        )
        lines.append(msg.SLA_DIGEST_ESCALATED_TITLE + escalated if lines else escalated)
        title = title or msg.SLA_DIGEST_ESCALATED_TITLE
    tail = msg.SLA_DIGEST_SEE_TASKS if digest.own["accept"] or digest.own["resolve"] else ""
    if len(lines) == 1:
        text = title + lines[0] + ("，" + tail if tail else "。")
    else:
        text = title + "\n" + "\n".join(lines) + ("\n" + tail if tail else "")
    return text, None


def send_sla_digests(
    command: cmd.SendSlaDigests, uow: AbstractUnitOfWork, ctx: Context
) -> dict[str, int]:
    """Queue one message per person for every breach recorded and not yet told.

    The notices are deleted in the same transaction, and the dedupe key names the person and
    the first notice, so nobody hears of one breach twice. Returns {openid: breaches told}.
    """
    policy, now = ctx.policy, ctx.now
    pending = uow.tickets.sla_notices(command.limit)
    if not pending:
        return {}
    first = pending[0][0].id
    pending = sorted(pending, key=lambda row: (row[1].id, row[0].id))
    staff = {member.id: member for member in uow.staff.list()}
    # Each community's liaisons and secretaries (its own, else the site's), read once per tick.
    liaisons: dict[str, list[Staff]] = {}
    secretaries: dict[str, list[str]] = {}
    digests: dict[str, _Digest] = defaultdict(_Digest)
    for notice, ticket in pending:
        deadlines = policy.deadlines(ticket.intent, ticket.urgent)
        if deadlines is None:
            continue
        kind, what = notice.kind, msg.SLA_WHAT[notice.kind]
        limit = deadlines.accept if kind == "accept" else deadlines.resolve
        label = assignee_label(policy, ticket)
        if notice.level == 1:
            assignee = staff.get(notice.staff_id) if notice.staff_id is not None else None
            if assignee is not None and assignee.active and assignee.openid:
                template = msg.NOTIFY_SLA_ACCEPT if kind == "accept" else msg.NOTIFY_SLA_RESOLVE
                digests[assignee.openid].own[kind].append(
                    _Item(
                        ticket,
                        kind,
                        template.format(n=ticket.id, hours=human_duration(limit)),
                        f"#{ticket.id}",
                    )
                )
            item = _Item(
                ticket,
                kind,
                msg.NOTIFY_SLA_LIAISON.format(
                    n=ticket.id, assignee=label, what=what, hours=human_duration(limit)
                ),
                msg.SLA_DIGEST_OTHERS_ITEM.format(n=ticket.id, assignee=label, what=what),
            )
            if ticket.community not in liaisons:
                liaisons[ticket.community] = liaisons_of(uow, policy, ticket.community)
            for liaison in liaisons[ticket.community]:
                if liaison.openid and (assignee is None or liaison.id != assignee.id):
                    digests[liaison.openid].others.append(item)
            continue
        intent_name = msg.INTENT_NAMES.get(ticket.intent, ticket.intent)
        item = _Item(
            ticket,
            kind,
            msg.NOTIFY_SLA_SECRETARY.format(
                n=ticket.id,
                intent_name=intent_name,
                assignee=label,
                what=what,
                hours=human_duration(limit * policy.escalate_factor),
            ),
            msg.SLA_DIGEST_ESCALATED_ITEM.format(n=ticket.id, intent_name=intent_name, what=what),
        )
        if ticket.community not in secretaries:
            secretaries[ticket.community] = secretaries_of(uow, policy, ticket.community)
        for openid in secretaries[ticket.community]:  # the branch secretary
            digests[openid].escalated.append(item)
    told = {}
    for openid, digest in digests.items():
        text, about = _render(digest)
        notify(
            uow,
            openid,
            text,
            now,
            kind="sla",
            ticket=about,
            dedupe_key=f"sla-digest:{openid}:{first}",
        )
        told[openid] = len(digest.items())
    uow.tickets.drop_sla_notices([notice.id for notice, _ in pending])
    return told
