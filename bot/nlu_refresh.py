"""Every process keeps its NLU model in step with the review queue's labels, without a restart.

Labelling a message (handlers/review.py) changes one key_values row, `nlu:labels`. Each process
that parses text (each gunicorn worker has its own Sheli and model) looks at that row at most
once per `scheduler.tick`, before it handles a message, outside any transaction. When the row
changed, it reads the labelled examples and swaps in a model trained on the data file plus them
(`EmbeddedParser.with_examples`). The model is cached under its fingerprint, so the first worker
trains it (well under a second) and the others load it (about 0.05 s). With the Rasa backend
only the embedded fallback is retrained here; `make rasa-retrain` retrains Rasa on the labels.
"""

from __future__ import annotations

import copy
import logging
import threading
from datetime import datetime, timedelta
from typing import Protocol

from bot.logsafe import log_error
from handlers.ports import Clock
from handlers.review import labelled_examples, labels_version
from nlu.base import Parser
from nlu.embedded import EmbeddedParser
from storage.uow import AbstractUnitOfWork

log = logging.getLogger(__name__)


class _Host(Protocol):
    """What the refresher needs of a Sheli (bot.bootstrap): its clock, units of work, parser."""

    clock: Clock
    parser: Parser

    def uow(self) -> AbstractUnitOfWork: ...


def _embedded_of(parser: Parser) -> EmbeddedParser | None:
    """The embedded model a parser answers with (itself, or a Rasa parser's fallback)."""
    if isinstance(parser, EmbeddedParser):
        return parser
    fallback = getattr(parser, "fallback", None)
    return fallback if isinstance(fallback, EmbeddedParser) else None


def can_retrain(parser: Parser) -> bool:
    """True when the parser has an embedded model that labels can retrain."""
    return _embedded_of(parser) is not None


def retrained(parser: Parser, pairs: list[tuple[str, str]]) -> Parser | None:
    """`parser` trained on the data file plus `pairs`, or None when it already is.

    The parser given is left as it is (requests being answered keep using it); a Rasa parser
    comes back as a copy with a new fallback.
    """
    embedded = _embedded_of(parser)
    if embedded is None or embedded.fingerprint_with(pairs) == embedded.fingerprint:
        return None
    fresh = embedded.with_examples(pairs)
    if parser is embedded:
        return fresh
    swapped = copy.copy(parser)
    swapped.fallback = fresh  # type: ignore[attr-defined]
    return swapped


class ModelRefresher:
    """Swaps a Sheli's parser for one trained on the current labels, checking at most once per
    `interval` (by Sheli's clock). Thread-safe: one thread retrains, the others keep parsing."""

    def __init__(self, interval: timedelta) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._checked_at: datetime | None = None
        self._version: str | None = None  # the labels version this process's model reflects

    def due(self, now: datetime) -> bool:
        return self._checked_at is None or now - self._checked_at >= self.interval

    def refresh(self, sheli: _Host, *, force: bool = False) -> bool:
        """Retrain if the labels changed since this process last looked; True if swapped.

        `force` looks now, whatever the interval. A database that cannot be read is logged
        and the current model kept: understanding messages never depends on this check.
        """
        now = sheli.clock.now()
        if not force and not self.due(now):
            return False
        if not self._lock.acquire(blocking=force):
            return False  # another thread is looking already
        try:
            if not force and not self.due(now):
                return False
            self._checked_at = now
            return self._refresh(sheli, now, force)
        except Exception as exc:  # a failed check must not fail the message
            log_error(log, "NLU model refresh failed; the current model stays", exc=exc)
            return False
        finally:
            self._lock.release()

    def _refresh(self, sheli: _Host, now: datetime, force: bool) -> bool:
        with sheli.uow() as uow:
            version = labels_version(uow, now)
            if version == self._version and not force:
                return False
            pairs = labelled_examples(uow)
        fresh = retrained(sheli.parser, pairs)
        self._version = version
        if fresh is None:
            return False
        sheli.parser = fresh
        log.info("NLU model retrained with %d labelled example(s)", len(pairs))
        return True


def refresher_for(parser: Parser, interval: timedelta) -> ModelRefresher | None:
    """A refresher for a parser labels can retrain; None for anything else (NoParser, fakes)."""
    return ModelRefresher(interval) if can_retrain(parser) else None
