"""Costs at scale: seed PostgreSQL with N tickets and their audit trails, then time what grows
with history: the weekly summary, the dashboard overview (over HTTP, logged in), ticket list and
building pages, one SLA pass over 1% newly overdue tickets, one visit pass.

    .venv/bin/python bench/scale_bench.py [--tickets 100000] [--weeks 13] [--port 18510]
        [--communities N] [--schema NAME] [--keep] [--reuse]

The data lives in a schema of its own in the `test` database on 127.0.0.1:5432 (dropped at the
end unless --keep; --reuse times an existing seeded schema again). Seeding uses COPY with the
secondary indexes dropped and rebuilt afterwards, then VACUUM ANALYZE, as a live database's
autovacuum would have done.

What the seeded history looks like (per ticket, over `--weeks` weeks up to now):
- intents as a district sees them (45% repairs), one resident per 8 tickets, 300 buildings,
  `--staff-per-role` staff in each of the six roles (of each community);
- with `--communities N` (issue 13): N communities (c001…, `default` inactive), the buildings
  dealt out among them in turn, each community with its own staff, every resident and ticket
  in its building's community; the report adds the site comparison of the N communities, one
  community's summary, and the weekly send (N summaries and the comparison);
- the trail a real ticket gets: created, assigned, accepted (10% late, with their 督办 events),
  resolved, the visit sent a day later, answered with a score (70%) or expired (30%), closed;
  3% reopened after a low score and resolved again; 2% cancelled;
- what is still going on at `now` follows from those times (about 2% of tickets are active), a
  six-hour backlog of visits to send and to expire (as after a scheduler outage), and 1% of the
  tickets newly past their accept deadline (reassigned two to four hours ago, nobody told yet):
  the SLA pass records and tells those.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.webhook_bench import tree_pss_mb, tree_rss_mb  # noqa: E402
from bot.bootstrap import NoParser, bootstrap  # noqa: E402
from bot.config import load_config  # noqa: E402
from handlers import commands as cmd  # noqa: E402
from handlers import read_models  # noqa: E402
from handlers.site_summary import compare_communities, render_comparison  # noqa: E402
from handlers.sla import DEADLINES_KEY, _deadlines_fingerprint  # noqa: E402
from handlers.summary import compute_summary, render_summary, week_of  # noqa: E402
from storage.db import upgrade  # noqa: E402
from storage.models import FigureCache  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
ROLES = {
    "repair": "property_steward",
    "mediation": "grid_worker",
    "mediation_urgent": "police_officer",
    "legal_consult": "legal_adviser",
    "job_fair": "employment_liaison",
}
FALLBACK = "branch_liaison"
INTENTS = [
    ("repair", 45),
    ("mediation", 20),
    ("legal_consult", 12),
    ("job_fair", 8),
    ("hazard", 5),
    ("hardship", 4),
    ("social_security", 6),
]
ACCEPT = {"repair": 2, "mediation": 2, "legal_consult": 24, "job_fair": 24}  # hours
RESOLVE = {"repair": 24, "mediation": 48, "legal_consult": 48, "job_fair": 48}
TEXTS = {
    "repair": "热水器坏了",
    "mediation": "室友太吵了",
    "legal_consult": "老板拖欠工资怎么办",
    "job_fair": "想找工作",
    "hazard": "楼道电线裸露",
    "hardship": "生病了交不起房租",
    "social_security": "社保交了几个月",
}
SECRETARY = "o_secretary"
# Of the active repairs and mediations (about 1.3% of all tickets), the share reassigned two to
# four hours ago and not yet chased: about 1% of all tickets, newly past their accept deadline.
NEWLY_OVERDUE_SHARE = 0.75
PASSWORD = "bench-password"
H = timedelta(hours=1)


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --- seeding -------------------------------------------------------------------------------------


class Seeder:
    """Rows for COPY: tickets and their events, generated from one random timeline each."""

    def __init__(
        self,
        tickets: int,
        weeks: int,
        buildings: int,
        staff_per_role: int,
        now: datetime,
        communities: int = 1,
    ):
        self.n = tickets
        self.now = now
        self.start = now - timedelta(weeks=weeks)
        self.random = random.Random(12)
        self.buildings = [f"{k}栋" for k in range(1, buildings + 1)]
        self.residents = max(10, tickets // 8)
        # One community: everything in `default`, as on a site that never declared any.
        self.communities = (
            [f"c{k:03d}" for k in range(1, communities + 1)] if communities > 1 else ["default"]
        )
        self.community_of = {
            b: self.communities[i % len(self.communities)] for i, b in enumerate(self.buildings)
        }
        self.staff: dict[tuple[str, str], list[int]] = {}
        self.staff_community: dict[int, str] = {}
        staff_id = 1
        for community in self.communities:
            for role in sorted({*ROLES.values(), FALLBACK}):
                ids = list(range(staff_id, staff_id + staff_per_role))
                self.staff[(role, community)] = ids
                self.staff_community.update(dict.fromkeys(ids, community))
                staff_id += staff_per_role
        self.staff_names = {
            s: f"{role[:4]}{s}" for (role, _), ids in self.staff.items() for s in ids
        }
        weights = [w for _, w in INTENTS]
        self.intent_of = lambda: self.random.choices(INTENTS, weights)[0][0]
        self.newly_overdue = 0
        self.visits_due = 0
        self.visits_to_expire = 0

    def resident_rows(self) -> Iterator[tuple[Any, ...]]:
        for r in range(1, self.residents + 1):
            building = self.buildings[r % len(self.buildings)]
            room = f"{building}{(r // len(self.buildings)) % 6 + 1}{r % 20 + 1:02d}"
            yield (
                r,
                f"o_r{r}",
                None,
                room,
                self.start,
                self.now - H,
                None,
                building,
                self.community_of[building],
            )

    def room_of(self, resident: int) -> tuple[str, str]:
        building = self.buildings[resident % len(self.buildings)]
        return (
            f"{building}{(resident // len(self.buildings)) % 6 + 1}{resident % 20 + 1:02d}",
            building,
        )

    def tickets_and_events(
        self,
    ) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
        rnd, now, span = self.random, self.now, self.now - self.start
        for i in range(self.n):
            number = i + 1
            t0 = self.start + span * (i / self.n) + timedelta(seconds=rnd.random() * 30)
            intent = self.intent_of()
            urgent = intent == "mediation" and rnd.random() < 0.05
            role = ROLES.get(f"{intent}_urgent" if urgent else intent, ROLES.get(intent, FALLBACK))
            resident = rnd.randrange(1, self.residents + 1)
            location, building = self.room_of(resident)
            community = self.community_of[building]
            staff = rnd.choice(self.staff[(role, community)])
            accept_h = 0.5 if urgent else ACCEPT.get(intent)
            late = accept_h is not None and rnd.random() < 0.10
            t1 = t0 + (
                timedelta(hours=accept_h * rnd.uniform(1.05, 1.8))
                if late
                else timedelta(minutes=rnd.uniform(3, 100 if (accept_h or 2) >= 2 else 25))
            )
            # Most are done within the day, many take days: about 2% are active at any time.
            t2 = t1 + timedelta(
                hours=rnd.uniform(0.5, 20) if rnd.random() < 0.55 else rnd.uniform(20, 150)
            )
            row = {
                "id": number,
                "intent": intent,
                "status": "closed",
                "urgent": urgent,
                "role": role,
                "assignee_id": staff,
                "resident_id": resident,
                "text": f"{location}{TEXTS[intent]}",
                "location": location,
                "building": building,
                "community": community,
                "phone": None,
                "confidence": 0.9,
                "created_at": t0,
                "assigned_at": t0,
                "accepted_at": None,
                "resolved_at": None,
                "closed_at": None,
                "resolution": None,
                "rating": None,
                "followup_state": "none",
                "followup_due_at": None,
                "followup_asked_at": None,
                "accept_breach_level": 0,
                "resolve_breach_level": 0,
                "first_response_at": None,
                "work_started_at": t0,
                "next_sla_check_at": None,
            }
            events: list[tuple[Any, ...]] = [
                (
                    number,
                    "created",
                    f"resident:{resident}",
                    t0,
                    TEXTS[intent],
                    json.dumps({"intent": intent, "urgent": urgent}),
                ),
                (
                    number,
                    "assigned",
                    "system",
                    t0,
                    self.staff_names[staff],
                    json.dumps({"role": role, "staff_id": staff}),
                ),
            ]

            def event(
                kind: str,
                at: datetime,
                actor: str = "system",
                data: Any = None,
                detail: Any = None,
                events: list[tuple[Any, ...]] = events,
                number: int = number,
            ) -> None:
                if at <= now:
                    events.append(
                        (number, kind, actor, at, detail, json.dumps(data) if data else None)
                    )

            staff_actor = f"staff:{staff}:{self.staff_names[staff]}"
            if rnd.random() < 0.02 and t0 + H < now:  # cancelled by the resident
                row["status"] = "cancelled"
                row["closed_at"] = t0 + timedelta(minutes=rnd.uniform(5, 60))
                event("cancelled", row["closed_at"], f"resident:{resident}")
                yield self._finish(row), events
                continue
            if late and t0 + timedelta(hours=accept_h) < min(t1, now):
                event(
                    "sla_breach",
                    t0 + timedelta(hours=accept_h),
                    data={"breach": "accept", "level": 1},
                    detail="接单超时",
                )
                row["accept_breach_level"] = 1
            if t1 > now:  # not accepted yet
                row["status"] = "assigned"
                yield self._finish(self._active(row, events)), events
                continue
            row["accepted_at"] = row["first_response_at"] = t1
            event("accepted", t1, staff_actor)
            if t2 > now:
                row["status"] = "accepted"
                yield self._finish(self._active(row, events)), events
                continue
            reopened = rnd.random() < 0.03
            row["resolved_at"] = t2
            row["resolution"] = "已处理"
            event("resolved", t2, staff_actor, detail="已处理")
            asked = t2 + timedelta(hours=24)
            answered = rnd.random() < 0.7
            answer_at = asked + timedelta(hours=rnd.uniform(0.2, 40))
            rating = 1 if reopened else rnd.choices([5, 4, 3, 2, 1], [50, 25, 10, 8, 7])[0]
            expire_at = asked + timedelta(days=3)
            if asked > now:
                row.update(status="resolved", followup_state="due", followup_due_at=asked)
                yield self._finish(row), events
                continue
            if asked > now - 6 * H:  # a backlog: the scheduler was down for six hours
                row.update(status="resolved", followup_state="due", followup_due_at=asked)
                self.visits_due += 1
                yield self._finish(row), events
                continue
            event("visit_sent", asked)
            row.update(followup_due_at=asked, followup_asked_at=asked)
            if (answered and answer_at > now) or (not answered and expire_at > now - 6 * H):
                row.update(status="resolved", followup_state="asked")
                if not answered and expire_at <= now:
                    self.visits_to_expire += 1
                yield self._finish(row), events
                continue
            if not answered:
                row.update(followup_state="no_response", closed_at=expire_at)
                event("visit_expired", expire_at, detail="回访未回复")
                event("closed", expire_at, detail="回访未回复")
                yield self._finish(row), events
                continue
            solved = rating >= 3
            event(
                "visit_answered",
                answer_at,
                f"resident:{resident}",
                {"rating": rating, "fixed": solved, "solved": solved},
                str(rating),
            )
            if not reopened:
                row.update(followup_state="answered", rating=rating, closed_at=answer_at)
                event(
                    "closed", answer_at, f"resident:{resident}", detail=f"回访评分{rating}分，结单"
                )
                yield self._finish(row), events
                continue
            # Reopened after a low score: accepted and resolved again, then rated 5.
            t4 = answer_at + timedelta(minutes=rnd.uniform(10, 90))
            t5 = t4 + timedelta(hours=rnd.uniform(1, 20))
            event("reopened", answer_at, f"resident:{resident}", detail="回访只打了1分")
            event("accepted", t4, staff_actor)
            row.update(
                work_started_at=answer_at,
                assigned_at=answer_at,
                resolved_at=None,
                followup_state="none",
                followup_due_at=None,
                followup_asked_at=None,
                rating=1,
            )
            if t4 > now:
                row.update(status="reopened", accepted_at=None)
                yield self._finish(self._active(row, events)), events
                continue
            row["accepted_at"] = t4
            if t5 > now:
                row["status"] = "accepted"
                yield self._finish(self._active(row, events)), events
                continue
            event("resolved", t5, staff_actor, detail="重新处理")
            final = t5 + timedelta(hours=25)
            row.update(resolved_at=t5, followup_due_at=t5 + timedelta(hours=24))
            if final > now:
                row.update(
                    status="resolved", followup_state="due" if t5 + 24 * H > now else "asked"
                )
                if row["followup_state"] == "asked":
                    row["followup_asked_at"] = t5 + 24 * H
                    event("visit_sent", t5 + 24 * H)
                yield self._finish(row), events
                continue
            event("visit_sent", t5 + 24 * H)
            event(
                "visit_answered",
                final,
                f"resident:{resident}",
                {"rating": 5, "fixed": True, "solved": True},
                "5",
            )
            event("closed", final, f"resident:{resident}", detail="回访评分5分，结单")
            row.update(
                status="closed",
                followup_state="answered",
                followup_asked_at=t5 + 24 * H,
                rating=5,
                closed_at=final,
            )
            yield self._finish(row), events

    def _active(self, row: dict[str, Any], events: list[tuple[Any, ...]]) -> dict[str, Any]:
        """An active ticket: its breaches told so far, its next check; some newly overdue."""
        now, rnd = self.now, self.random
        intent = row["intent"]
        accept_h, resolve_h = ACCEPT.get(intent), RESOLVE.get(intent)
        if row["urgent"]:
            accept_h, resolve_h = 0.5, 24
        if accept_h is None or resolve_h is None:
            return row
        work = row["work_started_at"]
        # Resolve breaches up to now were told as they happened.
        for level, factor in ((1, 1), (2, 2)):
            at = work + timedelta(hours=resolve_h * factor)
            if at < now:
                events.append(
                    (
                        row["id"],
                        "sla_breach",
                        "system",
                        at,
                        "办结超时",
                        json.dumps({"breach": "resolve", "level": level}),
                    )
                )
                row["resolve_breach_level"] = level
        awaiting = row["status"] in ("open", "assigned") or (
            row["status"] == "reopened" and row["accepted_at"] is None
        )
        if accept_h == 2 and rnd.random() < NEWLY_OVERDUE_SHARE:
            # Reassigned two to four hours ago and nobody told yet: the SLA pass finds these.
            assigned = now - timedelta(minutes=rnd.uniform(125, 235))
            row.update(
                assigned_at=assigned, accepted_at=None, accept_breach_level=0, status="assigned"
            )
            events.append(
                (
                    row["id"],
                    "assigned",
                    "system",
                    assigned,
                    "转派",
                    json.dumps({"role": row["role"], "staff_id": row["assignee_id"]}),
                )
            )
            row["next_sla_check_at"] = assigned + timedelta(hours=accept_h)
            self.newly_overdue += 1
            return row
        due = []
        if awaiting:
            start = row["assigned_at"]
            for level, factor in ((1, 1), (2, 2)):
                at = start + timedelta(hours=accept_h * factor)
                if at < now:
                    if row["accept_breach_level"] < level:
                        events.append(
                            (
                                row["id"],
                                "sla_breach",
                                "system",
                                at,
                                "接单超时",
                                json.dumps({"breach": "accept", "level": level}),
                            )
                        )
                    row["accept_breach_level"] = level
                else:
                    due.append(at)
                    break
        if row["resolve_breach_level"] < 2:
            due.append(
                work + timedelta(hours=resolve_h * (2 if row["resolve_breach_level"] else 1))
            )
        row["next_sla_check_at"] = min(due) if due else None
        return row

    @staticmethod
    def _finish(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[c] for c in TICKET_COLUMNS)


TICKET_COLUMNS = (
    "id", "intent", "status", "urgent", "role", "assignee_id", "resident_id", "text", "location",
    "building", "phone", "confidence", "created_at", "assigned_at", "accepted_at", "resolved_at",
    "closed_at", "resolution", "rating", "followup_state", "followup_due_at", "followup_asked_at",
    "accept_breach_level", "resolve_breach_level", "first_response_at", "work_started_at",
    "next_sla_check_at", "community",
)  # fmt: skip
EVENT_COLUMNS = ("ticket_id", "kind", "actor", "at", "detail", "data")
RESIDENT_COLUMNS = (
    "id", "openid", "phone", "room", "created_at", "last_seen_at", "erased_at", "building",
    "community",
)  # fmt: skip


def seed(conn: psycopg.Connection, args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    seeder = Seeder(
        args.tickets, args.weeks, args.buildings, args.staff_per_role, now, args.communities
    )
    started = time.perf_counter()
    with conn.cursor() as cur:
        # The rows are generated consistent; foreign keys are not checked row by row while copying.
        cur.execute("SET session_replication_role = replica")
        if args.communities > 1:
            cur.execute("UPDATE communities SET active = false WHERE key = 'default'")
            for k, key in enumerate(seeder.communities, 1):
                cur.execute(
                    "INSERT INTO communities (key, name, secretaries, active, created_at)"
                    " VALUES (%s, %s, %s, true, %s)",
                    (key, f"第{k}集宿区", json.dumps([f"o_sec_{key}"]), seeder.start),
                )
            for building, key in seeder.community_of.items():
                cur.execute(
                    "INSERT INTO buildings (name, community) VALUES (%s, %s)", (building, key)
                )
        for (role, _), ids in seeder.staff.items():
            for s in ids:
                community = seeder.staff_community[s]
                cur.execute(
                    "INSERT INTO staff (id, name, role, openid, active, created_at, community)"
                    " VALUES (%s, %s, %s, %s, true, %s, %s)",
                    (s, seeder.staff_names[s], role, f"o_staff_{s}", seeder.start, community),
                )
        cur.execute("SELECT setval('staff_id_seq', (SELECT max(id) FROM staff))")
        # Secondary indexes go while COPY runs, and are rebuilt afterwards.
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename IN ('tickets', 'ticket_events', 'residents')"
            " AND indexname NOT LIKE 'pk_%%' AND indexname NOT LIKE 'uq_%%'"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        with cur.copy(f"COPY residents ({', '.join(RESIDENT_COLUMNS)}) FROM STDIN") as copy:
            for row in seeder.resident_rows():
                copy.write_row(row)
        cur.execute("SELECT setval('residents_id_seq', (SELECT max(id) FROM residents))")
        log(f"staff and {seeder.residents} residents in {time.perf_counter() - started:.0f} s")
        events = 0
        chunk: list[tuple[Any, ...]] = []
        trails: list[tuple[Any, ...]] = []

        def flush() -> None:
            # Tickets first, then their events (which refer to them), a chunk at a time.
            with cur.copy(f"COPY tickets ({', '.join(TICKET_COLUMNS)}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)
            with cur.copy(f"COPY ticket_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for row in trails:
                    copy.write_row(row)
            chunk.clear()
            trails.clear()

        for number, (ticket, trail) in enumerate(seeder.tickets_and_events(), 1):
            chunk.append(ticket)
            trails.extend(trail)
            events += len(trail)
            if number % 50_000 == 0:
                flush()
                log(f"{number} tickets, {events} events copied")
        flush()
        cur.execute("SELECT setval('ticket_numbers', (SELECT max(id) FROM tickets))")
        cur.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        log(f"{events} events copied in {time.perf_counter() - started:.0f} s; indexing")
        for _name, definition in indexes:
            cur.execute(definition)
            conn.commit()
        log(f"indexes rebuilt in {time.perf_counter() - started:.0f} s")
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    conn.autocommit = False
    seconds = time.perf_counter() - started
    log(f"seeded in {seconds:.0f} s")
    return {
        "seed_seconds": seconds,
        "events": events,
        "residents": seeder.residents,
        "newly_overdue": seeder.newly_overdue,
        "visits_due": seeder.visits_due,
        "visits_to_expire": seeder.visits_to_expire,
    }


# --- timing --------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[list[float], Any]:
    """Seconds of each run (the first one cold), and the last result."""
    runs, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - start)
    return runs, result


def fmt(runs: list[float]) -> str:
    if len(runs) == 1:
        return f"{runs[0]:.3f}"
    return f"{statistics.median(runs):.3f} (first {runs[0]:.3f})"


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            memory = int(line.split()[1]) // 1024 // 1024
    with psycopg.connect(PG) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    load = os.getloadavg()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory} GB RAM, PostgreSQL {version} (default settings, "
        f"shared_buffers 128 MB), Python {platform.python_version()}, load {load:.1f} at start"
    )


def serve(url: str, port: int) -> subprocess.Popen[bytes]:
    from werkzeug.security import generate_password_hash

    env = {
        **os.environ,
        "SHELI_DATABASE__URL": url,
        "SHELI_DASHBOARD__PASSWORD_HASH": generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"),
        "SHELI_DASHBOARD__SECRET_KEY": uuid.uuid4().hex,
        "SHELI_SUMMARY__RECIPIENTS": SECRETARY,
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/sheli"),
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--no-scheduler",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except requests.RequestException:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("sheli serve did not start")


def logged_in(base: str) -> requests.Session:
    import re

    session = requests.Session()
    page = session.get(f"{base}/dashboard/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the login form carries a CSRF token"
    answer = session.post(
        f"{base}/dashboard/login",
        data={"csrf_token": token.group(1), "username": "admin", "password": PASSWORD, "next": ""},
        timeout=30,
    )
    answer.raise_for_status()
    return session


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=13)
    parser.add_argument("--buildings", type=int, default=300)
    parser.add_argument("--staff-per-role", type=int, default=10)
    parser.add_argument(
        "--communities", type=int, default=1, help="spread the site over N communities"
    )
    parser.add_argument("--port", type=int, default=18510)
    parser.add_argument("--schema", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--reuse", action="store_true", help="time an already seeded schema")
    args = parser.parse_args()

    schema = args.schema or (
        f"scale_{args.tickets}"
        if args.communities == 1
        else f"scale_{args.tickets}_c{args.communities}"
    )
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    report: dict[str, Any] = {
        "machine": machine(),
        "tickets": args.tickets,
        "communities": args.communities,
    }
    conn = psycopg.connect(PG, options=f"-c search_path={schema}")
    try:
        if not args.reuse:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.commit()
        config = load_config({"database.url": url, "summary.recipients": [SECRETARY]}, environ={})
        sheli = bootstrap(config, parser=NoParser())
        if not args.reuse:
            upgrade(sheli.engine)
            report.update(seed(conn, args, now))
            with sheli.uow() as uow:
                uow.values.set(DEADLINES_KEY, _deadlines_fingerprint(sheli.policy), None)
                uow.commit()
        sizes = conn.execute(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM ticket_events),"
            " pg_size_pretty((SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r')::bigint)"
        ).fetchone()
        report["rows"] = sizes
        log(f"tickets, events, database size: {sizes}")
        conn.commit()

        policy = sheli.policy
        week = week_of(None, sheli.clock.now(), policy.timezone)

        def summary() -> Any:
            with sheli.uow() as uow:
                figures = compute_summary(uow, policy, week, sheli.clock.now())
                return figures, render_summary(figures, policy)

        with sheli.uow() as uow:  # cold: nothing kept yet (as right after the migration)
            uow.session.query(FigureCache).delete()
            uow.commit()
        runs, (figures, _) = timed(summary, repeat=1)
        report["summary_cold"] = (runs, figures.new_tickets, figures.resolved)
        log(f"weekly summary {week.label}, nothing kept: {fmt(runs)} s")
        runs, _ = timed(lambda: sheli.read(read_models.overview), repeat=1)
        report["overview_cold"] = runs
        log(f"overview in-process, nothing kept: {fmt(runs)} s")
        kept = []
        while True:  # what the scheduler does over its first ticks, a week at a time here
            start = time.perf_counter()
            done = sheli.handle(cmd.KeepPastWeeks(weeks=1))
            if not done:
                break
            kept.append(time.perf_counter() - start)
        report["kept"] = kept
        log(f"{len(kept)} past weeks kept, {statistics.median(kept):.2f} s each (median)")
        runs, (figures, _) = timed(summary)
        report["summary"] = (runs, figures.new_tickets, figures.resolved)
        log(f"weekly summary {week.label}: {fmt(runs)} s ({figures.new_tickets} new)")
        runs, overview = timed(lambda: sheli.read(read_models.overview))
        report["overview_inprocess"] = runs
        log(f"overview in-process: {fmt(runs)} s")
        if args.communities > 1:
            time_communities(sheli, week, report)

        server = serve(url, args.port)
        base = f"http://127.0.0.1:{args.port}"
        try:
            http = logged_in(base)
            building = overview.buildings[0][0] if overview.buildings else "1栋"
            pages = {
                "overview /dashboard/": "/dashboard/",
                "overview JSON": "/dashboard/api/overview",
                "tickets, page 1": "/dashboard/tickets",
                "tickets, page 100": "/dashboard/tickets?page=100",
                "tickets, active": "/dashboard/tickets?status=active",
                "tickets, overdue": "/dashboard/tickets?overdue=1",
                "tickets, one building": f"/dashboard/tickets?building={building}",
                "tickets, repairs of one week": "/dashboard/tickets?intent=repair&since="
                f"{week.local_start}&until={week.last_day}",
                "tickets JSON": "/dashboard/api/tickets",
                "building page": f"/dashboard/building?name={building}",
                "buildings": "/dashboard/buildings",
                "weekly summary page": f"/dashboard/summary?week={week.label}",
            }
            report["pages"] = {}
            for label, path in pages.items():

                def get(path: str = path) -> int:
                    answer = http.get(base + path, timeout=120)
                    answer.raise_for_status()
                    return len(answer.content)

                runs, size = timed(get)
                report["pages"][label] = runs
                log(f"{label}: {fmt(runs)} s ({size} bytes)")
            report["rss_mb"] = tree_rss_mb(server.pid)
            report["pss_mb"] = tree_pss_mb(server.pid)
            log(
                f"sheli serve, 2 workers: {report['rss_mb']:.0f} MB RSS, {report['pss_mb']:.0f} MB PSS"
            )
        finally:
            server.terminate()
            server.wait(15)

        def duty(command: Any) -> tuple[int, int]:
            done, batches = 0, 0
            while True:
                result = sheli.handle(command)
                done += len(result.done)
                batches += 1
                if not result.full:
                    return done, batches

        with sheli.uow() as uow:
            before = uow.outbox.count_by_status().get("pending", 0)
        start = time.perf_counter()
        breaches, batches = duty(cmd.CheckSla(limit=500))
        told = sheli.handle(cmd.SendSlaDigests())
        sla_seconds = time.perf_counter() - start
        with sheli.uow() as uow:
            queued = uow.outbox.count_by_status().get("pending", 0) - before
        report["sla"] = (sla_seconds, breaches, batches, len(told), queued)
        log(
            f"SLA pass: {breaches} breaches in {batches} batches, {len(told)} people told with"
            f" {queued} messages, {sla_seconds:.2f} s"
        )
        start = time.perf_counter()
        asked, visit_batches = duty(cmd.SendDueVisits(limit=500))
        expired, expire_batches = duty(cmd.ExpireVisits(limit=500))
        report["visits"] = (
            time.perf_counter() - start,
            asked,
            expired,
            visit_batches + expire_batches,
        )
        log(f"visit pass: {asked} asked, {expired} expired, {report['visits'][0]:.2f} s")

        runs, _ = timed(
            lambda: sheli.read(read_models.ticket_lines, read_models.TicketFilter(), 50)
        )
        report["cli_list"] = runs
        sheli.engine.dispose()
    finally:
        conn.close()
        if not args.keep:
            with psycopg.connect(PG, autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    print_report(report)


def time_communities(sheli: Any, week: Any, report: dict[str, Any]) -> None:
    """A site of many communities: the comparison (three grouped passes), one community's
    summary (its week kept by the scheduler), the weekly send to all of them (each community's
    summary and the comparison), then one community's summary with nothing kept."""
    policy = sheli.policy

    def comparison() -> Any:
        with sheli.uow() as uow:
            compared = compare_communities(uow, policy, week, sheli.clock.now())
            return compared, render_comparison(compared, policy)

    runs, (compared, _) = timed(comparison)
    report["comparison"] = (runs, len(compared.communities), compared.total.new_tickets)
    log(f"site comparison of {len(compared.communities)} communities: {fmt(runs)} s")
    busiest = max(compared.communities, key=lambda row: row.new_tickets).key

    def one() -> Any:
        with sheli.uow() as uow:
            figures = compute_summary(uow, policy, week, sheli.clock.now(), community=busiest)
            return render_summary(figures, policy)

    runs, _ = timed(one)
    report["community_summary"] = runs
    runs, _ = timed(lambda: sheli.handle(cmd.SendWeeklySummary(week.label)), repeat=1)
    with sheli.uow() as uow:
        queued = uow.outbox.count_by_status().get("pending", 0)
    report["weekly_send"] = (runs, queued)
    log(f"weekly send to {len(compared.communities)} communities: {fmt(runs)} s, {queued} queued")
    with sheli.uow() as uow:
        uow.session.query(FigureCache).filter(FigureCache.key.like("%@%")).delete(
            synchronize_session=False
        )
        uow.commit()
    cold, _ = timed(one, repeat=1)
    report["community_summary_cold"] = cold
    log(
        f"one community's summary: {fmt(report['community_summary'])} s kept,"
        f" {fmt(cold)} s with nothing kept"
    )


