"""A chat turn: what every chat handler (resident keywords, staff keywords, intents, states)
receives, as `handler(turn, …) -> reply`. Conversation state is data: a PendingRequest (or one
of the other Pending… dataclasses below, one per state) stored per person until their next
message or `conversation.state_ttl`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from handlers.inbound import Inbound
from handlers.keywords import RESIDENT_COMMANDS, STAFF_COMMANDS, parse_command
from handlers.ports import Context, Policy
from nlu.base import ParseResult
from storage.models import ConversationState, InboundMessage, Resident, Staff
from storage.uow import AbstractUnitOfWork


@dataclass
class PendingRequest:
    """A request Sheli could not file yet (it asked where), or the intent a menu button chose."""

    intent: str
    text: str = ""
    phone: str | None = None
    urgent: bool = False
    confidence: float | None = None
    asked: int = 1  # how many times Sheli asked for the missing location
    place: str | None = None  # the place said alone ("6栋"), waiting for what is wrong there
    # The inbound message that started it: it and what followed join the ticket it becomes
    # (the ticket page's conversation shows the messages linked to the ticket).
    first_row: int | None = None

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> PendingRequest:
        """Read a stored state row's data (unknown keys from older versions are ignored)."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


AWAITING_LOCATION = "awaiting_location"  # a repair without a place: the next message says where
AWAITING_REQUEST = "awaiting_request"  # a menu button was pressed: the next message is the request
AWAITING_PROBLEM = "awaiting_problem"  # only a place was said: the next message says what is wrong


_UNKNOWN: Any = object()


@dataclass
class PendingCancel:
    """A cancel in words that points to one ticket: only 「确认」 cancels it."""

    number: int
    summary: str = ""


@dataclass
class PendingCancelChoice:
    """A cancel that did not point to one ticket listed them: a bare number ("2", "#2") picks
    one of `numbers`, as `取消 2` would."""

    numbers: list[int] = field(default_factory=list)


@dataclass
class PendingErase:
    """`注销` was asked for: only 「确认注销」 (within `conversation.state_ttl`) erases."""

    asked: bool = True


@dataclass
class PendingCorrection:
    """Sheli said which place it assumed for #number (or that it has none): a message that is
    only a place corrects it."""

    number: int
    location: str | None = None


AWAITING_CANCEL = "awaiting_cancel"  # 「确认取消 #4（…）吗？回复「确认」」
AWAITING_ERASE = "awaiting_erase"  # 「…回复「确认注销」」
AWAITING_CORRECTION = "awaiting_correction"  # 「地点按你的住址3栋502登记；不在这里的话…」
AWAITING_CANCEL_CHOICE = "awaiting_cancel_choice"  # 「要取消哪一单？请回复「取消 编号」：…」
AWAITING_COMMUNITY = "awaiting_community"  # 「你住在哪个小区？」 (asked once, issue 13)

Pending = PendingRequest | PendingCancel | PendingCancelChoice | PendingErase | PendingCorrection
# The dataclass each state's data is stored as.
PENDING_TYPES: dict[str, type[Pending]] = {
    AWAITING_LOCATION: PendingRequest,
    AWAITING_REQUEST: PendingRequest,
    AWAITING_PROBLEM: PendingRequest,
    AWAITING_CANCEL_CHOICE: PendingCancelChoice,
    AWAITING_CANCEL: PendingCancel,
    AWAITING_ERASE: PendingErase,
    AWAITING_CORRECTION: PendingCorrection,
    AWAITING_COMMUNITY: PendingRequest,
}


def load_pending(state: ConversationState) -> Pending:
    """A stored state row's data as its dataclass (keys from other versions are ignored)."""
    cls = PENDING_TYPES.get(state.state, PendingRequest)
    known = set(cls.__dataclass_fields__)
    return cls(**{k: v for k, v in (state.data or {}).items() if k in known})


@dataclass
class Turn:
    """What the handlers know while answering one message.

    `staff` (the sender's staff account, if any) is read on first use, like `parsed`: most
    messages come from residents and never need it.
    """

    inbound: Inbound
    uow: AbstractUnitOfWork
    ctx: Context
    resident: Resident
    _staff: Staff | None = field(default=_UNKNOWN, repr=False)
    row: InboundMessage = field(default_factory=lambda: InboundMessage())
    _parsed: ParseResult | None = field(default=None, repr=False)
    _parse_done: bool = field(default=False, repr=False)

    @property
    def staff(self) -> Staff | None:
        """The active staff member bound to the sender's openid."""
        if self._staff is _UNKNOWN:
            self._staff = self.uow.staff.by_openid(self.inbound.openid)
        return self._staff

    @property
    def now(self) -> datetime:
        return self.ctx.now

    @property
    def policy(self) -> Policy:
        return self.ctx.policy

    @property
    def site(self) -> str:
        return self.ctx.policy.site_name

    @property
    def text(self) -> str:
        return (self.inbound.text or "").strip()

    @property
    def parsed(self) -> ParseResult | None:
        """The NLU's reading of the text, parsed on first use: keywords, events and
        re-deliveries never reach the parser."""
        if not self._parse_done:
            text = text_of(self.inbound)
            self._parsed = self.ctx.parser.parse(text) if text and not _is_keyword(text) else None
            self._parse_done = True
        return self._parsed

    def remember(self, state: str, pending: Pending) -> None:
        """Keep `pending` until the resident's next message (or `conversation.state_ttl`)."""
        self.uow.conversations.set(
            self.resident.openid, state, asdict(pending), self.now, self.now + self.policy.state_ttl
        )

    def forget(self) -> None:
        self.uow.conversations.clear(self.resident.openid)

    def pending_state(self) -> ConversationState | None:
        return self.uow.conversations.get(self.resident.openid, self.now)

    def live_state(self, *states: str) -> ConversationState | None:
        """The stored state if it has not expired (and is one of `states`, when given)."""
        state = self.pending_state()
        if state is None or state.expires_at < self.now:
            return None
        return state if not states or state.state in states else None


def text_of(inbound: Inbound) -> str | None:
    """The text of a text message or a recognised voice message, trimmed."""
    if inbound.kind in ("text", "voice"):
        return (inbound.text or "").strip()[:2000] or None
    return None


def _is_keyword(text: str) -> bool:
    return parse_command(text, RESIDENT_COMMANDS + STAFF_COMMANDS) is not None
