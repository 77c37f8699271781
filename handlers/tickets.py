"""Ticket services: open, assign, accept, resolve, transfer, cancel, close, note, reopen, and
what a resident adds to their ticket (补充, answers to staff, a corrected place).

Every status change goes through handlers.lifecycle.transition (the table, the time stamps, the
audit event). The command handlers at the bottom serve staff in chat and operators on the
dashboard alike: (command, unit of work, Context).
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from handlers import commands as cmd
from handlers import communities
from handlers import messages as msg
from handlers.errors import Invalid, NotAllowed, NotFound
from handlers.keywords import mask_phone, mask_phones_in
from handlers.lifecycle import is_active, record, set_followup, status_name, transition
from handlers.masking import mask_personal
from handlers.notices import notify, residents_of, tell_residents
from handlers.ports import Context, Policy
from handlers.summary import forget_kept_week
from nlu.places import building_of, same_place
from storage.models import Resident, Staff, Ticket, TicketFollower
from storage.states import (
    ACTIVE_STATUSES,
    DEFAULT_COMMUNITY,
    SENSITIVE_INTENTS,
    FollowUpState,
    TicketStatus,
)
from storage.uow import AbstractUnitOfWork

# Opening the same ticket's page again within this time does not add another "viewed" line.
VIEW_QUIET = timedelta(minutes=10)


def staff_actor(staff: Staff) -> str:
    return cmd.Actor.staff(staff.id, staff.name).label


def resident_actor(resident: Resident) -> str:
    return cmd.Actor("resident", resident.id).label


def assignee_label(policy: Policy, ticket: Ticket) -> str:
    """ "物业管家张师傅" or just the role name when nobody is assigned."""
    name = ticket.assignee.name if ticket.assignee else ""
    return msg.ASSIGNEE.format(role=policy.role_name(ticket.role), name=name)


def task_text(template: str, policy: Policy, ticket: Ticket, **extra: str) -> str:
    """A staff notification with the ticket's text, location and masked phone."""
    return template.format(
        n=ticket.id,
        urgent="【紧急】" if ticket.urgent else "",
        intent_name=msg.INTENT_NAMES.get(ticket.intent, ticket.intent),
        text=mask_phones_in(ticket.text),
        location=ticket.location or "未填",
        phone=mask_phone(ticket.phone),
        **extra,
    )


def pick_assignee(
    uow: AbstractUnitOfWork, policy: Policy, role: str, community: str | None = None
) -> tuple[str, Staff | None]:
    """The least-loaded staff member of `role`, else of the fallback role (branch liaison).

    In a `community`: its own staff of the role, else the site-wide pool's (never another
    community's); then the same for the branch liaison."""
    staff = uow.staff.least_loaded(role, community)
    if staff is None and role != policy.fallback_role:
        fallback = uow.staff.least_loaded(policy.fallback_role, community)
        if fallback is not None:
            return policy.fallback_role, fallback
    return role, staff


def assign_ticket(
    uow: AbstractUnitOfWork,
    ctx: Context,
    ticket: Ticket,
    role: str,
    actor: str = "system",
    template: str = msg.NOTIFY_NEW_TASK,
    notify_assignee: bool = True,
    keep_status: bool = False,
    extra: str = "",
) -> None:
    """Give the ticket to the least-loaded staff of `role` and tell them; unassigned stays open.

    With nobody on duty in `role`, the branch liaison takes it, and the notice says why (so does
    the trail: the "assigned" event carries `wanted_role`).
    `keep_status`: a reopened ticket handed to a colleague stays reopened.
    """
    policy = ctx.policy
    chosen_role, staff = pick_assignee(uow, policy, role, ticket.community)
    ticket.role = chosen_role
    ticket.assignee_id = staff.id if staff else None
    ticket.assignee = staff
    if staff is None:
        transition(
            uow,
            ticket,
            TicketStatus.OPEN,
            actor,
            ctx.now,
            f"{policy.role_name(role)}暂无在岗人员",
            event="unassigned",
        )
        return
    fell_back = chosen_role != role
    transition(
        uow,
        ticket,
        TicketStatus(ticket.status) if keep_status else TicketStatus.ASSIGNED,
        actor,
        ctx.now,
        f"{policy.role_name(chosen_role)}{staff.name}",
        event="assigned",
        role=chosen_role,
        staff_id=staff.id,
        **({"wanted_role": role} if fell_back else {}),
    )
    if notify_assignee:
        tag, why_pool = communities.notice_lines(uow, policy, ticket, staff)
        text = tag + task_text(template, policy, ticket) + extra
        if fell_back:
            text += msg.NOTIFY_FALLBACK_REASON.format(wanted=policy.role_name(role))
        text += why_pool
        notify(uow, staff.openid, text, ctx.now, ticket=ticket)


