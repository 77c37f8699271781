"""The NLU contract shared by every backend."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# Ticket intents open a ticket; the rest steer the conversation.
TICKET_INTENTS = (
    "repair",
    "mediation",
    "legal_consult",
    "job_fair",
    "hazard",
    "hardship",
    "social_security",
)
CONVERSATION_INTENTS = (
    "greet",
    "thanks",
    "status_query",
    "cancel",
    "rating",
    "ask_human",
    "event_query",
    "out_of_scope",
)
FALLBACK_INTENT = "nlu_fallback"
ALL_INTENTS = TICKET_INTENTS + CONVERSATION_INTENTS


@dataclass(frozen=True)
class Entity:
    """One entity found in the text; `value` is normalised, `start`/`end` index the raw text."""

    entity: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class ParseResult:
    """What a parser understood of one message."""

    text: str
    intent: str
    confidence: float
    entities: list[Entity] = field(default_factory=list)
    ranking: list[tuple[str, float]] = field(default_factory=list)

    def first(self, entity: str) -> str | None:
        """The value of the first entity of that kind, if any."""
        for found in self.entities:
            if found.entity == entity:
                return found.value
        return None

    def to_json(self) -> dict[str, Any]:
        """The `sheli nlu parse` line for this result."""
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "entities": [asdict(e) for e in self.entities],
        }


class Parser(Protocol):
    """Anything that turns a message into a ParseResult."""

    name: str

    def parse(self, text: str) -> ParseResult: ...
