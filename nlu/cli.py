"""`sheli nlu …`: train, parse, evaluate and cross-validate the NLU.

The bot's CLI adds this group with `cli.add_command(nlu.cli.nlu)` and passes settings as
`ctx.obj = {"nlu": {"backend": …, "rasa_url": …, "threshold": …, "cache_dir": …}}`;
without them the defaults below apply. `"labelled"` may be a function returning the review
queue's labelled (text, intent) pairs: `train` and `parse` then learn from them too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from nlu.base import Parser
from nlu.embedded import EmbeddedParser, default_cache_dir
from nlu.evaluate import cross_validate, evaluate_file, format_report
from nlu.factory import BACKENDS, DEFAULT_DATA_PATH, DEFAULT_RASA_URL, build_parser
from nlu.trainingdata import TrainingData, load_training_data

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_DEFAULTS: dict[str, Any] = {
    "backend": "embedded",
    "rasa_url": DEFAULT_RASA_URL,
    "threshold": 0.45,
    "cache_dir": None,
    "rasa_timeout": 1.5,
    "data_path": None,
    "labelled": None,
}


def _settings() -> dict[str, Any]:
    settings = dict(_DEFAULTS)
    obj = click.get_current_context().obj
    if isinstance(obj, dict) and isinstance(obj.get("nlu"), dict):
        settings.update({k: v for k, v in obj["nlu"].items() if v is not None})
    return settings


def _seconds(value: Any) -> float:
    """1.5, "1.5" or "1.5s" (the config's duration style) as seconds; "500ms" too."""
    text = str(value).strip()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    return float(text.removesuffix("s"))


def _cache_dir(settings: dict[str, Any]) -> Path:
    return Path(settings["cache_dir"]) if settings["cache_dir"] else default_cache_dir()


def _data(settings: dict[str, Any]) -> TrainingData:
    return load_training_data(settings["data_path"] or DEFAULT_DATA_PATH)


def _labelled(settings: dict[str, Any], wanted: bool) -> list[tuple[str, str]]:
    """The labelled examples the caller provides (none without a provider or when not wanted)."""
    provider = settings.get("labelled")
    if not wanted or provider is None:
        return []
    try:
        return list(provider())
    except Exception as error:
        raise click.ClickException(
            f"could not read the labelled examples ({type(error).__name__}); "
            "--no-labelled uses the data file alone"
        ) from None


def _parser(
    settings: dict[str, Any], backend: str | None, labelled: list[tuple[str, str]] | None = None
) -> Parser:
    try:
        return build_parser(
            backend or settings["backend"],
            data_path=settings["data_path"],
            rasa_url=settings["rasa_url"],
            threshold=float(settings["threshold"]),
            cache_dir=_cache_dir(settings),
            rasa_timeout=_seconds(settings["rasa_timeout"]),
            extra_examples=labelled or (),
        )
    except (ValueError, FileNotFoundError, ImportError) as error:
        raise click.ClickException(str(error)) from error


_backend_option = click.option(
    "--backend", type=click.Choice(BACKENDS), default=None, help="Defaults to the configured one."
)
_labelled_option = click.option(
    "--labelled/--no-labelled",
    default=True,
    show_default=True,
    help="Learn from the messages labelled in the review queue too.",
)


@click.group()
def nlu() -> None:
    """Intent and entity understanding: train, parse, evaluate."""


@nlu.command()
@_backend_option
@_labelled_option
def train(backend: str | None, labelled: bool) -> None:
    """Train the NLU model (embedded: in-process and cached; rasa: `make rasa-train`).

    The embedded model learns from the data file plus the labelled messages; running
    services pick the same labels up by themselves.
    """
    settings = _settings()
    if (backend or settings["backend"]) == "rasa":
        completed = subprocess.run(["make", "rasa-train"], cwd=PROJECT_ROOT, check=False)
        sys.exit(completed.returncode)
    data = _data(settings)
    pairs = _labelled(settings, labelled)
    try:
        parser = EmbeddedParser(
            data, float(settings["threshold"]), cache_dir=_cache_dir(settings), extra_examples=pairs
        )
    except ValueError as error:  # a label whose intent the data file no longer has
        raise click.ClickException(str(error)) from None
    started = time.perf_counter()
    parser.train()
    seconds = time.perf_counter() - started
    click.echo(
        f"trained embedded model on {len(data.examples)} examples"
        f"{f' + {len(parser.extra_examples)} labelled' if parser.extra_examples else ''}, "
        f"{len(parser.labels)} intents in {seconds:.2f}s -> {parser.cache_path()}"
    )


@nlu.command()
@_backend_option
@_labelled_option
def parse(backend: str | None, labelled: bool) -> None:
    """Read messages from stdin, one per line; write one JSON object per line."""
    settings = _settings()
    parser = _parser(settings, backend, _labelled(settings, labelled))
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        click.echo(json.dumps(parser.parse(text).to_json(), ensure_ascii=False))


@nlu.command(name="eval")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@_backend_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--mistakes", default=0, show_default=True, help="List this many mistakes.")
def eval_command(file: Path, backend: str | None, fmt: str, mistakes: int) -> None:
    """Evaluate a backend on a Rasa-YAML test FILE."""
    settings = _settings()
    parser = _parser(settings, backend)
    evaluation = evaluate_file(parser, file, synonyms=_data(settings).synonyms)
    if fmt == "json":
        click.echo(json.dumps(evaluation.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(evaluation, f"{parser.name} on {file}", mistakes=mistakes))


@nlu.command()
@click.option("--folds", default=5, show_default=True, type=click.IntRange(min=2))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--mistakes", default=0, show_default=True, help="List this many mistakes.")
def crossval(folds: int, fmt: str, mistakes: int) -> None:
    """Stratified k-fold cross-validation of the embedded backend on the training data."""
    settings = _settings()
    threshold = float(settings["threshold"])
    evaluation = cross_validate(
        _data(settings), lambda subset: EmbeddedParser(subset, threshold).train(), folds
    )
    if fmt == "json":
        click.echo(json.dumps(evaluation.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(evaluation, f"embedded, {folds}-fold", mistakes=mistakes))