def handoff_sentence(policy: Policy, ticket: Ticket, wanted_role: str | None) -> str:
    """What staff and operators are told after a transfer to `wanted_role`: to whom it went,
    and, when nobody in that role is on duty, that the branch liaison has it first."""
    wanted = policy.role_name(wanted_role or ticket.role)
    if ticket.assignee is None:
        return msg.TRANSFERRED_NOBODY.format(n=ticket.id, wanted=wanted)
    if wanted_role is not None and ticket.role != wanted_role:
        return msg.TRANSFERRED_FALLBACK.format(
            n=ticket.id, wanted=wanted, assignee=assignee_label(policy, ticket)
        )
    return msg.TRANSFERRED.format(n=ticket.id, assignee=assignee_label(policy, ticket))


def open_ticket(
    uow: AbstractUnitOfWork,
    ctx: Context,
    resident: Resident,
    *,
    intent: str,
    text: str,
    location: str | None = None,
    phone: str | None = None,
    urgent: bool = False,
    confidence: float | None = None,
    template: str = msg.NOTIFY_NEW_TASK,
    community: str | None = None,
) -> Ticket:
    """Create ticket #n, record it and hand it to the right role (its staff get `template`).

    `community`: where it belongs (handlers/communities.py decides); None: where the resident
    is known to live, else the site's default."""
    policy = ctx.policy
    ticket = Ticket(
        id=uow.tickets.next_number(),
        intent=intent,
        urgent=urgent,
        role=policy.role_for(intent, urgent),
        resident_id=resident.id,
        resident=resident,
        text=text[:2000],
        location=location,
        # A sensitive case is about a person: it is never grouped by building.
        building=None if intent in SENSITIVE_INTENTS else building_of(location),
        phone=phone or resident.phone,
        community=community or resident.community or DEFAULT_COMMUNITY,
        confidence=confidence,
        created_at=ctx.now,
        followup_state=FollowUpState.NONE,
        accept_breach_level=0,
        resolve_breach_level=0,
    )
    transition(
        uow,
        ticket,
        TicketStatus.OPEN,
        resident_actor(resident),
        ctx.now,
        text[:200],
        intent=intent,
        urgent=urgent,
    )
    uow.tickets.add(ticket)
    assign_ticket(uow, ctx, ticket, ticket.role, template=template)
    inform_roles(uow, ctx, ticket)
    return ticket


def informed_on_duty(
    uow: AbstractUnitOfWork, policy: Policy, ticket: Ticket
) -> list[tuple[str, Staff]]:
    """The roles `inform:` names for this ticket's intent that somebody on duty (not its
    assignee) can hear it in, with who that is."""
    found = []
    for role in policy.informed_roles(ticket.intent):
        staff = uow.staff.least_loaded(role, ticket.community)
        if staff is not None and staff.id != ticket.assignee_id:
            found.append((role, staff))
    return found


def inform_roles(uow: AbstractUnitOfWork, ctx: Context, ticket: Ticket) -> None:
    """Tell the roles `inform:` names for this intent (a hazard: the grid worker) about a new
    ticket, for their information; they do not take it. Once per ticket and role."""
    for role, staff in informed_on_duty(uow, ctx.policy, ticket):
        notify(
            uow,
            staff.openid,
            task_text(
                msg.NOTIFY_INFORMED,
                ctx.policy,
                ticket,
                assignee=assignee_label(ctx.policy, ticket),
            ),
            ctx.now,
            ticket=ticket,
            dedupe_key=f"inform:{ticket.id}:{role}",
        )


# --- duplicates ------------------------------------------------------------------------------

# Characters that say nothing about *what* is broken; bigrams made only of them are ignored.
_FILLER = set("的了吗呢啊呀吧哦嘛坏掉不没有是我你他她它们这那个在也又还都就很太好请帮快来修一下")


