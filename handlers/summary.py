"""The weekly summary for the branch secretary: the figures, the WeChat text, the sending.

A week is an ISO week (Monday 00:00 to the next Monday 00:00) in `site.timezone`. "This week's
tickets" are the tickets created in it. Every figure is computed from tickets and their audit
trail, so anyone can check it with `sheli tickets show N`:

- 新收 new_tickets: tickets created this week (also by intent); cancelled ones are counted here
  and nowhere else.
- 办结率 completion_rate = completed / counted: of this week's tickets not cancelled (counted),
  the share resolved or closed at the time of the report.
- 响应率 response_rate = responded_in_time / counted: of the same tickets, the share a staff
  member accepted (接单, or resolved straight away) within the intent's accept deadline, counted
  from the request. Intents without a deadline count if they were accepted at all.
- 解决率 solve_rate = solved / visits_answered: of the visits answered this week, the share that
  did not say "not fixed" and did not rate 1–2 (exactly the answers that do not reopen a ticket).
- 满意率 satisfaction_rate = satisfied / ratings: of the ratings given this week, the share of
  4 and 5. An unanswered visit is never a satisfied one: it is not a rating.
- mean_rating: the mean of those ratings.
- 回访回复率 visit_response_rate = visits_answered / visits_concluded, where visits_concluded =
  visits_answered + visit_no_response: visits answered this week against visits answered or
  expired ("no response") this week.
- median_first_response_minutes: over this week's tickets that were accepted, the median of
  (first acceptance − request).
- resolved: tickets resolved this week (whenever created); median_resolution_minutes is the
  median of (their last resolution this week − request).
- sla_breaches: tickets with a 督办 (SLA breach) event this week; escalated: of them, the ones
  that reached level 2.
- overdue: numbers of the tickets still open past an accept or resolve deadline at the time of
  the report (overdue_detail says which deadline and role).
- load_by_role: open tickets per role at the time of the report.
- top_buildings: the buildings with two or more of this week's tickets, most first (at most 3).
  Sensitive cases (storage.states.SENSITIVE_INTENTS: hardship) are never counted by building.

How they are read: each kind of figure is one set-based query (storage/figures.py) over the
week, or over many consecutive weeks at once grouped by week (the dashboard's twelve), never a
query per ticket. The audit trail's "first acceptance" and "last reopened" are kept on the
ticket as `first_response_at` and `work_started_at` by handlers/lifecycle.py. Past weeks are
read once and kept by the scheduler (`keep_past_weeks`); a report reads them back, with the
tickets that were still open then read again as they are now, so it gives what a fresh pass
would.

Every figure can be read for one community's tickets only (`community`: the same queries,
narrowed); handlers/site_summary.py puts the communities of a site side by side.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from handlers import commands as cmd
from handlers import messages as msg
from handlers.events import add_to_summary as add_community_figures
from handlers.notices import notify
from handlers.ports import Context, Deadlines, Policy
from handlers.times import local_stamp, minutes_text
from nlu.places import place_sort_key
from storage.figures import Rule, WeekData, median, merge
from storage.uow import AbstractUnitOfWork

UTC = ZoneInfo("UTC")
_WEEK_LABEL = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
MAX_OVERDUE_SHOWN = 8


class BadWeek(ValueError):
    """A week label that is not an ISO week such as 2026-W47."""


@dataclass(frozen=True)
class Week:
    """A reporting period: an ISO week, or several (the dashboard passes longer spans)."""

    label: str  # 2026-W47
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive
    local_start: date  # its first local day, a Monday

    @property
    def last_day(self) -> date:
        """Its last local day (a Sunday)."""
        days = round((self.end - self.start).total_seconds() / 86400)
        return self.local_start + timedelta(days=max(days, 1) - 1)


def _monday_of(label: str) -> date:
    match = _WEEK_LABEL.match(label)
    try:
        if not match:
            raise ValueError
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise BadWeek(f"{label!r} is not an ISO week like 2026-W47") from None


def week_label(label: str) -> str:
    """`label` checked and written the canonical way ("2026w7" → "2026-W07"); BadWeek if wrong."""
    iso = _monday_of(label).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def week_of(label: str | None, now: datetime, timezone: str) -> Week:
    """The ISO week `label` (e.g. 2026-W47), or the last full week before `now` (naive UTC)."""
    zone = ZoneInfo(timezone)
    if label:
        monday = _monday_of(label)
    else:
        local_today = now.replace(tzinfo=UTC).astimezone(zone).date()
        monday = local_today - timedelta(days=local_today.weekday() + 7)
    start_local = datetime.combine(monday, time(0), zone)
    end_local = datetime.combine(monday + timedelta(days=7), time(0), zone)
    iso = monday.isocalendar()
    return Week(
        label=f"{iso.year}-W{iso.week:02d}",
        start=start_local.astimezone(UTC).replace(tzinfo=None),
        end=end_local.astimezone(UTC).replace(tzinfo=None),
        local_start=monday,
    )


@dataclass
class Overdue:
    ticket: int
    deadline: str  # "accept" | "resolve"
    role: str


@dataclass
class Summary:
    """Every figure of one week; see the module docstring for the definitions."""

    week: str
    first_day: str
    last_day: str
    timezone: str
    as_of: str
    community: str | None = None  # the community's key; None: the whole site
    community_name: str | None = None  # its name, which the text's title carries
    new_tickets: int = 0
    new_by_intent: dict[str, int] = field(default_factory=dict)
    cancelled: int = 0
    counted: int = 0
    completed: int = 0
    completion_rate: float | None = None
    responded_in_time: int = 0
    response_rate: float | None = None
    resolved: int = 0
    median_first_response_minutes: float | None = None
    median_resolution_minutes: float | None = None
    visits_answered: int = 0
    visit_no_response: int = 0
    visits_concluded: int = 0
    visit_response_rate: float | None = None
    solved: int = 0
    solve_rate: float | None = None
    ratings: int = 0
    satisfied: int = 0
    satisfaction_rate: float | None = None
    mean_rating: float | None = None
    sla_breaches: int = 0
    escalated: int = 0
    overdue: list[int] = field(default_factory=list)
    overdue_detail: list[Overdue] = field(default_factory=list)
    load_by_role: dict[str, int] = field(default_factory=dict)
    top_buildings: list[tuple[str, int]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. "events"; "lines" are shown

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; rates are fractions 0–1 (null when there is nothing to divide)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # no deep copy of long lists
        data["overdue_detail"] = [asdict(o) for o in self.overdue_detail]
        data["top_buildings"] = [{"building": b, "tickets": n} for b, n in self.top_buildings]
        return data


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(total: int, count: int) -> float | None:
    """As statistics.mean of `count` whole scores adding up to `total` (an int when whole)."""
    if not count:
        return None
    exact = Fraction(total, count)
    return round(int(exact) if exact.denominator == 1 else float(exact), 2)


def _minutes_of(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def deadline_rules(policy: Policy, value: Callable[[Deadlines], Any]) -> list[Rule]:
    """`value(deadlines)` per intent as rules for storage/figures.py, urgent variants first
    (exactly as Policy.deadlines picks them)."""
    suffix = "_urgent"
    urgent = [
        (key[: -len(suffix)], True, value(d))
        for key, d in policy.sla.items()
        if key.endswith(suffix)
    ]
    plain = [(key, False, value(d)) for key, d in policy.sla.items() if not key.endswith(suffix)]
    return urgent + plain


def accept_limits(policy: Policy) -> list[Rule]:
    """The accept deadline of each intent in seconds, for 响应率."""
    return deadline_rules(policy, lambda d: d.accept.total_seconds())


# Past weeks the scheduler keeps (the dashboard's twelve and the last summary's, with room);
# a kept week with tickets still open then is read again after a day, so fewer stay pending.
KEPT_WEEKS = 14
KEPT_RENEWAL = timedelta(days=1)


# What a kept week holds; a new version when that changes (2: no sensitive cases by building),
# so weeks kept before are read again rather than trusted.
KEPT_VERSION = 2


def kept_key(week: Week, limits: Sequence[Rule], community: str | None = None) -> str:
    """The figure_cache key of a week: its bounds, the accept deadlines it is counted with and
    KEPT_VERSION; "@KEY" for one community's week (none: the whole site's)."""
    fingerprint = hashlib.sha256(repr([KEPT_VERSION, *limits]).encode()).hexdigest()[:12]
    key = f"{week.start:%Y%m%d%H%M}-{week.end:%Y%m%d%H%M}-{fingerprint}"
    return key if community is None else f"{key}@{community}"


def forget_kept_week(
    uow: AbstractUnitOfWork,
    policy: Policy,
    moment: datetime,
    communities: Sequence[str | None] = (),
) -> None:
    """The week `moment` falls in no longer holds what was kept of it (a ticket created then
    moved to another building, or to another community): forget the site's week and those of
    `communities`; the next report reads them fresh, the scheduler keeps them again."""
    local_day = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(policy.timezone)).date()
    iso = local_day.isocalendar()
    week = week_of(f"{iso.year}-W{iso.week:02d}", moment, policy.timezone)
    limits = accept_limits(policy)
    for community in {None, *communities}:
        uow.figures.forget(kept_key(week, limits, community))


def _week_data(
    uow: AbstractUnitOfWork,
    policy: Policy,
    weeks: Sequence[Week],
    now: datetime,
    community: str | None = None,
) -> list[WeekData]:
    """What each week holds (of `community`, or the whole site): kept weeks from figure_cache
    (their pending tickets read again as they are now), the others in one pass per run of
    consecutive weeks."""
    limits = accept_limits(policy)
    keys = [kept_key(week, limits, community) for week in weeks]
    kept = uow.figures.cached([k for week, k in zip(weeks, keys, strict=True) if week.end <= now])
    data: list[WeekData | None] = [kept[k][1] if k in kept else None for k in keys]
    first = 0
    while first < len(weeks):
        if data[first] is not None:
            first += 1
            continue
        last = first
        while last < len(weeks) and data[last] is None:
            last += 1
        run = weeks[first:last]
        bounds = [week.start for week in run] + [run[-1].end]
        data[first:last] = uow.figures.weeks(bounds, limits, community=community)
        first = last
    found = [d for d in data if d is not None]
    # Kept weeks: their resolved tickets reopened since, and their active ones, as they are now.
    owner = {int(n): i for i, d in enumerate(found) for n in d.done_ids}
    changed: list[list[Any]] = [[] for _ in found]
    for state in uow.figures.tickets_now(list(owner), limits, changed_only=True):
        changed[owner[state[0]]].append(state)
    owner = {int(n): i for i, d in enumerate(found) for n in d.pending}
    pending: list[list[Any]] = [[] for _ in found]
    for state in uow.figures.tickets_now(list(owner), limits):
        pending[owner[state[0]]].append(state)
    for held, now_changed, now_pending in zip(found, changed, pending, strict=True):
        held.settle(now_changed, now_pending)
    return found


@dataclass
class Figures:
    """The figures of consecutive weeks: a Summary per week, one for the whole span when
    asked, and the active tickets now."""

    weekly: list[Summary]
    whole: Summary | None
    open: int
    unassigned: int
    buildings: list[tuple[str, int]]  # the whole span's tickets per building, most first


def _most_first(item: tuple[str, list[int]]) -> tuple[int, tuple[Any, ...]]:
    """Buildings by their count, most first; ties in the order people count them ("3栋" before
    "12栋")."""
    return -item[1][0], place_sort_key(item[0])


def compute_figures(
    uow: AbstractUnitOfWork,
    policy: Policy,
    weeks: Sequence[Week],
    now: datetime,
    whole: Week | None = None,
    community: str | None = None,
) -> Figures:
    """Every figure of every week in `weeks` (consecutive), and of `whole` (their span); of
    one community's tickets when `community` is given (the same queries, narrowed), else of
    the whole site.

    Each kind of figure is one set-based query over the span, grouped by week
    (storage/figures.py), or a past week kept by the scheduler; the snapshot at the time of
    the report (overdue, load) is read once.
    """
    if any(a.end != b.start for a, b in itertools.pairwise(weeks)):
        raise ValueError("weeks must be consecutive")
    data = _week_data(uow, policy, weeks, now, community)
    snapshot = uow.figures.snapshot(
        accept_before=deadline_rules(policy, lambda d: now - d.accept),
        resolve_before=deadline_rules(policy, lambda d: now - d.resolve),
        community=community,
    )
    named = uow.communities.get(community) if community is not None else None

    overdue = [number for number, _, _ in snapshot.overdue]
    overdue_detail = [Overdue(n, what, role) for n, what, role in snapshot.overdue]

    def summary_of(week: Week, held: WeekData) -> Summary:
        summary = Summary(
            week=week.label,
            first_day=week.local_start.isoformat(),
            last_day=week.last_day.isoformat(),
            timezone=policy.timezone,
            as_of=now.isoformat() + "Z",
            community=community,
            community_name=named.name if named is not None else community,
        )
        # This week's tickets: intake, completion, response.
        summary.new_tickets = held.new
        ranked = sorted(held.by_intent.items(), key=lambda item: (-item[1][0], item[1][1]))
        summary.new_by_intent = {intent: count for intent, (count, _) in ranked}
        summary.cancelled = held.cancelled
        summary.counted = held.new - held.cancelled
        summary.completed = held.completed
        summary.completion_rate = _rate(summary.completed, summary.counted)
        summary.responded_in_time = held.responded_in_time
        summary.response_rate = _rate(summary.responded_in_time, summary.counted)
        summary.median_first_response_minutes = _minutes_of(median(held.first_responses))
        # What happened during the week, whenever the ticket was created.
        summary.resolved = len(held.resolved_ids)
        summary.median_resolution_minutes = _minutes_of(median(held.resolved_seconds))
        seen = held.visits
        summary.visits_answered = seen["answered"]
        summary.visit_no_response = seen["expired"]
        summary.visits_concluded = seen["answered"] + seen["expired"]
        summary.visit_response_rate = _rate(seen["answered"], summary.visits_concluded)
        summary.solved = seen["solved"]
        summary.solve_rate = _rate(seen["solved"], seen["answered"])
        summary.ratings = seen["ratings"]
        summary.satisfied = seen["satisfied"]
        summary.satisfaction_rate = _rate(seen["satisfied"], seen["ratings"])
        summary.mean_rating = _mean(seen["rating_sum"], seen["ratings"])
        summary.sla_breaches = len(held.breach_ids)
        summary.escalated = len(held.escalated_ids)
        # A snapshot at the time of the report (the same for every week of the report).
        summary.overdue = overdue
        summary.overdue_detail = overdue_detail
        summary.load_by_role = dict(snapshot.load_by_role)
        counts = sorted(held.places.items(), key=_most_first)
        summary.top_buildings = [(b, n) for b, (n, _) in counts if n >= 2][:3]
        add_community_figures(uow, summary, week, now)
        return summary

    total = merge(data)
    spread = sorted(total.places.items(), key=_most_first)
    return Figures(
        weekly=[summary_of(week, held) for week, held in zip(weeks, data, strict=True)],
        whole=summary_of(whole, total) if whole is not None else None,
        open=snapshot.open,
        unassigned=snapshot.unassigned,
        buildings=[(b, n) for b, (n, _) in spread],
    )


def past_weeks(now: datetime, timezone: str, count: int = KEPT_WEEKS) -> list[Week]:
    """The `count` full weeks before the current one, newest first."""
    local_today = now.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()
    this_monday = local_today - timedelta(days=local_today.weekday())
    weeks = []
    for back in range(1, count + 1):
        iso = (this_monday - timedelta(weeks=back)).isocalendar()
        weeks.append(week_of(f"{iso.year}-W{iso.week:02d}", now, timezone))
    return weeks


def keep_past_weeks(command: cmd.KeepPastWeeks, uow: AbstractUnitOfWork, ctx: Context) -> list[str]:
    """Read and keep the figures of past weeks not kept yet (or kept a day ago with tickets
    still open then), newest first, at most `command.weeks` of them; forget weeks nobody
    reads any more. Returns the week labels kept now."""
    policy, now = ctx.policy, ctx.now
    limits = accept_limits(policy)
    weeks = past_weeks(now, policy.timezone)
    wanted: list[tuple[Week, str | None]] = [(week, None) for week in weeks]
    if uow.communities.active_count() > 1:
        # Then each community's last full week too (its weekly summary's), after the site's.
        wanted += [(weeks[0], c.key) for c in uow.communities.list(active_only=True)]
    keys = [kept_key(week, limits, community) for week, community in wanted]
    known = uow.figures.cached_times(keys)
    due = [
        (week, community, key)
        for (week, community), key in zip(wanted, keys, strict=True)
        if key not in known or (known[key][1] and known[key][0] <= now - KEPT_RENEWAL)
    ]
    done = []
    for week, community, key in due[: command.weeks]:
        [held] = uow.figures.weeks(
            [week.start, week.end], limits, settled_only=True, community=community
        )
        uow.figures.keep(key, held, now)
        done.append(week.label if community is None else f"{week.label}@{community}")
    uow.figures.forget_before(now - timedelta(weeks=KEPT_WEEKS + 2))
    return done


def compute_summary(
    uow: AbstractUnitOfWork,
    policy: Policy,
    week: Week,
    now: datetime,
    community: str | None = None,
) -> Summary:
    """Every figure of the weekly summary, from tickets and their audit trail (of one
    community's tickets when `community` is given)."""
    return compute_figures(uow, policy, [week], now, community=community).weekly[0]


# One rounding for every figure a person reads: the WeChat text, the dashboard's cards and the
# exports all write figures with these (so the card and the text never disagree).


def percent_text(value: float | None) -> str:
    """A rate 0–1 as "67%" ("—" when there was nothing to divide)."""
    return msg.DURATION_NONE if value is None else f"{value * 100:.0f}%"


def rating_text(value: float | None) -> str:
    """A mean rating to one decimal ("3.7", "5"; "—" when nobody rated)."""
    if value is None:
        return msg.DURATION_NONE
    return f"{value:.1f}".removesuffix(".0")


def render_summary(summary: Summary, policy: Policy, limit: int = 600) -> str:
    """The summary as one WeChat text message (under `limit` characters)."""
    t = msg.SUMMARY
    first, last = date.fromisoformat(summary.first_day), date.fromisoformat(summary.last_day)
    by_intent = "，".join(
        f"{msg.INTENT_NAMES.get(k, k)}{v}" for k, v in summary.new_by_intent.items()
    )
    lines = [
        t["title"].format(
            site=summary.community_name or policy.site_name,
            week=summary.week,
            first=f"{first.month}月{first.day}日",
            last=f"{last.month}月{last.day}日",
        ),
        t["intake"].format(
            new=summary.new_tickets, by_intent=f"（{by_intent}）" if by_intent else ""
        )
        + (t["cancelled"].format(n=summary.cancelled) if summary.cancelled else "")
        + t["intake_end"],
        t["rates"].format(
            completion=percent_text(summary.completion_rate),
            fraction=t["fraction"].format(done=summary.completed, of=summary.counted)
            if summary.counted
            else "",
            response=percent_text(summary.response_rate),
            solve=percent_text(summary.solve_rate),
            satisfaction=percent_text(summary.satisfaction_rate),
        ),
    ]
    resolved = t["resolved"].format(n=summary.resolved)
    if (summary.median_first_response_minutes, summary.median_resolution_minutes) != (None, None):
        resolved += t["times"].format(
            first=minutes_text(summary.median_first_response_minutes),
            resolve=minutes_text(summary.median_resolution_minutes),
        )
    lines.append(resolved + t["resolved_end"])
    if summary.visits_concluded:
        lines.append(
            t["visits"].format(
                concluded=summary.visits_concluded,
                answered=summary.visits_answered,
                rate=percent_text(summary.visit_response_rate),
                mean=(
                    t["mean"].format(mean=rating_text(summary.mean_rating))
                    if summary.mean_rating is not None
                    else ""
                ),
                silent=(
                    t["silent"].format(n=summary.visit_no_response)
                    if summary.visit_no_response
                    else ""
                ),
            )
        )
    else:
        lines.append(t["no_visits"])
    if summary.sla_breaches:
        lines.append(t["breaches"].format(n=summary.sla_breaches, escalated=summary.escalated))
    if summary.overdue:
        shown = "、".join(
            t["overdue_item"].format(n=o.ticket, what=msg.SLA_WHAT[o.deadline])
            for o in summary.overdue_detail[:MAX_OVERDUE_SHOWN]
        )
        more = t["more"] if len(summary.overdue) > MAX_OVERDUE_SHOWN else ""
        lines.append(t["overdue"].format(n=len(summary.overdue), tickets=shown, more=more))
    else:
        lines.append(t["no_overdue"])
    if summary.load_by_role:
        load = "，".join(f"{policy.role_name(k)}{v}" for k, v in summary.load_by_role.items())
        lines.append(t["load"].format(load=load))
    if summary.top_buildings:
        places = "，".join(f"{b}{n}件" for b, n in summary.top_buildings)
        lines.append(t["buildings"].format(places=places))
    lines += summary.extra.get("lines", [])
    if policy.public_url:
        lines.append(t["link"].format(url=policy.public_url.rstrip("/"), week=summary.week))
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def figure_rows(summary: Summary, policy: Policy) -> list[tuple[str, Any, str]]:
    """The figures as (name, value, how to read it) rows for a spreadsheet: counts as numbers,
    rates, times and the mean rating worded exactly as the text words them."""
    names = msg.SUMMARY_FIGURES
    as_of = datetime.fromisoformat(summary.as_of.removesuffix("Z")) if summary.as_of else None
    texts: dict[str, Any] = {
        "week": summary.week,
        "days": f"{summary.first_day} — {summary.last_day}",
        "as_of": local_stamp(as_of, summary.timezone),
        "overdue": len(summary.overdue),
    }
    rates = ("completion_rate", "response_rate", "visit_response_rate", "solve_rate")
    for key in (*rates, "satisfaction_rate"):
        texts[key] = percent_text(getattr(summary, key))
    for key in ("median_first_response_minutes", "median_resolution_minutes"):
        texts[key] = minutes_text(getattr(summary, key))
    texts["mean_rating"] = rating_text(summary.mean_rating)
    rows = [
        (name, texts[key] if key in texts else getattr(summary, key), note)
        for key, (name, note) in names.items()
    ]
    for intent, n in summary.new_by_intent.items():
        name = msg.INTENT_NAMES.get(intent, intent)
        rows.append((msg.SUMMARY_FIGURE_INTENT.format(name=name), n, ""))
    for role, n in summary.load_by_role.items():
        rows.append((msg.SUMMARY_FIGURE_LOAD.format(name=policy.role_name(role)), n, ""))
    for building, n in summary.top_buildings:
        rows.append((msg.SUMMARY_FIGURE_BUILDING.format(name=building), n, ""))
    return rows


def summary_key(week: str) -> str:
    """The key_values key that says a week's summary went out."""
    return f"summary_sent:{week}"


def already_sent(uow: AbstractUnitOfWork, week: str, now: datetime) -> bool:
    """True once the week's summary was queued for its recipients."""
    return uow.values.get(summary_key(week), now) is not None


def send_weekly_summary(
    command: cmd.SendWeeklySummary, uow: AbstractUnitOfWork, ctx: Context
) -> Summary:
    """Queue the summary for every recipient; one week is never sent twice to one person."""
    policy, now = ctx.policy, ctx.now
    week = week_of(command.week, now, policy.timezone)
    summary = compute_summary(uow, policy, week, now)
    text = render_summary(summary, policy)
    for openid in policy.summary_recipients:
        notify(uow, openid, text, now, kind="summary", dedupe_key=f"summary:{week.label}:{openid}")
    uow.values.set(summary_key(week.label), now.isoformat(), None)
    return summary
