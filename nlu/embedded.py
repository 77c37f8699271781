"""The embedded intent classifier: softmax regression over character n-grams, numpy only.

Chinese messages to the account are short (a median of about ten characters), so character
n-grams carry most of the signal without a word segmenter. Before features are taken the
text is normalised: half-width ASCII, lower case, locations and phone numbers replaced by
placeholders (so "3栋502" says "a place" rather than "3"), longer digit runs collapsed.

The trained model is cached as a plain `.npz` (no pickle) named after a hash of the data
files, the feature settings and CODE_VERSION, so a restart loads it instead of training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nlu.base import FALLBACK_INTENT, Entity, ParseResult
from nlu.entities import LOCATION, PHONE, EntityExtractor, to_halfwidth
from nlu.trainingdata import TrainingData

log = logging.getLogger(__name__)

# Bump when features or training change in a way that makes cached models wrong.
CODE_VERSION = "1"

_PLACEHOLDER = {LOCATION: "\ue000", PHONE: "\ue001"}
_DIGIT_RUN = re.compile(r"[0-9]{2,}")
_SPACES = re.compile(r"\s+")


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/sheli/nlu`, usually `~/.cache/sheli/nlu`."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sheli" / "nlu"


@dataclass(frozen=True)
class FeatureConfig:
    """How text becomes features and how the model is fitted (part of the cache key)."""

    min_n: int = 1
    max_n: int = 3
    l2: float = 1e-4
    epochs: int = 200
    learning_rate: float = 0.1
    balance_classes: bool = True
    seed: int = 0


def extractor_for(data: TrainingData) -> EntityExtractor:
    """The entity extractor configured by the data's regex, lookup and synonym sections."""
    return EntityExtractor(data.regexes, data.lookups, data.synonyms)


def normalise_text(text: str, entities: Sequence[Entity]) -> str:
    """The text the classifier sees: entities masked, half-width, lower case, digits folded."""
    pieces = []
    cursor = 0
    for entity in sorted(entities, key=lambda e: e.start):
        if entity.start < cursor:
            continue
        pieces.append(text[cursor : entity.start])
        pieces.append(_PLACEHOLDER.get(entity.entity, ""))
        cursor = entity.end
    pieces.append(text[cursor:])
    masked = to_halfwidth("".join(pieces)).lower()
    masked = _DIGIT_RUN.sub("00", masked)
    return _SPACES.sub(" ", masked).strip()


def ngrams(text: str, min_n: int, max_n: int) -> set[str]:
    """Character n-grams of `text` padded with start and end marks."""
    padded = f"\x02{text}\x03"
    found = set()
    for n in range(min_n, max_n + 1):
        for start in range(len(padded) - n + 1):
            gram = padded[start : start + n]
            if gram not in ("\x02", "\x03"):
                found.add(gram)
    return found


