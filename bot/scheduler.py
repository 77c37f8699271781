"""APScheduler wiring. Jobs are module-level functions of a plain key; the database says what is due,
so a restart or a missed tick loses nothing, and a lease keeps a second scheduler idle."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.bootstrap import Sheli
from bot.outbox import deliver_due
from handlers import duties

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
_REGISTRY: dict[str, Sheli] = {}
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def register(sheli: Sheli) -> str:
    """Make `sheli` reachable to jobs by a plain key."""
    key = uuid.uuid4().hex[:8]
    _REGISTRY[key] = sheli
    return key


def tick(key: str) -> dict[str, Any]:
    """One pass: due visits, expiries, SLA breaches, then the outbox. Only the lease holder works."""
    sheli = _REGISTRY[key]
    lease = sheli.config.duration("scheduler.lease")
    with sheli.uow() as uow:
        if not uow.leases.acquire(LEASE_NAME, HOLDER, sheli.clock.now(), lease):
            return {"skipped": "another scheduler holds the lease"}
        uow.commit()
    result = duties.run_due(sheli.deps)
    result["outbox"] = deliver_due(
        sheli.deps.uow_factory, sheli.sender, sheli.clock, sheli.outbox_settings
    )
    return result


def flush_outbox(key: str) -> dict[str, int]:
    """Deliver due outbox messages (any worker may; claims prevent double sends)."""
    sheli = _REGISTRY[key]
    return deliver_due(sheli.deps.uow_factory, sheli.sender, sheli.clock, sheli.outbox_settings)


def weekly_summary(key: str) -> None:
    """Push last week's summary to `summary.recipients` (once per week, whatever the restarts)."""
    sheli = _REGISTRY[key]
    from handlers.summary import send_weekly_summary

    send_weekly_summary(sheli.deps, sheli.clock.now())
    flush_outbox(key)


def _configure(scheduler: Any, sheli: Sheli) -> Any:
    key = register(sheli)
    tick_every = sheli.config.seconds("scheduler.tick")
    outbox_every = sheli.config.seconds("outbox.poll_interval")
    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=tick_every),
        args=[key],
        id="tick",
        max_instances=1,
        coalesce=True,
        next_run_time=_soon(),
    )
    scheduler.add_job(
        flush_outbox,
        IntervalTrigger(seconds=outbox_every),
        args=[key],
        id="outbox",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        weekly_summary,
        CronTrigger.from_crontab(
            str(sheli.config.get("summary.cron")), timezone=sheli.policy.timezone
        ),
        args=[key],
        id="summary",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    return scheduler


def _soon() -> Any:
    from datetime import datetime

    return datetime.now().astimezone() + timedelta(seconds=1)


def start_background(sheli: Sheli) -> BackgroundScheduler:
    """Start the scheduler in a daemon thread (used by `sheli serve`)."""
    scheduler = _configure(BackgroundScheduler(daemon=True), sheli)
    scheduler.start()
    return scheduler


def run_forever(sheli: Sheli) -> None:
    """`sheli scheduler`: run in the foreground until interrupted."""
    scheduler = _configure(BlockingScheduler(), sheli)
    log.info("scheduler %s started", HOLDER)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