def problem_bigrams(text: str, location: str | None = None) -> set[str]:
    """The character pairs of `text` that say what the problem is (not the place, not filler)."""
    text = text.replace(location, " ") if location else text
    chars = [c if not c.isspace() and c.isalnum() else " " for c in text.lower()]
    return {
        a + b
        for a, b in itertools.pairwise(chars)
        if a != " " and b != " " and not (a in _FILLER and b in _FILLER) and not (a + b).isdigit()
    }


def same_problem(
    first: str, second: str, location: str | None, second_location: str | None = None
) -> bool:
    """Do two descriptions at one place name the same thing? ("电梯坏了" ~ "电梯卡在三楼了").

    `second_location` is where the second was reported, when written differently.
    """
    a = problem_bigrams(first, location)
    b = problem_bigrams(second, location if second_location is None else second_location)
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= 0.5


def find_duplicate(
    uow: AbstractUnitOfWork,
    intent: str,
    location: str,
    text: str,
    community: str = DEFAULT_COMMUNITY,
) -> Ticket | None:
    """The open ticket that already covers this report: same intent, same spot, same problem.

    The spot is nlu.places.same_place: when both reports name a room, the same room ("1栋40号房"
    and "1栋12号房" are two tickets); otherwise the same building and a public facility both
    name ("3栋楼道灯坏了", "三栋走廊的灯不亮"). A place with no building (a WeChat location
    pin's label) matches only the same place, written the same way. Only tickets of the same
    `community` count: "1栋" of two communities are two buildings.
    """
    building = building_of(location)
    if building is None:
        candidates = uow.tickets.active_at(intent, location, community)
        return next((t for t in candidates if same_problem(t.text, text, location)), None)
    for ticket in uow.tickets.list(
        status=ACTIVE_STATUSES, intent=intent, building=building, community=community
    ):
        if same_place(ticket.location, location, ticket.text, text) and same_problem(
            ticket.text, text, ticket.location, location
        ):
            return ticket
    return None


def link_duplicate(
    uow: AbstractUnitOfWork, ctx: Context, ticket: Ticket, resident: Resident, text: str
) -> None:
    """Add a resident who reports the same problem as a follower of the open ticket."""
    if resident.id != ticket.resident_id:
        uow.tickets.add_follower(
            TicketFollower(ticket_id=ticket.id, resident_id=resident.id, created_at=ctx.now)
        )
    record(uow, ticket, "duplicate_report", resident_actor(resident), ctx.now, text[:200])
    if ticket.assignee:
        notify(
            uow,
            ticket.assignee.openid,
            msg.NOTIFY_LINKED.format(n=ticket.id, location=ticket.location or ""),
            ctx.now,
            ticket=ticket,
        )


# --- who may act -----------------------------------------------------------------------------


def can_act(policy: Policy, staff: Staff, ticket: Ticket) -> bool:
    """Only the assignee or the branch liaison (of the ticket's community, or site-wide) may act
    on a ticket."""
    return ticket.assignee_id == staff.id or (
        staff.role == policy.fallback_role and communities.serves(staff, ticket)
    )


def _ticket(uow: AbstractUnitOfWork, number: int, actor: cmd.Actor | None = None) -> Ticket:
    """Ticket #number; NotFound when there is none, or when `actor` is an operator limited to
    another community (for them it is not there)."""
    ticket = uow.tickets.get(number)
    if ticket is None or not communities.visible_to(actor, ticket):
        raise NotFound(msg.NO_SUCH_TICKET.format(n=number))
    return ticket


def _acting_staff(uow: AbstractUnitOfWork, actor: cmd.Actor) -> Staff | None:
    """The staff member behind a staff actor (None for operators and the system)."""
    if actor.kind != "staff" or actor.id is None:
        return None
    staff = uow.staff.get(actor.id)
    if staff is None or not staff.active:
        raise NotAllowed(msg.STAFF_ONLY)
    return staff


def _seen_by(uow: AbstractUnitOfWork, actor: cmd.Actor, number: int) -> tuple[Ticket, Staff | None]:
    """Ticket #number and the staff member acting on it. Another community's ticket is "not
    found" for its staff (its assignee, a site-wide pool member, sees it) and for an operator
    limited to one community: they never see it."""
    ticket = _ticket(uow, number, actor)
    staff = _acting_staff(uow, actor)
    if (
        staff is not None
        and ticket.assignee_id != staff.id
        and not communities.serves(staff, ticket)
    ):
        raise NotFound(msg.NO_SUCH_TICKET.format(n=number))
    return ticket, staff


