"""The Rasa backend: a client of a Rasa 3.6 NLU server (`rasa run --enable-api`, see rasa.mk).

Rasa needs Python 3.10, so it runs as its own process and Sheli calls `POST /model/parse`.
A reply to WeChat must leave within 5 seconds, so every call has a short timeout and any
trouble (server down, slow, an answer that is not a parse) falls back to the embedded parser.
After a failure Rasa is left alone for `retry_after` seconds, so a dead server costs one
timeout, not one per message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from nlu.base import FALLBACK_INTENT, Entity, Parser, ParseResult
from nlu.entities import LOCATION, PHONE, normalise_location, normalise_phone

log = logging.getLogger(__name__)

# Rasa reports an entity once per extractor. The rule-based ones (with synonyms applied)
# know the dormitory's address grammar; DIET only fills in what no rule found.
_EXTRACTOR_PRIORITY = {"RegexEntityExtractor": 0, "DIETClassifier": 2}
_OTHER_EXTRACTOR = 1

_NORMALISERS: dict[str, Callable[[str], str]] = {
    LOCATION: normalise_location,
    PHONE: normalise_phone,
}


class RasaAnswerError(ValueError):
    """The server answered, but not with a parse."""


class RasaParser:
    """Parses with a Rasa server; falls back to another parser whenever Rasa cannot answer."""

    name = "rasa"

    def __init__(
        self,
        url: str,
        fallback: Parser,
        timeout: float = 1.5,
        *,
        retry_after: float = 10.0,
        warn_every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url.rstrip("/")
        self.fallback = fallback
        self.timeout = timeout
        self.retry_after = retry_after
        self.warn_every = warn_every
        self._clock = clock
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._skip_until = float("-inf")
        self._last_warning = float("-inf")
        self._failing = False

    def parse(self, text: str) -> ParseResult:
        """Rasa's parse of `text`, or the fallback's when Rasa is down, slow or confused."""
        if not text.strip() or self._clock() < self._skip_until:
            return self.fallback.parse(text)
        try:
            result = parse_result_from_rasa(text, self._post(text))
        except (requests.RequestException, RasaAnswerError) as error:
            self._failed(error)
            return self.fallback.parse(text)
        if self._failing:
            self._failing = False
            log.info("Rasa NLU at %s answers again", self.url)
        return result

    def _post(self, text: str) -> Mapping[str, Any]:
        response = self._session.post(
            f"{self.url}/model/parse", json={"text": text}, timeout=self.timeout
        )
        if response.status_code != 200:
            raise RasaAnswerError(f"HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError as error:
            raise RasaAnswerError("the answer is not JSON") from error
        if not isinstance(answer, dict):
            raise RasaAnswerError("the answer is not a JSON object")
        return answer

    def _failed(self, error: Exception) -> None:
        now = self._clock()
        with self._lock:
            self._failing = True
            self._skip_until = now + self.retry_after
            warn = now - self._last_warning >= self.warn_every
            if warn:
                self._last_warning = now
        if warn:
            log.warning(
                "Rasa NLU at %s failed (%s); using the %s parser for the next %.0fs",
                self.url,
                error,
                getattr(self.fallback, "name", "fallback"),
                self.retry_after,
            )
        else:
            log.debug("Rasa NLU at %s failed again (%s)", self.url, error)


@dataclass(frozen=True)
class _Found:
    entity: Entity
    priority: int


def parse_result_from_rasa(text: str, answer: Mapping[str, Any]) -> ParseResult:
    """Map the JSON of Rasa's `/model/parse` onto a ParseResult; RasaAnswerError if it is not one."""
    try:
        intent = answer["intent"]
        name = intent.get("name") or FALLBACK_INTENT
        confidence = float(intent.get("confidence") or 0.0)
        ranking = [
            (str(item["name"]), float(item["confidence"]))
            for item in answer.get("intent_ranking") or []
        ]
        entities = _entities(text, answer.get("entities") or [])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise RasaAnswerError(f"unexpected parse: {error!r}") from error
    if not isinstance(name, str):
        raise RasaAnswerError(f"unexpected intent name {name!r}")
    return ParseResult(
        text=text, intent=name, confidence=confidence, entities=entities, ranking=ranking
    )


def _entities(text: str, raw: list[Mapping[str, Any]]) -> list[Entity]:
    """One entity per stretch of text: rule-based extractors win over DIET, then longer spans."""
    found = []
    for item in raw:
        start, end = int(item["start"]), int(item["end"])
        if not 0 <= start < end <= len(text):
            raise ValueError(f"span {start}:{end} outside the text")
        kind = str(item["entity"])
        value = str(item.get("value") or text[start:end])
        normalise = _NORMALISERS.get(kind)
        if normalise is not None:
            value = normalise(value)
        priority = _EXTRACTOR_PRIORITY.get(str(item.get("extractor")), _OTHER_EXTRACTOR)
        found.append(_Found(Entity(kind, value, start, end), priority))
    chosen: list[Entity] = []
    for candidate in sorted(found, key=lambda f: (f.priority, f.entity.start - f.entity.end)):
        entity = candidate.entity
        if all(entity.end <= other.start or other.end <= entity.start for other in chosen):
            chosen.append(entity)
    return sorted(chosen, key=lambda e: e.start)
