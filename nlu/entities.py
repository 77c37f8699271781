"""Rule-based extraction of `location` and `phone` entities.

Places follow the grammar of `nlu.places` ("3栋502", "B区2幢108", "12栋1单元401", "六号楼",
"8号楼四楼楼梯间", "1栋40号房", "３栋５０２"); the training data's `regex:`, `lookup:` and
`synonym:` sections add to it. Matching runs on a half-width copy of the text that has
exactly the raw text's length, so spans always index the raw input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nlu.base import Entity
from nlu.places import chinese_to_int, find_locations, normalise_location, to_halfwidth

LOCATION = "location"
PHONE = "phone"
ENTITY_TYPES = (LOCATION, PHONE)

_PHONE_PATTERN = re.compile(
    r"(?<![0-9])(?:\+?86[ \-]?)?(1[3-9][0-9](?:[ \-]?[0-9]){8})(?![0-9])"
    r"|(?<![0-9])(0[0-9]{2,3}-[0-9]{7,8})(?![0-9])"
)

__all__ = [
    "ENTITY_TYPES",
    "LOCATION",
    "PHONE",
    "EntityExtractor",
    "canonical_value",
    "chinese_to_int",
    "normalise_location",
    "normalise_phone",
    "resolve_value",
    "to_halfwidth",
]


def normalise_phone(surface: str) -> str:
    """Digits only, without a +86 country code."""
    digits = re.sub(r"[^0-9]", "", to_halfwidth(surface))
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def canonical_value(entity: str, value: str) -> str:
    """The normalised form of an entity value (idempotent; other entity types unchanged)."""
    if entity == LOCATION:
        return normalise_location(value)
    if entity == PHONE:
        return normalise_phone(value)
    return value


def resolve_value(entity: str, value: str, synonyms: Mapping[str, str] | None = None) -> str:
    """The canonical value after the data's synonyms: "3幢" → "3栋" when the data says so.

    A synonym may name the surface form ("Ｂ区３幢") or its normalised form ("3幢"), so it is
    looked up before and after normalisation. Keys are expected half-width and lower case.
    """
    if not synonyms:
        return canonical_value(entity, value)
    value = synonyms.get(to_halfwidth(value).lower(), value)
    value = canonical_value(entity, value)
    return canonical_value(entity, synonyms.get(value.lower(), value))


@dataclass(frozen=True)
class _Candidate:
    entity: str
    start: int
    end: int
    priority: int  # lower wins among spans of equal length


class EntityExtractor:
    """Finds `location` and `phone` entities using built-in rules plus the data's sections."""

    def __init__(
        self,
        regexes: Mapping[str, Sequence[str]] | None = None,
        lookups: Mapping[str, Sequence[str]] | None = None,
        synonyms: Mapping[str, str] | None = None,
        entity_types: Iterable[str] = ENTITY_TYPES,
    ) -> None:
        self.entity_types = tuple(entity_types)
        self._regexes: list[tuple[str, re.Pattern[str]]] = []
        for name, patterns in (regexes or {}).items():
            if name not in self.entity_types:
                continue
            for pattern in patterns:
                try:
                    self._regexes.append((name, re.compile(to_halfwidth(pattern))))
                except re.error:
                    continue  # a pattern Python cannot compile is not worth failing start-up
        self._lookup: re.Pattern[str] | None = None
        self._lookup_entity: dict[str, str] = {}
        for name, entries in (lookups or {}).items():
            if name not in self.entity_types:
                continue
            for entry in entries:
                key = to_halfwidth(entry).lower()
                if key:
                    self._lookup_entity.setdefault(key, name)
        self._synonyms = {to_halfwidth(k).lower(): v for k, v in (synonyms or {}).items()}
        # A synonym of a lookup entry ("饭堂" for "食堂") is found like the entry itself.
        for surface, canonical in self._synonyms.items():
            looked_up = self._lookup_entity.get(to_halfwidth(canonical).lower())
            if looked_up is not None and surface:
                self._lookup_entity.setdefault(surface, looked_up)
        if self._lookup_entity:
            alternatives = sorted(self._lookup_entity, key=len, reverse=True)
            self._lookup = re.compile("|".join(re.escape(a) for a in alternatives))

    def extract(self, text: str) -> list[Entity]:
        """Entities in `text`, left to right, non-overlapping, with normalised values."""
        half = to_halfwidth(text)
        candidates = list(self._builtin(half))
        candidates.extend(self._from_data(half))
        chosen: list[_Candidate] = []
        taken = [False] * len(text)
        for candidate in sorted(candidates, key=lambda c: (-(c.end - c.start), c.priority)):
            if any(taken[candidate.start : candidate.end]):
                continue
            for index in range(candidate.start, candidate.end):
                taken[index] = True
            chosen.append(candidate)
        chosen.sort(key=lambda c: c.start)
        return [
            Entity(c.entity, self.resolve(c.entity, half[c.start : c.end]), c.start, c.end)
            for c in chosen
        ]

    def resolve(self, entity: str, value: str) -> str:
        """The value an entity written as `value` gets (normalised, synonyms applied)."""
        return resolve_value(entity, value, self._synonyms)

    def _builtin(self, half: str) -> Iterable[_Candidate]:
        if PHONE in self.entity_types:
            for match in _PHONE_PATTERN.finditer(half):
                start, end = match.span()
                yield _Candidate(PHONE, start, end, 0)
        if LOCATION in self.entity_types:
            for start, end in find_locations(half):
                yield _Candidate(LOCATION, start, end, 1)

    def _from_data(self, half: str) -> Iterable[_Candidate]:
        for name, pattern in self._regexes:
            for match in pattern.finditer(half):
                start, end = _trim(half, *match.span())
                if end > start:
                    yield _Candidate(name, start, end, 2)
        if self._lookup is not None:
            lowered = half.lower()
            for match in self._lookup.finditer(lowered):
                start, end = match.span()
                name = self._lookup_entity[match.group()]
                yield _Candidate(name, start, end, 3)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop separators the optional parts of a pattern may leave at either end."""
    while start < end and text[start] in " -—":
        start += 1
    while end > start and text[end - 1] in " -—":
        end -= 1
    return start, end
