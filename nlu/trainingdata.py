"""Load NLU training data written in Rasa 3.x YAML.

Only the NLU part of the format is read: `intent`, `regex`, `lookup` and `synonym` items.
Inline entity annotations are turned into plain text plus spans:

    [3栋502](location)
    [三栋]{"entity": "location", "value": "3栋"}
    [三栋](location){"entity": "location", "value": "3栋"}
    [三栋](location:3栋)            (the old Rasa 1 shorthand)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nlu.base import Entity

_ANNOTATION = re.compile(
    r"\[(?P<text>[^\]\n]+)\]"
    r"(?:\((?P<entity>[^)\n]+)\))?"
    r"(?P<json>\{[^}\n]*\})?"
)
_YAML_SUFFIXES = (".yml", ".yaml")


class TrainingDataError(ValueError):
    """The training data file cannot be read as Rasa NLU YAML."""


@dataclass(frozen=True)
class Example:
    """One training sentence: plain text, its intent and the entities annotated in it."""

    text: str
    intent: str
    entities: tuple[Entity, ...] = ()


@dataclass
class TrainingData:
    """Everything the NLU learns from: examples plus the regex/lookup/synonym sections."""

    examples: list[Example] = field(default_factory=list)
    regexes: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    # surface form -> canonical value
    synonyms: dict[str, str] = field(default_factory=dict)
    content_hash: str = ""

    @property
    def intents(self) -> list[str]:
        """Intent names in order of first appearance."""
        return list(dict.fromkeys(example.intent for example in self.examples))

    def with_examples(self, extra: Iterable[tuple[str, str]]) -> TrainingData:
        """The same data plus labelled (text, intent) pairs, e.g. from the review queue.

        The pairs go through `labelled_examples` (tidied, deduplicated, sorted), so the result
        and its hash do not depend on the order they come in. An intent the data does not
        know is refused: a new intent needs training data and a handler, not one label.
        """
        pairs = labelled_examples(extra)
        known = set(self.intents)
        unknown = sorted({intent for _, intent in pairs} - known)
        if unknown:
            raise TrainingDataError(f"unknown intent {', '.join(map(repr, unknown))}")
        return self.subset(self.examples + [Example(text, intent) for text, intent in pairs])

    def subset(self, examples: list[Example]) -> TrainingData:
        """The same sections with other examples (used for cross-validation)."""
        digest = hashlib.sha256(self.content_hash.encode())
        for example in examples:
            digest.update(f"{example.intent}\t{example.text}\n".encode())
        return TrainingData(
            examples=list(examples),
            regexes=self.regexes,
            lookups=self.lookups,
            synonyms=self.synonyms,
            content_hash=digest.hexdigest(),
        )


def parse_annotated(line: str) -> tuple[str, tuple[Entity, ...]]:
    """Strip inline entity annotations from one example line, returning text and spans."""
    pieces: list[str] = []
    entities: list[Entity] = []
    length = 0
    cursor = 0
    for match in _ANNOTATION.finditer(line):
        entity_name, value = _annotation_target(match)
        if entity_name is None:
            continue  # a literal "[...]" that is not an annotation
        before = line[cursor : match.start()]
        pieces.append(before)
        length += len(before)
        surface = match.group("text")
        entities.append(Entity(entity_name, value or surface, length, length + len(surface)))
        pieces.append(surface)
        length += len(surface)
        cursor = match.end()
    pieces.append(line[cursor:])
    return "".join(pieces), tuple(entities)


def _annotation_target(match: re.Match[str]) -> tuple[str | None, str | None]:
    entity_name: str | None = None
    value: str | None = None
    paren = match.group("entity")
    if paren:
        entity_name, _, shorthand = paren.partition(":")
        entity_name = entity_name.strip()
        value = shorthand.strip() or None
    raw_json = match.group("json")
    if raw_json:
        try:
            spec = json.loads(raw_json)
        except json.JSONDecodeError as error:
            raise TrainingDataError(f"bad entity annotation {raw_json!r}") from error
        if isinstance(spec, dict):
            entity_name = spec.get("entity", entity_name)
            value = spec.get("value", value)
    if value is not None:
        value = str(value)
    return entity_name, value


def data_files(path: str | Path) -> list[Path]:
    """The YAML files under `path` (itself if it is a file), sorted for a stable hash."""
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"no NLU data at {root}")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _YAML_SUFFIXES)


def content_hash(paths: list[Path]) -> str:
    """A sha256 over the names and bytes of the data files."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def load_training_data(path: str | Path) -> TrainingData:
    """Read one Rasa YAML file, or every YAML file in a directory, into TrainingData."""
    paths = data_files(path)
    data = TrainingData(content_hash=content_hash(paths))
    for file in paths:
        _read_file(file, data)
    return data


