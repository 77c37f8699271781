"""Expected refusals, by kind. The text of each is a short Chinese sentence for the person who
asked; every adapter maps each kind once (a chat reply, a CLI error, a flash, an HTTP status).

Anything that is not a DomainError is a bug: adapters log it and answer with a generic apology.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request Sheli refuses on purpose; `str(error)` is what the person is told."""


class NotFound(DomainError):
    """The ticket, event, staff member… named does not exist (or is not visible to the asker)."""


class NotAllowed(DomainError):
    """It exists, but this person may not do this to it."""


class Invalid(DomainError):
    """The request itself is wrong: a bad value, an empty note, a step the lifecycle forbids."""


class IllegalTransition(Invalid):
    """A ticket status change the lifecycle table does not allow (e.g. accepting a closed ticket)."""
