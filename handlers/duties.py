"""The scheduler's periodic duties, each in its own transaction. The database says what is due."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from handlers.community import send_event_reminders
from handlers.followup import expire_visits, send_due_visits
from handlers.ports import Deps
from handlers.sla import check_sla
from handlers.summary import already_sent, send_weekly_summary, week_of

log = logging.getLogger(__name__)


def run_due(deps: Deps) -> dict[str, Any]:
    """Send due visits, expire silent ones, notify SLA breaches — whatever is due right now.

    Returns the ticket numbers each duty acted on: {"visits": [...], "expired": [...],
    "sla": [(number, "accept"|"resolve", level), ...]}.
    """
    result: dict[str, Any] = {}
    for name, duty in (
        ("visits", send_due_visits),
        ("expired", expire_visits),
        ("event_reminders", send_event_reminders),
    ):
        with deps.uow_factory() as uow:
            result[name] = duty(uow, deps.policy, deps.clock.now())
            uow.commit()
    with deps.uow_factory() as uow:
        breaches = check_sla(uow, deps.policy, deps.clock.now())
        uow.commit()
    result["sla"] = [(b.ticket, b.kind, b.level) for b in breaches]
    if any(result.values()):
        log.info("duties: %s", result)
    return result


def send_summary_if_due(deps: Deps, scheduled_at: datetime) -> str | None:
    """Queue the summary of the week before `scheduled_at` unless it went out already.

    Returns the week label when it was queued now, None when it had been already.
    """
    now = deps.clock.now()
    week = week_of(None, scheduled_at, deps.policy.timezone)
    with deps.uow_factory() as uow:
        if already_sent(uow, week.label, now):
            return None
    send_weekly_summary(deps, now, week.label)
    log.info(
        "weekly summary %s queued for %d recipient(s)",
        week.label,
        len(deps.policy.summary_recipients),
    )
    return week.label
