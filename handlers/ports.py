"""What handlers need from the outside world: a clock, the policy from config, the NLU.

Every handler is a function of (message, unit of work, Context); the composition root
(bot/bootstrap.py) builds the Context for each call.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nlu.base import Parser


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
    """Routing, deadlines and timings, taken from config.yaml by the composition root.

    No defaults here: config.yaml holds them, so there is one place to read and change them.
    """

    site_name: str
    routing: dict[str, str]
    role_names: dict[str, str]
    state_ttl: timedelta
    reply_window: timedelta
    max_new_tickets: int  # per resident per ticket_window
    ticket_window: timedelta
    max_messages: int  # per resident per message_window
    message_window: timedelta
    bind_code_ttl: timedelta
    followup_delay: timedelta
    followup_expire: timedelta
    sla: dict[str, Deadlines]
    escalate_factor: float
    summary_recipients: tuple[str, ...]
    public_url: str
    timezone: str
    # A message whose top two intents are closer than this is kept for review (nlu.review_margin).
    review_margin: float
    # Roles told about a new ticket of an intent besides its assignee (config `inform:`).
    inform: dict[str, tuple[str, ...]]

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

    def informed_roles(self, intent: str) -> tuple[str, ...]:
        """The roles told about a new ticket of this intent, for their information."""
        return self.inform.get(intent, ())

    def deadlines(self, intent: str, urgent: bool = False) -> Deadlines | None:
        """Accept/resolve deadlines for a ticket, if any are configured."""
        if urgent and f"{intent}_urgent" in self.sla:
            return self.sla[f"{intent}_urgent"]
        return self.sla.get(intent)


@dataclass(frozen=True)
class Context:
    """What a handler knows besides its message and the unit of work: the rules from config,
    the NLU, and the time of this call (one `now` for everything one call records)."""

    policy: Policy
    parser: Parser
    now: datetime
