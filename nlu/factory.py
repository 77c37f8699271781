"""Build the parser the bot uses: the composition root calls `build_parser` once."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from nlu.base import Parser
from nlu.embedded import EmbeddedParser, default_cache_dir
from nlu.trainingdata import load_training_data

BACKENDS = ("embedded", "rasa")
DEFAULT_DATA_PATH = Path(__file__).resolve().parent / "data" / "nlu.yml"
DEFAULT_RASA_URL = "http://127.0.0.1:5005"


def build_embedded(
    *,
    data_path: str | Path | None = None,
    threshold: float = 0.45,
    cache_dir: Path | str | None = None,
    extra_examples: Iterable[tuple[str, str]] = (),
) -> EmbeddedParser:
    """A trained embedded parser (loaded from the cache when the data has not changed).

    `extra_examples` are labelled (text, intent) pairs trained on beside the data file,
    such as the messages labelled in the review queue.
    """
    data = load_training_data(data_path or DEFAULT_DATA_PATH)
    parser = EmbeddedParser(
        data, threshold, cache_dir=cache_dir or default_cache_dir(), extra_examples=extra_examples
    )
    return parser.ensure_trained()


def build_parser(
    backend: str = "embedded",
    *,
    data_path: str | Path | None = None,
    rasa_url: str | None = None,
    threshold: float = 0.45,
    cache_dir: Path | None = None,
    rasa_timeout: float = 1.5,
    extra_examples: Iterable[tuple[str, str]] = (),
) -> Parser:
    """The parser for `backend`: "embedded", or "rasa" with the embedded one as its fallback."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown NLU backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    embedded = build_embedded(
        data_path=data_path,
        threshold=threshold,
        cache_dir=cache_dir,
        extra_examples=extra_examples,
    )
    if backend == "embedded":
        return embedded
    # Imported here so the embedded backend never needs the Rasa client's dependencies.
    from nlu.rasa_backend import RasaParser

    return RasaParser(rasa_url or DEFAULT_RASA_URL, fallback=embedded, timeout=rasa_timeout)
