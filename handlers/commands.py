"""What adapters (chat, dashboard, CLI, scheduler) can ask Sheli to do: one dataclass per
command. `handlers.bus.HANDLERS` maps each to its handler, a function of
(command, unit of work, Context); the composition root runs it in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Who does something, as the audit trail writes it."""

    kind: str  # staff | operator | resident | system
    id: int | None = None
    name: str = ""
    # An operator limited to one community (dashboard.users): another community's tickets are
    # not there for them. None: the whole site.
    community: str | None = None

    @property
    def label(self) -> str:
        """ "staff:3:张师傅", "operator:admin", "resident:12", "system"."""
        if self.kind == "staff":
            return f"staff:{self.id}:{self.name}"
        if self.kind == "operator":
            return f"operator:{self.name}"
        if self.kind == "resident":
            return f"resident:{self.id}"
        return self.kind

    @classmethod
    def operator(cls, username: str, community: str | None = None) -> Actor:
        return cls("operator", None, username, community)

    @classmethod
    def staff(cls, staff_id: int, name: str) -> Actor:
        return cls("staff", staff_id, name)

    @classmethod
    def resident(cls, resident_id: int) -> Actor:
        return cls("resident", resident_id)


SYSTEM = Actor("system")


# --- tickets (staff in chat, operators on the dashboard) ------------------------------------


@dataclass(frozen=True)
class AcceptTicket:
    number: int
    actor: Actor


@dataclass(frozen=True)
class ResolveTicket:
    number: int
    note: str
    actor: Actor


@dataclass(frozen=True)
class TransferTicket:
    number: int
    role: str  # a role key or its Chinese name
    actor: Actor


@dataclass(frozen=True)
class AddNote:
    number: int
    text: str
    actor: Actor


@dataclass(frozen=True)
class ReplyToResident:
    """`回复 n 内容`: staff (or an operator) write to the resident of #n through Sheli."""

    number: int
    text: str
    actor: Actor


@dataclass(frozen=True)
class ShowPhone:
    """`电话 n`: the resident's full phone, for the assignee, the branch liaison or an operator;
    the look is recorded in the trail."""

    number: int
    actor: Actor


@dataclass(frozen=True)
class AddToTicket:
    """`补充 n 内容` (or a plain answer to staff within `conversation.reply_window`): a resident
    adds to their own ticket #n; it reaches the assignee and the trail."""

    number: int
    text: str
    actor: Actor  # a resident


@dataclass(frozen=True)
class CorrectLocation:
    """A resident corrects the place of their ticket #n (after Sheli said which it assumed)."""

    number: int
    location: str
    actor: Actor  # a resident


@dataclass(frozen=True)
class RecordView:
    """An operator opened a ticket's page (it shows the full phone)."""

    number: int
    actor: Actor


@dataclass(frozen=True)
class CloseTicket:
    """An operator closes #n with a reason (solved by phone, a duplicate, nothing to do); the
    resident and the assignee are told, and no visit is sent."""

    number: int
    reason: str
    actor: Actor


@dataclass(frozen=True)
class CancelTicket:
    """An operator cancels an active #n with a reason (registered by mistake, withdrawn by
    phone); the resident and the assignee are told."""

    number: int
    reason: str
    actor: Actor


@dataclass(frozen=True)
class AssignHelper:
    number: int
    volunteer_id: int
    actor: Actor


# --- staff accounts -------------------------------------------------------------------------


@dataclass(frozen=True)
class AddStaff:
    role: str  # a role key or its Chinese name
    name: str
    openid: str | None = None
    community: str | None = None  # None: the site-wide pool


@dataclass(frozen=True)
class AddCommunity:
    """A new community, or a new name, secretaries or state for one (`sheli community add`)."""

    key: str
    name: str | None = None
    secretaries: tuple[str, ...] = ()
    active: bool | None = None  # None: unchanged (a new one is active)


@dataclass(frozen=True)
class MoveBuilding:
    """A building goes to another community; its open tickets only when `move_open`."""

    building: str
    community: str
    move_open: bool = False
    actor: Actor = Actor("operator", None, "cli")


@dataclass(frozen=True)
class SetStaffActive:
    staff_id: int
    active: bool
    scope: str | None = None  # an operator limited to this community: only its own staff


@dataclass(frozen=True)
class IssueBindCode:
    """A new one-time bind code; the account bound so far is unbound (e.g. a new phone)."""

    staff_id: int
    scope: str | None = None  # an operator limited to this community: only its own staff


@dataclass(frozen=True)
class SeedDemoStaff:
    """Local mode: a bound demo staff member for every role nobody fills (the simulator)."""


# --- community data -------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveEvent:
    data: Mapping[str, Any]
    event_id: int | None = None  # None: a new event


@dataclass(frozen=True)
class CancelEvent:
    event_id: int


@dataclass(frozen=True)
class WithdrawSignUp:
    event_id: int
    sign_up_id: int


@dataclass(frozen=True)
class MarkAttendance:
    """Who came to an event: sign-up id → came (True) or not (False)."""

    event_id: int
    marks: Mapping[int, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportData:
    """A file's content (already read) imported as events, rooms or resources."""

    what: str  # events | rooms | resources
    data: Any
    csv_file: bool = False


# --- the scheduler's duties -----------------------------------------------------------------


# Batched duties handle at most `limit` rows each time (one transaction) and return a Batch; the
# scheduler runs them again while a batch came back full, up to its budget per tick.


@dataclass
class Batch:
    """What one batch of a duty acted on, and whether it was full (more may be due)."""

    done: list[Any]
    full: bool


@dataclass(frozen=True)
class SendDueVisits:
    limit: int = 500


@dataclass(frozen=True)
class ExpireVisits:
    limit: int = 500


@dataclass(frozen=True)
class SendEventReminders:
    pass


@dataclass(frozen=True)
class CheckSla:
    limit: int = 500


@dataclass(frozen=True)
class SendSlaDigests:
    """Tell everyone the breaches recorded since the last digest: one message per person."""

    limit: int = 50000


@dataclass(frozen=True)
class KeepPastWeeks:
    """Read and keep the figures of past weeks (figure_cache), at most `weeks` per call."""

    weeks: int = 2


@dataclass(frozen=True)
class SendWeeklySummary:
    week: str | None = None  # an ISO week label; None: the last full week


# --- the NLU review queue -------------------------------------------------------------------


@dataclass(frozen=True)
class LabelMessage:
    """A kept message (`sheli nlu review`) labelled with the intent it should have had."""

    review_id: int
    intent: str  # an intent key ("repair") or its Chinese name ("物业报修")
    actor: Actor


# --- tickets that wait for somebody on duty (a scheduler duty) -------------------------------


@dataclass(frozen=True)
class AssignWaitingTickets:
    """Open tickets nobody could take go to whoever is on duty now."""
