"""APScheduler wiring. Jobs are module-level functions of a plain key; the database says what is due.

Every `scheduler.tick` the holder of the `scheduler` lease sends due visits, expires silent ones,
notifies SLA breaches, queues the weekly summary once its `summary.cron` time has passed, and
delivers the outbox. A scheduler that was down finds all of that still due when it comes back;
a second scheduler started by mistake finds the lease taken and stays idle until the first one
stops renewing it (then it takes over). Outbox dedupe keys make a message go out once even if
two ever overlapped. Photos and voice notes are fetched by a job of their own (bot/media.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.bootstrap import Sheli
from bot.config import ConfigError
from bot.logsafe import log_error
from bot.media import fetch_due
from bot.outbox import deliver_due
from handlers import commands as cmd
from handlers.summary import already_sent, week_of

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
# A summary whose cron time passed while no scheduler ran still goes out if it is this late at most.
SUMMARY_GRACE = timedelta(days=2)


@dataclass
class _Registered:
    sheli: Sheli
    holder: str  # who holds the lease: host, process and this registration


_REGISTRY: dict[str, _Registered] = {}


def register(sheli: Sheli) -> str:
    """Make `sheli` reachable to jobs by a plain key; each key is its own lease holder."""
    key = uuid.uuid4().hex[:8]
    _REGISTRY[key] = _Registered(sheli, f"{socket.gethostname()}:{os.getpid()}:{key}")
    return key


def unregister(key: str) -> None:
    """Give up the lease (so another scheduler can take over at once) and forget `key`."""
    registered = _REGISTRY.pop(key, None)
    if registered is None:
        return
    with registered.sheli.uow() as uow:
        uow.leases.release(LEASE_NAME, registered.holder)
        uow.commit()


def summary_trigger(sheli: Sheli) -> CronTrigger:
    """`summary.cron` (minute hour day month day-of-week) in `site.timezone`."""
    cron = str(sheli.config.get("summary.cron") or "")
    try:
        return CronTrigger.from_crontab(cron, timezone=sheli.policy.timezone)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"summary.cron: {cron!r} is not a crontab line ({exc})") from None


def last_summary_time(
    trigger: CronTrigger, now: datetime, grace: timedelta = SUMMARY_GRACE
) -> datetime | None:
    """The latest cron time in (now − grace, now], as naive UTC; None if there was none."""
    current = now.replace(tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, current - grace)
    latest = None
    while fire is not None and fire <= current:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest.astimezone(UTC).replace(tzinfo=None) if latest else None


# The scheduler's duties, each run in its own transaction; the database says what is due.
# Batched duties (commands with a `limit`) take at most `scheduler.batch` rows per transaction
# and run at most `scheduler.batches_per_tick` times per tick: a backlog is finished over the
# next ticks, and the outbox is delivered on every one of them. The SLA breaches recorded in a
# tick are told at its end, one digest per person.
DUTIES: tuple[tuple[str, Any], ...] = (
    ("visits", cmd.SendDueVisits()),
    ("expired", cmd.ExpireVisits()),
    ("event_reminders", cmd.SendEventReminders()),
    ("sla", cmd.CheckSla()),
    ("figures", cmd.KeepPastWeeks()),
    ("waiting", cmd.AssignWaitingTickets()),
)


def _batched(sheli: Sheli, command: Any, batch: int, rounds: int) -> list[Any]:
    """Run a batched duty until a batch is not full, at most `rounds` times."""
    command = replace(command, limit=batch)
    done: list[Any] = []
    for _ in range(rounds):
        result = sheli.handle(command)
        done.extend(result.done)
        if not result.full:
            break
    return done


def run_due(sheli: Sheli) -> dict[str, Any]:
    """Send due visits, expire silent ones, remind sign-ups, record SLA breaches and tell them,
    give waiting tickets to whoever came on duty, keep past weeks' figures.

    Returns what each duty acted on: {"visits": [ticket numbers], "expired": [...],
    "event_reminders": [sign-up ids], "sla": [(number, "accept"|"resolve", level), ...],
    "sla_digests": {openid: breaches told}, "waiting": [ticket numbers], "figures": [weeks kept]}.
    """
    batch = max(1, int(sheli.config.get("scheduler.batch", 500)))
    rounds = max(1, int(sheli.config.get("scheduler.batches_per_tick", 4)))
    result: dict[str, Any] = {}
    for name, command in DUTIES:
        if hasattr(command, "limit"):
            result[name] = _batched(sheli, command, batch, rounds)
        else:
            result[name] = sheli.handle(command)
    result["sla"] = sorted((b.ticket, b.kind, b.level) for b in result["sla"])
    result["sla_digests"] = sheli.handle(cmd.SendSlaDigests())
    if any(result.values()):
        log.info(
            "duties: %s",
            {k: (len(v) if k == "sla_digests" else v) for k, v in result.items()},
        )
    return result


def send_summary_if_due(sheli: Sheli, scheduled_at: datetime) -> str | None:
    """Queue the summary of the week before `scheduled_at` unless it went out already.

    Returns the week label when it was queued now, None when it had been already.
    """
    week = week_of(None, scheduled_at, sheli.policy.timezone)
    with sheli.uow() as uow:
        if already_sent(uow, week.label, sheli.clock.now()):
            return None
    sheli.handle(cmd.SendWeeklySummary(week.label))
    log.info(
        "weekly summary %s queued for %d recipient(s)",
        week.label,
        len(sheli.policy.summary_recipients),
    )
    return week.label


def tick(key: str) -> dict[str, Any]:
    """One pass: visits, expiries, SLA breaches, the weekly summary, then the outbox.

    Only the lease holder works; anyone else returns {"skipped": ...}.
    """
    registered = _REGISTRY[key]
    sheli = registered.sheli
    lease = sheli.config.duration("scheduler.lease")
    with sheli.uow() as uow:
        held = uow.leases.acquire(LEASE_NAME, registered.holder, sheli.clock.now(), lease)
        uow.commit()
    if not held:
        return {"skipped": "another scheduler holds the lease"}
    result = run_due(sheli)
    fire = last_summary_time(summary_trigger(sheli), sheli.clock.now())
    if fire is not None:
        result["summary"] = send_summary_if_due(sheli, fire)
    result["outbox"] = deliver_due(sheli.uow, sheli.sender, sheli.clock, sheli.outbox_settings)
    return result


def flush_outbox(key: str) -> dict[str, int]:
    """Deliver due outbox messages (any process may: claims prevent double sends)."""
    sheli = _REGISTRY[key].sheli
    return deliver_due(sheli.uow, sheli.sender, sheli.clock, sheli.outbox_settings)


def fetch_media(sheli: Sheli) -> dict[str, int]:
    """Fetch the photos and voice notes that are due (bot/media.py)."""
    if sheli.media_source is None:
        return {}
    return fetch_due(
        sheli.uow, sheli.media_source, sheli.media_files, sheli.clock, sheli.media_settings
    )


def media_job(key: str) -> dict[str, int]:
    """The media job: any process may run it (each fetch is claimed, so none runs twice)."""
    return fetch_media(_REGISTRY[key].sheli)


_JOBS = {"tick": tick, "outbox": flush_outbox, "media": media_job}


def run_job(job: str, key: str) -> Any:
    """Run the job named `job`; a failure is logged without the data its message may quote
    (APScheduler itself would log the exception's text: a database error can hold an openid)."""
    try:
        return _JOBS[job](key)
    except Exception as exc:
        log_error(log, "scheduler job %s failed; it runs again on the next tick", job, exc=exc)
        return None


def _configure(scheduler: BaseScheduler, sheli: Sheli) -> str:
    summary_trigger(sheli)  # a bad cron line fails at start-up, not on Monday morning
    key = register(sheli)
    scheduler.add_job(
        run_job,
        IntervalTrigger(seconds=sheli.config.seconds("scheduler.tick")),
        args=["tick", key],
        id="tick",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        run_job,
        IntervalTrigger(seconds=sheli.config.seconds("outbox.poll_interval")),
        args=["outbox", key],
        id="outbox",
        max_instances=1,
        coalesce=True,
    )
    # Photos and voice notes, in their own job: a slow WeChat download never delays the outbox.
    scheduler.add_job(
        run_job,
        IntervalTrigger(seconds=sheli.config.seconds("outbox.poll_interval")),
        args=["media", key],
        id="media",
        max_instances=1,
        coalesce=True,
    )
    return key


@dataclass
class RunningScheduler:
    """A scheduler running in a background thread; `stop()` ends it and frees the lease."""

    scheduler: BackgroundScheduler
    key: str

    def stop(self) -> None:
        """Stop ticking, wait for a running tick to finish, and release the lease."""
        with contextlib.suppress(Exception):
            self.scheduler.shutdown(wait=True)
        unregister(self.key)


def start_background(sheli: Sheli) -> RunningScheduler:
    """Start the scheduler in a daemon thread (used by `sheli serve`)."""
    scheduler = BackgroundScheduler(daemon=True, timezone=UTC)
    key = _configure(scheduler, sheli)
    scheduler.start()
    log.info("scheduler %s started in the background", _REGISTRY[key].holder)
    return RunningScheduler(scheduler, key)


def run_forever(sheli: Sheli) -> None:
    """`sheli scheduler`: run in the foreground until SIGINT or SIGTERM, then free the lease."""
    scheduler = BlockingScheduler(timezone=UTC)
    key = _configure(scheduler, sheli)

    def stop(signum: int, frame: Any) -> None:
        log.info("scheduler %s stopping (signal %d)", _REGISTRY[key].holder, signum)
        scheduler.shutdown(wait=False)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    log.info("scheduler %s started", _REGISTRY[key].holder)
    try:
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()
    finally:
        unregister(key)
        log.info("scheduler stopped; lease released")
