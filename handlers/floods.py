"""Floods: one resident cannot open tickets (or send messages) without limit.

- `conversation.max_new_tickets` per `conversation.ticket_window` (5 per 10 minutes): over it the
  resident hears a polite sentence and no ticket is opened or linked.
- `conversation.max_messages` per `conversation.message_window` (30 a minute): over it the
  message is answered politely and nothing else happens (no NLU, no forwarding). Staff are not
  limited.

The branch liaison gets ONE notice per flood: a key-value row per resident lives as long as the
flood goes on (each refused message keeps it for another window), and its outbox row carries a
dedupe key. Counting happens inside the message's transaction after the resident's row is
locked, so on PostgreSQL a resident's concurrent messages count one after the other and never
all slip under the limit together; WeChat's re-deliveries are answered from the first copy
(handlers/conversation.py) and count once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers import messages as msg
from handlers.notices import notify
from handlers.times import human_duration
from handlers.turn import Turn


def over_ticket_limit(turn: Turn) -> bool:
    """Has this resident opened `conversation.max_new_tickets` in the window already? (No
    side effects: the refusal and the liaison's notice are refuse_new_ticket's.)"""
    since = turn.now - turn.policy.ticket_window
    return turn.uow.tickets.opened_by_since(turn.resident.id, since) >= turn.policy.max_new_tickets


def refuse_new_ticket(turn: Turn) -> str | None:
    """The polite refusal when this resident has opened too many tickets lately, else None."""
    policy, uow = turn.policy, turn.uow
    uow.residents.lock(turn.resident.id)
    since = turn.now - policy.ticket_window
    opened = uow.tickets.opened_by_since(turn.resident.id, since)
    if opened < policy.max_new_tickets:
        return None
    _tell_liaison_once(turn, policy.ticket_window)
    return msg.TOO_MANY_TICKETS.format(window=human_duration(policy.ticket_window), count=opened)


def refuse_message(turn: Turn) -> str | None:
    """The polite reply when this resident sends too many messages, else None (staff: None)."""
    policy, uow = turn.policy, turn.uow
    since = turn.now - policy.message_window
    if uow.inbound.count_since(turn.resident.openid, since) <= policy.max_messages:
        return None
    if turn.staff is not None:  # asked only now: most messages are from residents, under it
        return None
    uow.residents.lock(turn.resident.id)
    _tell_liaison_once(turn, max(policy.message_window, policy.ticket_window))
    return msg.TOO_MANY_MESSAGES.format(window=human_duration(policy.message_window))


def _tell_liaison_once(turn: Turn, window: timedelta) -> None:
    """One notice to the branch liaison per flood; the flood lasts while refusals keep coming."""
    uow, now = turn.uow, turn.now
    key = f"flood:{turn.resident.id}"
    started = uow.values.get(key, now)
    uow.values.set(key, started or now.isoformat(), now + window)
    if started is not None:
        return  # this flood was reported already
    liaison = uow.staff.least_loaded(turn.policy.fallback_role, turn.resident.community)
    if liaison is None or not liaison.openid:
        return
    latest = uow.tickets.list(resident_id=turn.resident.id, newest_first=True, limit=1)
    notify(
        uow,
        liaison.openid,
        msg.NOTIFY_FLOOD.format(
            who=_who(turn),
            window=human_duration(window),
            latest=f"#{latest[0].id}" if latest else msg.FLOOD_NO_TICKET,
        ),
        now,
        kind="flood",
        dedupe_key=f"flood:{turn.resident.id}:{_stamp(now)}",
    )


def _who(turn: Turn) -> str:
    resident = turn.resident
    return f"{resident.room or ''}（编号{resident.id}）"


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%d%H%M%S")
