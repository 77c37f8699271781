"""Summaries on a site of many communities (issue 13): each community's own weekly summary for
its secretaries, and one comparison of the communities for the site's `summary.recipients`.

A community's summary is the weekly summary (handlers/summary.py) of its tickets only: the same
set-based queries, narrowed to `tickets.community`, with the same definitions. The comparison
puts the communities side by side, one row each, over the same week:

- 本周新增 new_tickets: tickets created in the week (cancelled ones included, as 新收).
- 办结率 completion_rate and 响应率 response_rate: as in the summary, of the week's tickets not
  cancelled.
- 满意率 satisfaction_rate: as in the summary, of the ratings given in the week (to the
  community's tickets).
- 超时 overdue: active tickets past an accept or resolve deadline at the time of the report;
  在办 open: active tickets then.

It is read in three grouped passes over the week (GROUP BY community), never one pass per
community, so it costs the same with two communities or a hundred. The row of every community is
exactly what its own summary says. With one active community nothing here is used: the weekly
send is the summary as before.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from handlers import commands as cmd
from handlers import messages as msg
from handlers import summary as one_summary
from handlers.communities import many
from handlers.notices import notify
from handlers.ports import Context, Policy
from handlers.summary import (
    Summary,
    Week,
    _rate,
    accept_limits,
    compute_summary,
    deadline_rules,
    percent_text,
    render_summary,
    summary_key,
    week_of,
)
from storage.uow import AbstractUnitOfWork

# The comparison is one WeChat text, like the summary.
TEXT_LIMIT = 600


@dataclass
class CommunityFigures:
    """One community's row of the comparison (or the site's total)."""

    key: str
    name: str
    new_tickets: int = 0
    cancelled: int = 0
    counted: int = 0
    completed: int = 0
    completion_rate: float | None = None
    responded_in_time: int = 0
    response_rate: float | None = None
    ratings: int = 0
    satisfied: int = 0
    satisfaction_rate: float | None = None
    open: int = 0
    overdue: int = 0

    def rated(self) -> CommunityFigures:
        """The rates from the counts (the summary's rounding)."""
        self.counted = self.new_tickets - self.cancelled
        self.completion_rate = _rate(self.completed, self.counted)
        self.response_rate = _rate(self.responded_in_time, self.counted)
        self.satisfaction_rate = _rate(self.satisfied, self.ratings)
        return self


@dataclass
class Comparison:
    """The site's active communities side by side over one week, and the site's total."""

    week: str
    first_day: str
    last_day: str
    timezone: str
    as_of: str
    communities: list[CommunityFigures]
    total: CommunityFigures

    def to_json(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "timezone": self.timezone,
            "as_of": self.as_of,
            "communities": [asdict(row) for row in self.communities],
            "total": asdict(self.total),
        }


def compare_communities(
    uow: AbstractUnitOfWork, policy: Policy, week: Week, now: datetime
) -> Comparison:
    """Every active community's figures for `week` (in `communities.list` order), in three
    grouped queries (storage/figures.py `by_community`). An inactive community with tickets
    in them (a resident's request filed before anyone knew where they live lands in `default`)
    has its row too, so the total is the whole site's."""
    grouped = uow.figures.by_community(
        week.start,
        week.end,
        accept_limits(policy),
        accept_before=deadline_rules(policy, lambda d: now - d.accept),
        resolve_before=deadline_rules(policy, lambda d: now - d.resolve),
    )
    rows = []
    total = CommunityFigures(key="", name=msg.SITE_SUMMARY["total"])
    for community in uow.communities.list():
        found = grouped.get(community.key)
        if not community.active and found is None:
            continue
        row = CommunityFigures(key=community.key, name=community.name)
        if found is not None:
            row.new_tickets, row.cancelled = found.new, found.cancelled
            row.completed, row.responded_in_time = found.completed, found.responded_in_time
            row.ratings, row.satisfied = found.ratings, found.satisfied
            row.open, row.overdue = found.open, found.overdue
        rows.append(row.rated())
        for name in (
            "new_tickets",
            "cancelled",
            "completed",
            "responded_in_time",
            "ratings",
            "satisfied",
            "open",
            "overdue",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return Comparison(
        week=week.label,
        first_day=week.local_start.isoformat(),
        last_day=week.last_day.isoformat(),
        timezone=policy.timezone,
        as_of=now.isoformat() + "Z",
        communities=rows,
        total=total.rated(),
    )


def _needs_attention(row: CommunityFigures) -> tuple[Any, ...]:
    """Most overdue first, then the lowest completion, then the busiest."""
    completion = 2.0 if row.completion_rate is None else row.completion_rate
    return (-row.overdue, completion, -row.new_tickets, row.key)


def render_comparison(comparison: Comparison, policy: Policy, limit: int = TEXT_LIMIT) -> str:
    """The comparison as one WeChat text: a line per community, then the site's total. When
    the communities do not all fit, those needing attention most are shown."""
    t = msg.SITE_SUMMARY
    first = date.fromisoformat(comparison.first_day)
    last = date.fromisoformat(comparison.last_day)

    def line(row: CommunityFigures) -> str:
        return t["row"].format(
            name=row.name,
            new=row.new_tickets,
            completion=percent_text(row.completion_rate),
            response=percent_text(row.response_rate),
            satisfaction=percent_text(row.satisfaction_rate),
            overdue=row.overdue,
        )

    head = [
        t["title"].format(
            site=policy.site_name,
            week=comparison.week,
            first=f"{first.month}月{first.day}日",
            last=f"{last.month}月{last.day}日",
        ),
        t["header"],
    ]
    tail = [line(comparison.total), t["note"]]
    if policy.public_url:
        tail.append(t["link"].format(url=policy.public_url.rstrip("/")))
    rows = [line(row) for row in comparison.communities]
    text = "\n".join([*head, *rows, *tail])
    if len(text) <= limit:
        return text
    ranked = [line(row) for row in sorted(comparison.communities, key=_needs_attention)]
    shown: list[str] = []
    for row_text in ranked:
        more = t["more"].format(n=len(ranked) - len(shown) - 1)
        if len("\n".join([*head, *shown, row_text, more, *tail])) > limit:
            break
        shown.append(row_text)
    more = t["more"].format(n=len(ranked) - len(shown))
    return "\n".join([*head, *shown, more, *tail])


def community_summary(
    uow: AbstractUnitOfWork, policy: Policy, week: Week, now: datetime, community: str
) -> Summary:
    """One community's weekly summary (its tickets only; its name in the title)."""
    return compute_summary(uow, policy, week, now, community=community)


def send_weekly_summary(
    command: cmd.SendWeeklySummary, uow: AbstractUnitOfWork, ctx: Context
) -> Summary:
    """Queue the week's summaries. One active community: the summary for `summary.recipients`,
    as always. Several: each community's summary for its secretaries, and one comparison for
    `summary.recipients`. Each message has its dedupe key: never the same one twice to a
    person. Returns the site's summary."""
    if not many(uow):
        return one_summary.send_weekly_summary(command, uow, ctx)
    policy, now = ctx.policy, ctx.now
    week = week_of(command.week, now, policy.timezone)
    for community in uow.communities.list(active_only=True):
        if not community.secretaries:
            continue  # its row in the comparison is all the site hears of it
        text = render_summary(community_summary(uow, policy, week, now, community.key), policy)
        for openid in community.secretaries:
            notify(
                uow,
                openid,
                text,
                now,
                kind="summary",
                dedupe_key=f"summary:{week.label}@{community.key}:{openid}",
            )
    text = render_comparison(compare_communities(uow, policy, week, now), policy)
    for openid in policy.summary_recipients:
        notify(
            uow, openid, text, now, kind="summary", dedupe_key=f"summary-site:{week.label}:{openid}"
        )
    uow.values.set(summary_key(week.label), now.isoformat(), None)
    return compute_summary(uow, policy, week, now)