def _ticket_for(
    uow: AbstractUnitOfWork, policy: Policy, actor: cmd.Actor, number: int
) -> tuple[Ticket, Staff | None]:
    """The ticket, if this actor may act on it: operators always; staff when it is theirs, they
    are the branch liaison, or it waits unassigned for their role."""
    ticket, staff = _seen_by(uow, actor, number)
    if (
        staff is not None
        and not can_act(policy, staff, ticket)
        and not (ticket.assignee_id is None and ticket.role == staff.role)
    ):
        raise NotAllowed(msg.NOT_ASSIGNEE.format(n=number))
    return ticket, staff


def _require_active(ticket: Ticket) -> None:
    """Staff and operators act only on tickets that still need work."""
    if not is_active(ticket):
        raise Invalid(msg.WRONG_STATE.format(n=ticket.id, status=status_name(ticket.status)))


def _take_over(ticket: Ticket, staff: Staff | None) -> None:
    """The branch liaison (or a same-role colleague on an unassigned ticket) acts: it becomes theirs."""
    if staff is not None and ticket.assignee_id != staff.id:
        ticket.assignee_id, ticket.assignee, ticket.role = staff.id, staff, staff.role


# --- commands --------------------------------------------------------------------------------


def accept(command: cmd.AcceptTicket, uow: AbstractUnitOfWork, ctx: Context) -> Ticket:
    """`接单 n`: staff takes the ticket; the resident hears who is on it."""
    ticket, staff = _ticket_for(uow, ctx.policy, command.actor, command.number)
    if (
        ticket.status == TicketStatus.ACCEPTED
        and staff is not None
        and ticket.assignee_id == staff.id
    ):
        raise Invalid(msg.ALREADY_ACCEPTED.format(n=command.number))
    _require_active(ticket)
    _take_over(ticket, staff)
    transition(uow, ticket, TicketStatus.ACCEPTED, command.actor.label, ctx.now)
    tell_residents(
        uow,
        ticket,
        msg.NOTIFY_ACCEPTED.format(n=ticket.id, assignee=assignee_label(ctx.policy, ticket)),
        ctx.now,
    )
    return ticket


def resolve(command: cmd.ResolveTicket, uow: AbstractUnitOfWork, ctx: Context) -> Ticket:
    """`完成 n 说明`: staff finishes the ticket; the visit becomes due after `followup_delay`."""
    ticket, staff = _ticket_for(uow, ctx.policy, command.actor, command.number)
    note = command.note.strip()
    if not note:
        raise Invalid(msg.NEED_NOTE.format(n=command.number))
    _require_active(ticket)
    _take_over(ticket, staff)
    ticket.resolution = note[:1000]
    transition(uow, ticket, TicketStatus.RESOLVED, command.actor.label, ctx.now, ticket.resolution)
    set_followup(ticket, FollowUpState.DUE, due_at=ctx.now + ctx.policy.followup_delay)
    tell_residents(
        uow, ticket, msg.NOTIFY_RESOLVED.format(n=ticket.id, note=ticket.resolution), ctx.now
    )
    return ticket


def transfer(command: cmd.TransferTicket, uow: AbstractUnitOfWork, ctx: Context) -> Ticket:
    """`转派 n 岗位`: hand the ticket to another role; its least-loaded staff member is told."""
    policy = ctx.policy
    ticket, _staff = _ticket_for(uow, policy, command.actor, command.number)
    roles = "、".join(policy.role_names.values())
    if not command.role.strip():
        raise Invalid(msg.TRANSFER_CHOOSE_ROLE.format(n=ticket.id, roles=roles))
    role = policy.role_from_text(command.role)
    if role is None:
        raise Invalid(msg.TRANSFER_UNKNOWN_ROLE.format(role=command.role.strip(), roles=roles))
    _require_active(ticket)
    _refuse_same_hands(uow, policy, ticket, role)
    actor = command.actor.label
    previous = assignee_label(policy, ticket)
    record(
        uow,
        ticket,
        "transferred",
        actor,
        ctx.now,
        f"{previous} → {policy.role_name(role)}",
        role=role,
    )
    assign_ticket(
        uow,
        ctx,
        ticket,
        role,
        actor=actor,
        template=msg.NOTIFY_TRANSFERRED_TASK,
        extra=additions(uow, ticket),
    )
    if ticket.assignee is None:  # nobody on duty, not even the branch liaison: say so
        told = msg.NOTIFY_TRANSFERRED_WAITING.format(n=ticket.id, wanted=policy.role_name(role))
    else:
        told = msg.NOTIFY_TRANSFERRED.format(n=ticket.id, assignee=assignee_label(policy, ticket))
    tell_residents(uow, ticket, told, ctx.now)
    return ticket