def load_training_text(text: str) -> TrainingData:
    """Read Rasa YAML given as a string (handy for tests)."""
    data = TrainingData(content_hash=hashlib.sha256(text.encode()).hexdigest())
    _read_document(yaml.safe_load(text), data, "<string>")
    return data


def _read_file(path: Path, data: TrainingData) -> None:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise TrainingDataError(f"{path}: {error}") from error
    _read_document(document, data, str(path))


def _read_document(document: Any, data: TrainingData, origin: str) -> None:
    if document is None:
        return
    if not isinstance(document, dict):
        raise TrainingDataError(f"{origin}: expected a mapping at the top level")
    items = document.get("nlu") or []
    if not isinstance(items, list):
        raise TrainingDataError(f"{origin}: `nlu` must be a list")
    for item in items:
        if not isinstance(item, dict):
            raise TrainingDataError(f"{origin}: every `nlu` item must be a mapping")
        lines = _example_lines(item.get("examples"))
        if "intent" in item:
            intent = str(item["intent"])
            for line in lines:
                text, entities = parse_annotated(line)
                if text:
                    data.examples.append(Example(text, intent, entities))
        elif "regex" in item:
            data.regexes.setdefault(str(item["regex"]), []).extend(lines)
        elif "lookup" in item:
            data.lookups.setdefault(str(item["lookup"]), []).extend(lines)
        elif "synonym" in item:
            canonical = str(item["synonym"])
            for line in lines:
                data.synonyms[line] = canonical


def _example_lines(examples: Any) -> list[str]:
    """Example lines from either the `|` block form or the list-of-mappings form."""
    if examples is None:
        return []
    if isinstance(examples, str):
        lines = []
        for raw in examples.splitlines():
            stripped = raw.strip()
            if stripped.startswith("- "):
                stripped = stripped[2:]
            elif stripped == "-":
                stripped = ""
            stripped = stripped.strip()
            if stripped:
                lines.append(stripped)
        return lines
    if isinstance(examples, list):
        lines = []
        for entry in examples:
            text = entry.get("text") if isinstance(entry, dict) else entry
            if text is not None and str(text).strip():
                lines.append(str(text).strip())
        return lines
    raise TrainingDataError(f"cannot read examples of type {type(examples).__name__}")


# --- labelled examples ---------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def labelled_examples(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(text, intent) pairs tidied for training: one line each, no annotation brackets.

    Whitespace runs become one space and "[" / "]" become their full-width forms, so a text
    such as "[图片](1)" is not read as an entity annotation. Empty texts are dropped. A text
    labelled twice keeps its last label (a relabel), and the result is sorted by intent
    and text, so the same labels in any order give the same data.
    """
    latest: dict[str, str] = {}
    for text, intent in pairs:
        line = _WHITESPACE.sub(" ", str(text)).strip().replace("[", "［").replace("]", "］")
        name = str(intent).strip()
        if not line or not name:
            continue
        latest.pop(line, None)
        latest[line] = name
    return sorted(((text, intent) for text, intent in latest.items()), key=lambda p: (p[1], p[0]))


def to_rasa_yaml(pairs: Iterable[tuple[str, str]], comment: str = "") -> str:
    """Labelled (text, intent) pairs as a Rasa NLU YAML document (`nlu:` / `- intent:`)."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    lines += ['version: "3.1"', "", "nlu:"]
    by_intent: dict[str, list[str]] = {}
    for text, intent in labelled_examples(pairs):
        by_intent.setdefault(intent, []).append(text)
    if not by_intent:
        lines[-1] = "nlu: []"
    for intent, texts in by_intent.items():
        name = intent if _PLAIN_NAME.fullmatch(intent) else json.dumps(intent, ensure_ascii=False)
        lines.append(f"- intent: {name}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in texts)
    return "\n".join(lines) + "\n"


def write_rasa_yaml(pairs: Iterable[tuple[str, str]], path: str | Path, comment: str = "") -> int:
    """Write labelled pairs to `path` as Rasa NLU YAML (for `sheli nlu export FILE`).

    Returns how many examples were written. The file is replaced whole, never half-written.
    """
    target = Path(path)
    examples = labelled_examples(pairs)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(to_rasa_yaml(examples, comment), encoding="utf-8")
    temporary.replace(target)
    return len(examples)