class _SparseRows:
    """A CSR matrix with unit-normalised binary rows, enough for X @ W and X.T @ G."""

    def __init__(self, rows: list[list[int]], n_features: int) -> None:
        self.n_rows = len(rows)
        self.n_features = n_features
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(lengths)])
        self.cols = np.fromiter(
            (c for r in rows for c in r), dtype=np.int64, count=int(lengths.sum())
        )
        norms = np.sqrt(np.maximum(lengths, 1)).astype(np.float64)
        self.vals = np.repeat(1.0 / norms, lengths)
        self.row_of = np.repeat(np.arange(self.n_rows), lengths)
        self.nonempty = lengths > 0
        order = np.argsort(self.cols, kind="stable")
        self.t_rows = self.row_of[order]
        self.t_vals = self.vals[order]
        counts = np.bincount(self.cols, minlength=n_features)
        self.t_indptr = np.concatenate([[0], np.cumsum(counts)])
        self.t_nonempty = counts > 0

    def matmul(self, weights: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_rows, weights.shape[1]))
        if self.cols.size:
            gathered = weights[self.cols] * self.vals[:, None]
            sums = np.add.reduceat(gathered, self.indptr[:-1][self.nonempty], axis=0)
            out[self.nonempty] = sums
        return out

    def t_matmul(self, grads: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_features, grads.shape[1]))
        if self.cols.size:
            gathered = grads[self.t_rows] * self.t_vals[:, None]
            sums = np.add.reduceat(gathered, self.t_indptr[:-1][self.t_nonempty], axis=0)
            out[self.t_nonempty] = sums
        return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def fit_softmax(
    features: _SparseRows, labels: np.ndarray, n_classes: int, config: FeatureConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression with L2, full-batch Adam; returns (weights, bias)."""
    weights = np.zeros((features.n_features, n_classes))
    bias = np.zeros(n_classes)
    onehot = np.eye(n_classes)[labels]
    if config.balance_classes:
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        per_class = len(labels) / (n_classes * np.maximum(counts, 1))
        sample_weight = per_class[labels]
    else:
        sample_weight = np.ones(len(labels))
    sample_weight = sample_weight / sample_weight.sum()
    moments = [np.zeros_like(weights), np.zeros_like(bias)]
    squares = [np.zeros_like(weights), np.zeros_like(bias)]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, config.epochs + 1):
        probs = _softmax(features.matmul(weights) + bias)
        residual = (probs - onehot) * sample_weight[:, None]
        grads = [features.t_matmul(residual) + config.l2 * weights, residual.sum(axis=0)]
        for index, (param, grad) in enumerate(zip((weights, bias), grads, strict=True)):
            moments[index] = beta1 * moments[index] + (1 - beta1) * grad
            squares[index] = beta2 * squares[index] + (1 - beta2) * grad * grad
            m_hat = moments[index] / (1 - beta1**step)
            v_hat = squares[index] / (1 - beta2**step)
            param -= config.learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    return weights, bias


class EmbeddedParser:
    """Intent classification and entity extraction in-process, trained from Rasa YAML data."""

    name = "embedded"

    def __init__(
        self,
        data: TrainingData,
        threshold: float = 0.45,
        *,
        cache_dir: Path | str | None = None,
        config: FeatureConfig | None = None,
    ) -> None:
        self.data = data
        self.threshold = threshold
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.config = config or FeatureConfig()
        self.extractor = extractor_for(data)
        self.loaded_from_cache = False
        self._vocab: dict[str, int] = {}
        self._labels: list[str] = []
        self._weights = np.zeros((0, 0))
        self._bias = np.zeros(0)

    @property
    def trained(self) -> bool:
        return bool(self._labels)

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def cache_key(self) -> str:
        """A hash of the data files, the feature settings and the code version."""
        payload = json.dumps(
            {"data": self.data.content_hash, "config": asdict(self.config), "code": CODE_VERSION},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"embedded-{self.cache_key()}.npz"

    def ensure_trained(self) -> EmbeddedParser:
        """Load the model from the cache if it is there, otherwise train (and cache) it."""
        if self.trained:
            return self
        if not self._load_cache():
            self.train()
        return self

    def train(self) -> EmbeddedParser:
        """Fit the classifier on the training examples and write it to the cache."""
        examples = self.data.examples
        if not examples:
            raise ValueError("no training examples")
        self._labels = sorted({example.intent for example in examples})
        label_index = {label: i for i, label in enumerate(self._labels)}
        grams = [self._grams(example.text) for example in examples]
        self._vocab = {}
        for found in grams:
            for gram in sorted(found):
                self._vocab.setdefault(gram, len(self._vocab))
        rows = [sorted(self._vocab[g] for g in found) for found in grams]
        matrix = _SparseRows(rows, len(self._vocab))
        labels = np.array([label_index[example.intent] for example in examples])
        self._weights, self._bias = fit_softmax(matrix, labels, len(self._labels), self.config)
        self.loaded_from_cache = False
        self._save_cache()
        return self

    def predict_proba(self, text: str) -> np.ndarray:
        """Class probabilities in the order of `labels`."""
        self.ensure_trained()
        return self._proba(self._grams(text))

    def parse(self, text: str) -> ParseResult:
        """Intent, confidence, ranking and entities of one message."""
        self.ensure_trained()
        entities = self.extractor.extract(text)
        probs = self._proba(self._grams(text, entities))
        order = np.argsort(-probs)
        ranking = [(self._labels[i], float(probs[i])) for i in order]
        intent, confidence = ranking[0]
        if confidence < self.threshold:
            intent = FALLBACK_INTENT
        return ParseResult(text, intent, confidence, entities, ranking)

    def _grams(self, text: str, entities: Sequence[Entity] | None = None) -> set[str]:
        if entities is None:
            entities = self.extractor.extract(text)
        return ngrams(normalise_text(text, entities), self.config.min_n, self.config.max_n)

    def _proba(self, grams: set[str]) -> np.ndarray:
        indices = [self._vocab[g] for g in grams if g in self._vocab]
        logits = self._bias.copy()
        if indices:
            logits += self._weights[indices].sum(axis=0) / np.sqrt(len(grams))
        return _softmax(logits)

    def _save_cache(self) -> None:
        path = self.cache_path()
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            vocab = sorted(self._vocab, key=self._vocab.__getitem__)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
            with os.fdopen(handle, "wb") as out:
                np.savez(
                    out,
                    weights=self._weights.astype(np.float32),
                    bias=self._bias.astype(np.float32),
                    vocab=np.array(vocab, dtype=str),
                    labels=np.array(self._labels, dtype=str),
                    key=np.array(self.cache_key()),
                )
            os.replace(temporary, path)
        except OSError:
            log.warning("could not write the NLU model cache at %s", path, exc_info=True)

    def _load_cache(self) -> bool:
        path = self.cache_path()
        if path is None or not path.is_file():
            return False
        try:
            with np.load(path, allow_pickle=False) as saved:
                if str(saved["key"]) != self.cache_key():
                    return False
                weights = saved["weights"].astype(np.float64)
                bias = saved["bias"].astype(np.float64)
                vocab = [str(v) for v in saved["vocab"]]
                labels = [str(v) for v in saved["labels"]]
        except (OSError, ValueError, KeyError):
            log.warning("ignoring an unreadable NLU model cache at %s", path, exc_info=True)
            return False
        if weights.shape != (len(vocab), len(labels)) or bias.shape != (len(labels),):
            return False
        self._weights, self._bias, self._labels = weights, bias, labels
        self._vocab = {gram: i for i, gram in enumerate(vocab)}
        self.loaded_from_cache = True
        return True