def _refuse_same_hands(uow: AbstractUnitOfWork, policy: Policy, ticket: Ticket, role: str) -> None:
    """A transfer that would leave the ticket where it is (same role, same person, or still
    nobody) is refused before anything is written: nobody is told of a move that is none."""
    chosen_role, staff = pick_assignee(uow, policy, role, ticket.community)
    if chosen_role != ticket.role or (staff.id if staff else None) != ticket.assignee_id:
        return
    if ticket.assignee is None:
        raise Invalid(msg.TRANSFER_SAME_WAITING.format(n=ticket.id, role=policy.role_name(role)))
    raise Invalid(msg.TRANSFER_SAME.format(n=ticket.id, assignee=assignee_label(policy, ticket)))


# What residents added to a ticket (补充, answers to staff, chasing it): the newest few go with
# the ticket to a new assignee.
ADDITION_EVENTS = ("resident_added", "resident_reply")
_ADDITIONS_SHOWN = 3
_ADDITION_WIDTH = 100


def additions(uow: AbstractUnitOfWork, ticket: Ticket) -> str:
    """The lines a new assignee's notice adds: what residents said about the ticket since it
    was opened (masked), or ""."""
    events = uow.tickets.events(ticket.id)
    said = [e.detail for e in events if e.kind in ADDITION_EVENTS and e.detail][-_ADDITIONS_SHOWN:]
    if not said:
        return ""
    lines = "\n".join(
        msg.TASK_ADDITION_LINE.format(text=mask_personal(text or "")[:_ADDITION_WIDTH])
        for text in said
    )
    return msg.TASK_ADDITIONS.format(lines=lines)


def task_template(ticket: Ticket) -> str:
    """The notice a ticket's first assignee gets: a 人工 ticket has its own."""
    return msg.NOTIFY_HUMAN_TASK if ticket.intent == "ask_human" else msg.NOTIFY_NEW_TASK


def assign_waiting(uow: AbstractUnitOfWork, ctx: Context) -> list[int]:
    """Tickets that wait unassigned because nobody was on duty go to whoever is now (the
    least-loaded of their role, else the branch liaison), oldest first; the new assignee gets
    the usual task notice, the residents hear who has it. Returns the ticket numbers."""
    policy, assigned = ctx.policy, []
    for ticket in uow.tickets.waiting_unassigned():
        _role, staff = pick_assignee(uow, policy, ticket.role, ticket.community)
        if staff is None:
            continue  # still nobody: nothing is written
        assign_ticket(
            uow,
            ctx,
            ticket,
            ticket.role,
            template=task_template(ticket),
            extra=additions(uow, ticket),
        )
        tell_residents(
            uow,
            ticket,
            msg.NOTIFY_ASSIGNED_LATER.format(n=ticket.id, assignee=assignee_label(policy, ticket)),
            ctx.now,
        )
        assigned.append(ticket.id)
    return assigned


def assign_waiting_duty(
    _: cmd.AssignWaitingTickets, uow: AbstractUnitOfWork, ctx: Context
) -> list[int]:
    """The scheduler's duty: waiting tickets go to whoever is on duty (see assign_waiting)."""
    return assign_waiting(uow, ctx)


def add_note(command: cmd.AddNote, uow: AbstractUnitOfWork, ctx: Context) -> Ticket:
    """`备注 n 内容`: a note in the audit trail."""
    ticket, _staff = _ticket_for(uow, ctx.policy, command.actor, command.number)
    text = command.text.strip()
    if not text:
        raise Invalid(msg.NOTE_EMPTY.format(n=command.number))
    record(uow, ticket, "note", command.actor.label, ctx.now, text[:1000])
    return ticket


