"""The embedded intent classifier: softmax regression over character n-grams, numpy only.

Chinese messages to the account are short (a median of about ten characters), so character
n-grams carry most of the signal without a word segmenter. A naive Bayes model over the same
features is blended in: it is trained in one pass and generalises differently (it counts
every seen feature rather than the few that separate the training lines best).

Before features are taken the text is normalised: half-width ASCII, lower case, locations
and phone numbers replaced by placeholders (so "3栋502" says "a place" rather than "3", while
the "楼道" of "3栋楼道" stays), longer digit runs collapsed.

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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nlu.base import FALLBACK_INTENT, Entity, ParseResult
from nlu.entities import LOCATION, PHONE, EntityExtractor, to_halfwidth
from nlu.places import FACILITY_SUFFIX
from nlu.trainingdata import TrainingData, labelled_examples, load_training_data

log = logging.getLogger(__name__)

# Bump when features or training change in a way that makes cached models wrong.
CODE_VERSION = "4"

_PLACEHOLDER = {LOCATION: "\ue000", PHONE: "\ue001"}
_DIGIT_RUN = re.compile(r"[0-9]{2,}")
_SPACES = re.compile(r"\s+")


def _fingerprint(data_hash: str, config: FeatureConfig) -> str:
    payload = json.dumps(
        {"data": data_hash, "config": asdict(config), "code": CODE_VERSION}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def training_fingerprint(
    data_path: str | Path,
    extra_examples: Iterable[tuple[str, str]] = (),
    config: FeatureConfig | None = None,
) -> str:
    """The fingerprint of a model trained on `data_path` plus the extra examples.

    Reads the data file(s) afresh, so an edited nlu.yml changes it as well as a new label.
    """
    data = load_training_data(data_path)
    pairs = labelled_examples(extra_examples)
    if pairs:
        data = data.with_examples(pairs)
    return _fingerprint(data.content_hash, config or FeatureConfig())


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/sheli/nlu`, usually `~/.cache/sheli/nlu`."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sheli" / "nlu"


@dataclass(frozen=True)
class FeatureConfig:
    """How text becomes features and how the model is fitted (part of the cache key)."""

    # Chosen by 5-fold cross-validation on nlu/data/nlu.yml (see bench/nlu_bench.py and the
    # report in the commit history): bigrams beat trigrams and 4-grams by 1-2 points, idf,
    # skip-bigrams and ASCII word features did not help, a small L2 keeps confidences high
    # enough for the fallback threshold. 100 epochs score as 150 did, in two thirds the time.
    # Blending in naive Bayes (weight 0.2, smoothing 0.1) added a point (0.886 -> 0.895).
    min_n: int = 1
    max_n: int = 2
    drop_spaces: bool = False
    ascii_words: bool = False
    skip_bigrams: bool = False
    idf: bool = False
    l2: float = 1e-6
    epochs: int = 100
    learning_rate: float = 0.3
    balance_classes: bool = True
    seed: int = 0
    nb_weight: float = 0.2
    nb_alpha: float = 0.1


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
        if entity.entity == LOCATION:
            # "3栋楼道" masks the building but keeps "楼道": what is there says what is wrong.
            facility = FACILITY_SUFFIX.search(to_halfwidth(text[entity.start : entity.end]))
            if facility:
                pieces.append(facility.group())
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


_ASCII_WORD = re.compile(r"[a-z]{2,}")


def features(normalised: str, config: FeatureConfig) -> set[str]:
    """The feature names of one normalised text."""
    text = normalised.replace(" ", "") if config.drop_spaces else normalised
    found = ngrams(text, config.min_n, config.max_n)
    if config.ascii_words:
        found.update(f"w:{word}" for word in _ASCII_WORD.findall(normalised))
    if config.skip_bigrams:
        found.update(f"s:{a}{b}" for a, b in zip(text, text[2:], strict=False))
    return found


class _SparseRows:
    """A CSR matrix with unit-length rows (binary or idf-weighted), enough for X @ W and X.T @ G."""

    def __init__(
        self, rows: list[list[int]], n_features: int, feature_weights: np.ndarray | None = None
    ) -> None:
        self.n_rows = len(rows)
        self.n_features = n_features
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(lengths)])
        self.cols = np.fromiter(
            (c for r in rows for c in r), dtype=np.int64, count=int(lengths.sum())
        )
        self.row_of = np.repeat(np.arange(self.n_rows), lengths)
        self.nonempty = lengths > 0
        raw = np.ones(self.cols.size) if feature_weights is None else feature_weights[self.cols]
        norms = np.sqrt(np.bincount(self.row_of, weights=raw * raw, minlength=self.n_rows))
        self.vals = raw / np.maximum(norms, 1e-12)[self.row_of]
        self.vals32 = self.vals.astype(np.float32)

    def matmul(self, weights: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_rows, weights.shape[1]), dtype=weights.dtype)
        if self.cols.size:
            gathered = np.take(weights, self.cols, axis=0)
            gathered *= self.vals32[:, None] if weights.dtype == np.float32 else self.vals[:, None]
            out[self.nonempty] = np.add.reduceat(gathered, self.indptr[:-1][self.nonempty], axis=0)
        return out

    def t_matmul(self, grads: np.ndarray) -> np.ndarray:
        # One bincount per class beats a 2-D gather + reduceat by about four times.
        out = np.empty((self.n_features, grads.shape[1]), dtype=grads.dtype)
        by_class = np.ascontiguousarray(grads.T)
        for column in range(grads.shape[1]):
            out[:, column] = np.bincount(
                self.cols,
                weights=self.vals * by_class[column][self.row_of],
                minlength=self.n_features,
            )
        return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def fit_softmax(
    features: _SparseRows, labels: np.ndarray, n_classes: int, config: FeatureConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression with L2, full-batch Adam; returns (weights, bias).

    In float32: half the memory traffic of float64 for the same accuracy, and training time
    is what lets a service retrain on new labels while it runs.
    """
    weights = np.zeros((features.n_features, n_classes), dtype=np.float32)
    bias = np.zeros(n_classes, dtype=np.float32)
    onehot = np.eye(n_classes, dtype=np.float32)[labels]
    if config.balance_classes:
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        per_class = len(labels) / (n_classes * np.maximum(counts, 1))
        sample_weight = per_class[labels]
    else:
        sample_weight = np.ones(len(labels))
    sample_weight = (sample_weight / sample_weight.sum()).astype(np.float32)
    params = (weights, bias)
    moments = (np.zeros_like(weights), np.zeros_like(bias))
    squares = (np.zeros_like(weights), np.zeros_like(bias))
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, config.epochs + 1):
        probs = _softmax(features.matmul(weights) + bias)
        residual = (probs - onehot) * sample_weight[:, None]
        weight_grad = features.t_matmul(residual)
        weight_grad += np.float32(config.l2) * weights
        grads = (weight_grad, residual.sum(axis=0))
        step_size = np.float32(config.learning_rate * np.sqrt(1 - beta2**step) / (1 - beta1**step))
        for param, grad, moment, square in zip(params, grads, moments, squares, strict=True):
            # Adam, in place: these arrays are the size of the vocabulary times the intents.
            moment *= np.float32(beta1)
            moment += np.float32(1 - beta1) * grad
            square *= np.float32(beta2)
            grad *= grad
            square += np.float32(1 - beta2) * grad
            update = np.sqrt(square)
            update += np.float32(eps)
            np.divide(moment, update, out=update)
            update *= step_size
            param -= update
    return weights, bias


