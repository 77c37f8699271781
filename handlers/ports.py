"""What handlers need from the outside world: a clock, the policy from config, the NLU."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from nlu.base import Parser
from storage.uow import AbstractUnitOfWork


class Clock(abc.ABC):
    """Naive UTC time, injected so tests can say "three days later"."""

    @abc.abstractmethod
    def now(self) -> datetime: ...


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class Deadlines:
    accept: timedelta
    resolve: timedelta


@dataclass(frozen=True)
class Policy:
    """Routing, deadlines and timings, taken from config.yaml by the bot."""

    site_name: str = "智慧舍里"
    routing: dict[str, str] = field(
        default_factory=lambda: {
            "repair": "property_steward",
            "mediation": "grid_worker",
            "mediation_urgent": "police_officer",
            "legal_consult": "legal_adviser",
            "job_fair": "employment_liaison",
            "fallback": "branch_liaison",
        }
    )
    role_names: dict[str, str] = field(
        default_factory=lambda: {
            "branch_liaison": "支部联络员",
            "police_officer": "片区民警",
            "grid_worker": "网格员",
            "property_steward": "物业管家",
            "legal_adviser": "法律顾问",
            "employment_liaison": "就业服务专员",
        }
    )
    state_ttl: timedelta = timedelta(minutes=30)
    bind_code_ttl: timedelta = timedelta(hours=72)
    followup_delay: timedelta = timedelta(hours=24)
    followup_expire: timedelta = timedelta(days=3)
    sla: dict[str, Deadlines] = field(default_factory=dict)
    escalate_factor: float = 2.0
    summary_recipients: tuple[str, ...] = ()
    public_url: str = ""
    timezone: str = "Asia/Shanghai"

    @property
    def fallback_role(self) -> str:
        return self.routing.get("fallback", "branch_liaison")

    def role_for(self, intent: str, urgent: bool = False) -> str:
        """The staff role that takes tickets of this intent."""
        if urgent and f"{intent}_urgent" in self.routing:
            return self.routing[f"{intent}_urgent"]
        return self.routing.get(intent, self.fallback_role)

    def role_name(self, role: str) -> str:
        """The Chinese name of a role key."""
        return self.role_names.get(role, role)

    def role_from_text(self, text: str) -> str | None:
        """A role key from its key or Chinese name (also short forms such as 民警, 物业)."""
        text = text.strip().lower()
        if text in self.role_names:
            return text
        for key, name in self.role_names.items():
            if text == name or (len(text) >= 2 and (text in name or name in text)):
                return key
        return None

    def deadlines(self, intent: str, urgent: bool = False) -> Deadlines | None:
        """Accept/resolve deadlines for a ticket, if any are configured."""
        if urgent and f"{intent}_urgent" in self.sla:
            return self.sla[f"{intent}_urgent"]
        return self.sla.get(intent)


@dataclass
class Deps:
    """Everything a handler may touch, built once by the composition root."""

    uow_factory: Callable[[], AbstractUnitOfWork]
    parser: Parser
    clock: Clock
    policy: Policy
