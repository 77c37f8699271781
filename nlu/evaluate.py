"""Measure a parser against Rasa-YAML test data, and cross-validate the embedded backend.

A prediction of `nlu_fallback` counts as `out_of_scope` when comparing intents: both mean
"not something Sheli handles", and the bot treats them the same way.

An entity is an exact match when type, span and value agree. The data annotates values as
written ("３栋５０２", "158 6677 2211", "3幢"), so both sides are compared in canonical form
with the training data's synonyms applied (`nlu.entities.resolve_value`: "3栋502",
"15866772211", "3栋").
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nlu.base import FALLBACK_INTENT, Entity, Parser
from nlu.entities import EntityExtractor
from nlu.trainingdata import Example, TrainingData, load_training_data

OUT_OF_SCOPE = "out_of_scope"


@dataclass
class IntentScore:
    """Precision, recall and F1 of one intent."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EntityScore:
    """Exact matches (same value and span) of one entity type."""

    gold: int
    predicted: int
    matched: int

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 1.0


@dataclass
class Mistake:
    """One misclassified test example."""

    text: str
    gold: str
    predicted: str
    confidence: float


@dataclass
class Evaluation:
    """Everything measured on one test set."""

    total: int
    accuracy: float
    macro_f1: float
    intents: dict[str, IntentScore]
    confusions: list[tuple[str, str, int]]
    entities: dict[str, EntityScore]
    mistakes: list[Mistake] = field(default_factory=list)
    parse_ms_median: float = 0.0
    parse_ms_p99: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (entity scores carry their recall/precision)."""
        result = asdict(self)
        result["confusions"] = [
            {"gold": gold, "predicted": predicted, "count": count}
            for gold, predicted, count in self.confusions
        ]
        for name, score in self.entities.items():
            result["entities"][name].update(
                exact_match=round(score.recall, 4), precision=round(score.precision, 4)
            )
        return result


def _comparable(intent: str) -> str:
    return OUT_OF_SCOPE if intent == FALLBACK_INTENT else intent


def _percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class _Tally:
    """What a run over test examples accumulates before it is scored."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    mistakes: list[Mistake] = field(default_factory=list)
    timings: list[float] = field(default_factory=list)
    entity_counts: dict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )
    resolver: EntityExtractor = field(default_factory=EntityExtractor)

    def run(self, parser: Parser, examples: Sequence[Example]) -> None:
        for example in examples:
            started = time.perf_counter()
            result = parser.parse(example.text)
            self.timings.append((time.perf_counter() - started) * 1000)
            gold, predicted = _comparable(example.intent), _comparable(result.intent)
            self.pairs.append((gold, predicted))
            if gold != predicted:
                self.mistakes.append(Mistake(example.text, gold, result.intent, result.confidence))
            self._count_entities(example.entities, result.entities)

    def _count_entities(self, gold: Sequence[Entity], predicted: Sequence[Entity]) -> None:
        predicted_keys = Counter(self._key(e) for e in predicted)
        for entity in predicted:
            self.entity_counts[entity.entity][1] += 1
        for entity in gold:
            self.entity_counts[entity.entity][0] += 1
            key = self._key(entity)
            if predicted_keys[key] > 0:
                predicted_keys[key] -= 1
                self.entity_counts[entity.entity][2] += 1

    def _key(self, entity: Entity) -> tuple[str, str, int, int]:
        value = self.resolver.resolve(entity.entity, entity.value)
        return (entity.entity, value, entity.start, entity.end)

    def score(self) -> Evaluation:
        pairs = self.pairs
        correct = sum(1 for gold, predicted in pairs if gold == predicted)
        intents = _intent_scores(pairs)
        confusions = Counter((gold, predicted) for gold, predicted in pairs if gold != predicted)
        return Evaluation(
            total=len(pairs),
            accuracy=correct / len(pairs) if pairs else 0.0,
            macro_f1=(sum(s.f1 for s in intents.values()) / len(intents)) if intents else 0.0,
            intents=intents,
            confusions=[(g, p, n) for (g, p), n in confusions.most_common(10)],
            entities={
                name: EntityScore(*counts) for name, counts in sorted(self.entity_counts.items())
            },
            mistakes=self.mistakes,
            parse_ms_median=_percentile(self.timings, 0.5),
            parse_ms_p99=_percentile(self.timings, 0.99),
        )