def fit_naive_bayes(
    features: _SparseRows, labels: np.ndarray, n_classes: int, alpha: float
) -> np.ndarray:
    """Log P(feature | intent) of a multinomial naive Bayes over feature presence.

    The classes are equally likely a priori, as the balanced regression treats them.
    """
    rows_class = labels[features.row_of]
    counts = np.bincount(
        features.cols * n_classes + rows_class, minlength=features.n_features * n_classes
    ).reshape(features.n_features, n_classes)
    smoothed = counts + alpha
    return np.log(smoothed / smoothed.sum(axis=0))


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
        extra_examples: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.base_data = data
        self.extra_examples = labelled_examples(extra_examples)
        self.data = data.with_examples(self.extra_examples) if self.extra_examples else data
        self.threshold = threshold
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.config = config or FeatureConfig()
        self.extractor = extractor_for(data)
        self.loaded_from_cache = False
        self._vocab: dict[str, int] = {}
        self._labels: list[str] = []
        self._weights = np.zeros((0, 0))
        self._bias = np.zeros(0)
        self._idf = np.zeros(0)
        self._nb_log = np.zeros((0, 0))

    @property
    def trained(self) -> bool:
        return bool(self._labels)

    @property
    def _idf_unseen(self) -> float:
        return float(self._idf.max()) if self._idf.size else 1.0

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def cache_key(self) -> str:
        """A hash of the data files, the feature settings and the code version."""
        return _fingerprint(self.data.content_hash, self.config)

    @property
    def fingerprint(self) -> str:
        """What this model is trained on: data files, extra examples, settings, code version.

        Two parsers with the same fingerprint parse alike, so a running service can compare
        it with `fingerprint_with(labelled)` (or `training_fingerprint`) to know when to reload.
        """
        return self.cache_key()

    def fingerprint_with(self, extra_examples: Iterable[tuple[str, str]]) -> str:
        """The fingerprint `with_examples(extra_examples)` would have, without training."""
        pairs = labelled_examples(extra_examples)
        if not pairs:
            return _fingerprint(self.base_data.content_hash, self.config)
        return _fingerprint(self.base_data.with_examples(pairs).content_hash, self.config)

    def with_examples(self, extra_examples: Iterable[tuple[str, str]]) -> EmbeddedParser:
        """A new parser trained on the same data file plus these labelled (text, intent) pairs.

        They replace any extra examples this parser had. `self` is untouched, so a service
        can keep answering with it and swap in the new one when it is ready. The model
        comes from the cache when one with the same fingerprint is there.
        """
        parser = EmbeddedParser(
            self.base_data,
            self.threshold,
            cache_dir=self.cache_dir,
            config=self.config,
            extra_examples=extra_examples,
        )
        return parser.ensure_trained()

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
        self._idf = np.ones(len(self._vocab))
        if self.config.idf:
            document_frequency = np.bincount(
                [c for row in rows for c in row], minlength=len(self._vocab)
            )
            self._idf = np.log((1 + len(rows)) / (1 + document_frequency)) + 1
        matrix = _SparseRows(rows, len(self._vocab), self._idf)
        labels = np.array([label_index[example.intent] for example in examples])
        weights, bias = fit_softmax(matrix, labels, len(self._labels), self.config)
        nb_log = fit_naive_bayes(matrix, labels, len(self._labels), self.config.nb_alpha)
        # Kept as the cache stores them (float32), so a trained and a loaded model parse alike.
        self._weights, self._bias, self._nb_log = (
            array.astype(np.float32).astype(np.float64) for array in (weights, bias, nb_log)
        )
        self.loaded_from_cache = False
        self._save_cache()
        return self

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
        return features(normalise_text(text, entities), self.config)

    def _proba(self, grams: set[str]) -> np.ndarray:
        indices = [self._vocab[g] for g in grams if g in self._vocab]
        logits = self._bias.copy()
        if not indices:
            return _softmax(logits)  # nothing seen in training: only the priors speak
        # An unseen feature counts towards the norm as the rarest seen one would.
        weights = self._idf[indices]
        unseen = len(grams) - len(indices)
        norm = np.sqrt(weights @ weights + unseen * self._idf_unseen**2)
        logits += (weights @ self._weights[indices]) / norm
        bayes = _softmax(self._nb_log[indices].sum(axis=0))
        blend = self.config.nb_weight
        return (1 - blend) * _softmax(logits) + blend * bayes

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
                    idf=self._idf.astype(np.float32),
                    nb_log=self._nb_log.astype(np.float32),
                    vocab=np.array(vocab, dtype=str),
                    labels=np.array(self._labels, dtype=str),
                    key=np.array(self.cache_key()),
                )
            os.replace(temporary, path)
            self._prune_cache(path)
        except OSError:
            log.warning("could not write the NLU model cache at %s", path, exc_info=True)

    @staticmethod
    def _prune_cache(keep: Path, newest: int = 5) -> None:
        """Drop all but the newest few models: every data change leaves one behind."""
        models = sorted(
            keep.parent.glob("embedded-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in models[newest:]:
            if old != keep:
                old.unlink(missing_ok=True)

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
                idf = saved["idf"].astype(np.float64)
                nb_log = saved["nb_log"].astype(np.float64)
                vocab = [str(v) for v in saved["vocab"]]
                labels = [str(v) for v in saved["labels"]]
        except (OSError, ValueError, KeyError):
            log.warning("ignoring an unreadable NLU model cache at %s", path, exc_info=True)
            return False
        shapes = (weights.shape, bias.shape, idf.shape, nb_log.shape)
        size = (len(vocab), len(labels))
        if shapes != (size, (len(labels),), (len(vocab),), size):
            return False
        self._weights, self._bias, self._idf, self._labels = weights, bias, idf, labels
        self._nb_log = nb_log
        self._vocab = {gram: i for i, gram in enumerate(vocab)}
        self.loaded_from_cache = True
        return True