def record_view(command: cmd.RecordView, uow: AbstractUnitOfWork, ctx: Context) -> Ticket:
    """An operator opened the ticket's page (the conversation, the resident's words): into its
    trail, once per `VIEW_QUIET` per operator. Anything the operator wrote into the trail in
    that time counts as a look too, so reloading the page, or coming back to it after acting
    on it, does not flood the trail with "viewed" lines."""
    ticket = _ticket(uow, command.number, command.actor)
    actor = command.actor.label
    since = ctx.now - VIEW_QUIET
    if any(e.actor == actor and e.at > since for e in uow.tickets.events(ticket.id)):
        return ticket
    record(uow, ticket, "viewed", actor, ctx.now)
    return ticket


def _tell_the_end(
    uow: AbstractUnitOfWork,
    ctx: Context,
    ticket: Ticket,
    staff: Staff | None,
    templates: tuple[str, str],
    reason: str,
) -> None:
    """Tell the resident (and followers) and the assignee that an operator ended the ticket."""
    to_resident, to_staff = templates
    who = _sender_label(ctx.policy, staff)
    tell_residents(uow, ticket, to_resident.format(n=ticket.id, who=who, reason=reason), ctx.now)
    assignee = ticket.assignee
    if assignee is not None and assignee.active and (staff is None or assignee.id != staff.id):
        notify(
            uow,
            assignee.openid,
            to_staff.format(n=ticket.id, who=who, reason=reason),
            ctx.now,
            ticket=ticket,
        )


def close(command: cmd.CloseTicket, uow: AbstractUnitOfWork, ctx: Context) -> Ticket:
    """结单 from the dashboard: an active or resolved ticket is closed with a reason (no visit
    follows); the trail records the reason and who closed it."""
    reason = command.reason.strip()[:500]
    if not reason:
        raise Invalid(msg.CLOSE_NEED_REASON)
    ticket, staff = _ticket_for(uow, ctx.policy, command.actor, command.number)
    transition(uow, ticket, TicketStatus.CLOSED, command.actor.label, ctx.now, reason)
    if ticket.followup_state == FollowUpState.DUE:
        set_followup(ticket, FollowUpState.SKIPPED)
    _tell_the_end(
        uow,
        ctx,
        ticket,
        staff,
        (msg.NOTIFY_CLOSED_BY_OPERATOR, msg.NOTIFY_STAFF_CLOSED),
        reason,
    )
    return ticket


def cancel(command: cmd.CancelTicket, uow: AbstractUnitOfWork, ctx: Context) -> Ticket:
    """取消 from the dashboard: an active ticket is cancelled with a reason; the trail records
    the reason and who cancelled it."""
    reason = command.reason.strip()[:500]
    if not reason:
        raise Invalid(msg.CANCEL_NEED_REASON)
    ticket, staff = _ticket_for(uow, ctx.policy, command.actor, command.number)
    if not is_active(ticket):
        raise Invalid(msg.CANNOT_CANCEL_DONE.format(n=ticket.id, status=status_name(ticket.status)))
    transition(uow, ticket, TicketStatus.CANCELLED, command.actor.label, ctx.now, reason)
    _tell_the_end(
        uow,
        ctx,
        ticket,
        staff,
        (msg.NOTIFY_CANCELLED_BY_OPERATOR, msg.NOTIFY_STAFF_CANCELLED),
        reason,
    )
    return ticket


def _talking_about(
    uow: AbstractUnitOfWork, policy: Policy, actor: cmd.Actor, number: int, refusal: str
) -> tuple[Ticket, Staff | None]:
    """The ticket staff may talk to (or call) its resident about: its assignee or the branch
    liaison (operators always); never a closed or cancelled one."""
    ticket, staff = _seen_by(uow, actor, number)
    if staff is not None and not can_act(policy, staff, ticket):
        raise NotAllowed(refusal.format(n=number))
    if ticket.status in (TicketStatus.CLOSED, TicketStatus.CANCELLED):
        raise Invalid(msg.REPLY_CLOSED.format(n=number, status=status_name(ticket.status)))
    return ticket, staff


def _sender_label(policy: Policy, staff: Staff | None) -> str:
    if staff is None:
        return msg.REPLY_SENDER_OPERATOR
    return msg.ASSIGNEE.format(role=policy.role_name(staff.role), name=staff.name)