def evaluate_examples(
    parser: Parser, examples: Sequence[Example], synonyms: Mapping[str, str] | None = None
) -> Evaluation:
    """Run the parser over the examples and score intents and entities.

    `synonyms` (the training data's) canonicalise gold and predicted values alike.
    """
    tally = _Tally(resolver=EntityExtractor(synonyms=synonyms))
    tally.run(parser, examples)
    return tally.score()


def evaluate_file(
    parser: Parser, path: str | Path, synonyms: Mapping[str, str] | None = None
) -> Evaluation:
    """Evaluate on a Rasa-YAML test file (or directory)."""
    return evaluate_examples(parser, load_training_data(path).examples, synonyms)


def _intent_scores(pairs: Sequence[tuple[str, str]]) -> dict[str, IntentScore]:
    gold_counts = Counter(gold for gold, _ in pairs)
    predicted_counts = Counter(predicted for _, predicted in pairs)
    hits = Counter(gold for gold, predicted in pairs if gold == predicted)
    scores = {}
    for intent in sorted(gold_counts):
        precision = hits[intent] / predicted_counts[intent] if predicted_counts[intent] else 0.0
        recall = hits[intent] / gold_counts[intent]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[intent] = IntentScore(precision, recall, f1, gold_counts[intent])
    return scores


def stratified_folds(examples: Sequence[Example], k: int, seed: int = 0) -> list[list[int]]:
    """Indices of `examples` dealt into k folds, each intent spread evenly."""
    by_intent: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_intent[example.intent].append(index)
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for intent in sorted(by_intent):
        indices = by_intent[intent]
        rng.shuffle(indices)
        for position, index in enumerate(indices):
            folds[(offset + position) % k].append(index)
        offset += len(indices)
    return folds


def cross_validate(
    data: TrainingData,
    make_parser: Callable[[TrainingData], Parser],
    folds: int = 5,
    seed: int = 0,
) -> Evaluation:
    """Stratified k-fold cross-validation; scores are pooled over all held-out folds."""
    if folds < 2:
        raise ValueError("cross-validation needs at least two folds")
    examples = data.examples
    tally = _Tally(resolver=EntityExtractor(synonyms=data.synonyms))
    for fold in stratified_folds(examples, folds, seed):
        test_set = set(fold)
        train = [e for i, e in enumerate(examples) if i not in test_set]
        parser = make_parser(data.subset(train))
        tally.run(parser, [examples[i] for i in sorted(fold)])
    return tally.score()


def format_report(evaluation: Evaluation, title: str = "NLU evaluation", mistakes: int = 0) -> str:
    """A plain-text report: headline numbers, per-intent table, confusions, entities."""
    lines = [
        title,
        f"examples: {evaluation.total}  accuracy: {evaluation.accuracy:.4f}  "
        f"macro-F1: {evaluation.macro_f1:.4f}",
        f"parse ms: median {evaluation.parse_ms_median:.3f}  p99 {evaluation.parse_ms_p99:.3f}",
        "",
        f"{'intent':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}",
    ]
    for intent, score in evaluation.intents.items():
        lines.append(
            f"{intent:<16}{score.precision:>10.3f}{score.recall:>10.3f}"
            f"{score.f1:>10.3f}{score.support:>9}"
        )
    if evaluation.confusions:
        lines += ["", "top confusions (gold -> predicted):"]
        lines += [f"  {g} -> {p}: {n}" for g, p, n in evaluation.confusions]
    if evaluation.entities:
        lines += ["", f"{'entity':<16}{'exact-match':>12}{'precision':>10}{'gold':>7}{'found':>7}"]
        for name, entity_score in evaluation.entities.items():
            lines.append(
                f"{name:<16}{entity_score.recall:>12.3f}{entity_score.precision:>10.3f}"
                f"{entity_score.gold:>7}{entity_score.predicted:>7}"
            )
    if mistakes and evaluation.mistakes:
        lines += ["", "mistakes:"]
        for mistake in evaluation.mistakes[:mistakes]:
            lines.append(
                f"  {mistake.text!r}: {mistake.gold} -> {mistake.predicted} "
                f"({mistake.confidence:.2f})"
            )
    return "\n".join(lines)