def print_report(report: dict[str, Any]) -> None:
    print(f"\nMachine: {report['machine']}")
    tickets, events, size = report["rows"]
    print(f"Data: {tickets} tickets, {events} audit events, database {size}", end="")
    if "seed_seconds" in report:
        print(
            f"; seeded in {report['seed_seconds']:.0f} s ({report['newly_overdue']} newly overdue,"
            f" {report['visits_due']} visits due, {report['visits_to_expire']} to expire)"
        )
    else:
        print()
    print("\n| what | seconds (median of 3; first run) |\n|---|---|")
    runs, new, resolved = report["summary_cold"]
    print(
        f"| weekly summary, no past week kept yet ({new} new, {resolved} resolved) | {fmt(runs)} |"
    )
    print(
        f"| dashboard overview in-process, no past week kept yet | {fmt(report['overview_cold'])} |"
    )
    kept = report["kept"]
    print(
        f"| keeping one past week (scheduler; {len(kept)} weeks, median) | {statistics.median(kept):.3f} |"
    )
    print(f"| weekly summary (`compute_summary` + text) | {fmt(report['summary'][0])} |")
    print(f"| dashboard overview, in-process (12 weeks) | {fmt(report['overview_inprocess'])} |")
    for label, runs in report["pages"].items():
        print(f"| HTTP {label} | {fmt(runs)} |")
    print(f"| `sheli tickets list --limit 50` query | {fmt(report['cli_list'])} |")
    if "comparison" in report:
        runs, communities, new = report["comparison"]
        print(f"| site comparison of {communities} communities ({new} new) | {fmt(runs)} |")
        print(
            f"| one community's summary, its week kept / nothing kept |"
            f" {fmt(report['community_summary'])} / {fmt(report['community_summary_cold'])} |"
        )
        runs, queued = report["weekly_send"]
        print(
            f"| weekly send: {communities} community summaries and the comparison"
            f" ({queued} messages queued) | {fmt(runs)} |"
        )
    seconds, breaches, batches, people, queued = report["sla"]
    print(
        f"| SLA pass: {breaches} breaches in {batches} batches of 500, {people} people told,"
        f" {queued} messages queued | {seconds:.3f} |"
    )
    seconds, asked, expired, batches = report["visits"]
    print(
        f"| visit pass: {asked} visits sent, {expired} expired ({batches} batches) | {seconds:.3f} |"
    )
    print(
        f"\n`sheli serve` with 2 workers (master + workers) after the page timings: "
        f"{report['rss_mb']:.0f} MB RSS, {report['pss_mb']:.0f} MB PSS"
    )
    print(f"Load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