def reply_to_resident(
    command: cmd.ReplyToResident, uow: AbstractUnitOfWork, ctx: Context
) -> Ticket:
    """`回复 n 内容`: the text goes to the resident of #n (and followers) through the outbox,
    prefixed with the ticket and who writes; the resident's answers within
    `conversation.reply_window` come back to the assignee."""
    policy = ctx.policy
    text = command.text.strip()
    if not text:
        raise Invalid(msg.REPLY_EMPTY.format(n=command.number))
    ticket, staff = _talking_about(
        uow, policy, command.actor, command.number, msg.REPLY_NOT_ALLOWED
    )
    if ticket.resident is None or ticket.resident.erased_at is not None:
        raise NotFound(msg.REPLY_NO_RESIDENT.format(n=ticket.id))
    body = msg.REPLY_TO_RESIDENT.format(n=ticket.id, sender=_sender_label(policy, staff), text=text)
    tell_residents(uow, ticket, body, ctx.now, kind="reply")
    record(uow, ticket, "staff_reply", command.actor.label, ctx.now, text[:1000])
    ticket.staff_messaged_at = ctx.now
    return ticket


def show_phone(command: cmd.ShowPhone, uow: AbstractUnitOfWork, ctx: Context) -> str | None:
    """`电话 n`: the resident's full phone for the assignee or the branch liaison (operators on
    the ticket page); who looked, and when, goes into the trail. None: no phone was given."""
    ticket, _staff = _talking_about(
        uow, ctx.policy, command.actor, command.number, msg.PHONE_NOT_ALLOWED
    )
    phone = ticket.phone or (ticket.resident.phone if ticket.resident else None)
    if not phone:
        return None
    record(uow, ticket, "phone_viewed", command.actor.label, ctx.now)
    return phone


def cancel_ticket(uow: AbstractUnitOfWork, ctx: Context, resident: Resident, number: int) -> Ticket:
    """The resident cancels their own active ticket; the assignee is told."""
    ticket = uow.tickets.get(number)
    if ticket is None or ticket.resident_id != resident.id:
        raise NotFound(msg.NOT_YOUR_TICKET.format(n=number))
    if not is_active(ticket):
        raise Invalid(msg.CANNOT_CANCEL.format(n=number, status=status_name(ticket.status)))
    transition(uow, ticket, TicketStatus.CANCELLED, resident_actor(resident), ctx.now)
    if ticket.assignee:
        notify(
            uow,
            ticket.assignee.openid,
            msg.NOTIFY_TICKET_CANCELLED.format(n=ticket.id),
            ctx.now,
            ticket=ticket,
        )
    return ticket


def reopen_ticket(
    uow: AbstractUnitOfWork,
    ctx: Context,
    ticket: Ticket,
    reason: str,
    actor: str,
    tell_owner: bool = True,
) -> Ticket:
    """Back to the assignee (or the role's least-loaded staff) after a low rating or "not fixed".

    `tell_owner`: False when the owner reopened it in chat and the reply already says so (the
    followers are told all the same)."""
    policy = ctx.policy
    transition(uow, ticket, TicketStatus.REOPENED, actor, ctx.now, reason)
    staff = ticket.assignee if ticket.assignee and ticket.assignee.active else None
    if staff is None:  # the assignee has left: the role's least-loaded colleague takes it
        assign_ticket(
            uow, ctx, ticket, ticket.role, actor="system", notify_assignee=False, keep_status=True
        )
        staff = ticket.assignee
    if staff is not None:
        notify(
            uow,
            staff.openid,
            task_text(msg.NOTIFY_REOPENED_TASK, policy, ticket, reason=reason),
            ctx.now,
            ticket=ticket,
        )
    told = msg.NOTIFY_REOPENED.format(n=ticket.id, assignee=assignee_label(policy, ticket))
    for openid in residents_of(uow, ticket):
        if tell_owner or ticket.resident is None or openid != ticket.resident.openid:
            notify(uow, openid, told, ctx.now, ticket=ticket)
    return ticket


# --- what residents add to their own tickets -------------------------------------------------


def _residents_ticket(uow: AbstractUnitOfWork, resident: Resident, number: int) -> Ticket:
    """The resident's own ticket #number (or one they follow); anyone else's is "not found"."""
    ticket = uow.tickets.get(number)
    if ticket is None or (
        ticket.resident_id != resident.id
        and resident.id not in {r.id for r in uow.tickets.followers(number)}
    ):
        raise NotFound(msg.NOT_YOUR_TICKET.format(n=number))
    return ticket


