"""The states a ticket, its follow-up visit and an outbox message can be in.

Which changes between them are allowed is handlers/lifecycle.py's business; storage only needs
the names (to store them and to query by them).
"""

from __future__ import annotations

import enum


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REOPENED = "reopened"


# A ticket in one of these still needs work from staff.
ACTIVE_STATUSES = (
    TicketStatus.OPEN,
    TicketStatus.ASSIGNED,
    TicketStatus.ACCEPTED,
    TicketStatus.REOPENED,
)
DONE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)

# Tickets of these intents are about a person, not a place: they never appear grouped by
# building (the summary's hotspots, the dashboard's building charts and lists), and they are
# opened without a building. Here, beside the statuses, so SQL in storage and the handlers'
# figures exclude the same ones.
SENSITIVE_INTENTS = ("hardship",)

# The community every row belongs to on a site that declares none (issue 13: many communities).
DEFAULT_COMMUNITY = "default"


class FollowUpState(enum.StrEnum):
    """The follow-up visit (回访) of a ticket."""

    NONE = "none"  # not resolved yet, or reopened
    DUE = "due"  # resolved; the visit goes out at followup_due_at
    ASKED = "asked"
    ASKED_AGAIN = "asked_again"  # the first answer was unclear
    ANSWERED = "answered"
    NO_RESPONSE = "no_response"  # nobody answered within followup.expire
    SKIPPED = "skipped"  # the resident erased their data: nobody to ask


ASKED_STATES = (FollowUpState.ASKED, FollowUpState.ASKED_AGAIN)


class OutboxStatus(enum.StrEnum):
    """A message Sheli sends on its own."""

    PENDING = "pending"  # waiting for its turn or for a retry
    # Handed to WeChat, answer not recorded yet. Committed before the send, so a row still in it
    # later (a crash, a timeout, a lost "sent" mark) is a send whose outcome is unknown.
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"  # given up; kept with last_error for the operator


class MediaStatus(enum.StrEnum):
    """A photo or voice note attached to a ticket, and its copy under media.dir."""

    PENDING = "pending"  # waiting to be fetched from WeChat (or for a retry)
    FETCHED = "fetched"  # stored under media.dir: path, sha256, content type and size are set
    FAILED = "failed"  # given up; last_error says why (shown on the dashboard)
    ERASED = "erased"  # the resident erased their data (注销): file and media id are gone