def _acting_resident(uow: AbstractUnitOfWork, actor: cmd.Actor) -> Resident:
    resident = uow.residents.get(actor.id) if actor.kind == "resident" and actor.id else None
    if resident is None or resident.erased_at is not None:
        raise NotAllowed(msg.STAFF_ONLY)
    return resident


def forward_to_staff(
    uow: AbstractUnitOfWork,
    ctx: Context,
    ticket: Ticket,
    resident: Resident,
    text: str,
    template: str = msg.NOTIFY_RESIDENT_REPLY,
    event: str = "resident_reply",
) -> Staff | None:
    """The resident's words reach the ticket's assignee (the branch liaison when nobody has it),
    masked, and go into the trail as `event` ("resident_reply": an answer to staff,
    "resident_added": 补充 or chasing it). Returns who was told (None: nobody is on duty)."""
    staff = ticket.assignee if ticket.assignee and ticket.assignee.active else None
    staff = staff or uow.staff.least_loaded(ctx.policy.fallback_role, ticket.community)
    record(uow, ticket, event, resident_actor(resident), ctx.now, text[:1000])
    if staff is not None and staff.openid:
        body = template.format(n=ticket.id, text=mask_personal(text))
        notify(uow, staff.openid, body, ctx.now, ticket=ticket, kind="resident_reply")
        return staff
    return None


def passed_on(policy: Policy, ticket: Ticket, staff: Staff | None) -> str:
    """What the resident hears after their words were forwarded."""
    if staff is None:
        return msg.PASSED_ON_NOBODY.format(n=ticket.id)
    who = msg.ASSIGNEE.format(role=policy.role_name(staff.role), name=staff.name)
    return msg.PASSED_ON.format(n=ticket.id, assignee=who)


def add_to_ticket(command: cmd.AddToTicket, uow: AbstractUnitOfWork, ctx: Context) -> str:
    """`补充 n 内容`: at any time, the resident adds to their own open ticket; it reaches the
    assignee and the trail. Someone else's, a closed or a cancelled ticket: refused, nothing sent."""
    resident = _acting_resident(uow, command.actor)
    ticket = _residents_ticket(uow, resident, command.number)
    if ticket.status in (TicketStatus.CLOSED, TicketStatus.CANCELLED):
        raise Invalid(msg.ADD_CLOSED.format(n=ticket.id, status=status_name(ticket.status)))
    text = command.text.strip()
    if not text:
        raise Invalid(msg.ADD_EMPTY.format(n=ticket.id))
    staff = forward_to_staff(
        uow, ctx, ticket, resident, text, msg.NOTIFY_RESIDENT_ADDED, event="resident_added"
    )
    return passed_on(ctx.policy, ticket, staff)


def correct_location(command: cmd.CorrectLocation, uow: AbstractUnitOfWork, ctx: Context) -> str:
    """The resident says where their ticket really is: the place (and building) change, the
    trail says from what to what, and the assignee is told."""
    resident = _acting_resident(uow, command.actor)
    ticket = _residents_ticket(uow, resident, command.number)
    if ticket.resident_id != resident.id:
        raise NotFound(msg.NOT_YOUR_TICKET.format(n=command.number))
    _require_active(ticket)
    location = command.location.strip()[:64]
    if not location:
        raise Invalid(msg.ASK_LOCATION)
    old = ticket.location
    if old and same_place(old, location):
        return msg.LOCATION_UNCHANGED.format(n=ticket.id, location=old)
    building = None if ticket.intent in SENSITIVE_INTENTS else building_of(location)
    if building != ticket.building:  # the week's kept figures counted it in the old building
        forget_kept_week(uow, ctx.policy, ticket.created_at, [ticket.community])
    ticket.location, ticket.building = location, building
    record(
        uow,
        ticket,
        "location_corrected",
        resident_actor(resident),
        ctx.now,
        f"{old or '未填'} → {location}",
        old=old,
        new=location,
    )
    staff = ticket.assignee if ticket.assignee and ticket.assignee.active else None
    if staff is None or not staff.openid:
        return msg.LOCATION_CORRECTED_NOBODY.format(n=ticket.id, location=location)
    notify(
        uow,
        staff.openid,
        msg.NOTIFY_LOCATION_CORRECTED.format(n=ticket.id, location=location, old=old or "未填"),
        ctx.now,
        ticket=ticket,
    )
    return msg.LOCATION_CORRECTED.format(
        n=ticket.id, location=location, assignee=assignee_label(ctx.policy, ticket)
    )
