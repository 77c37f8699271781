"""Embedded vs Rasa on the held-out test set, as a Markdown table.

    .venv/bin/python bench/nlu_bench.py [--test nlu/data/test.yml] [--rasa-url URL] [--train-rasa]

The Rasa column appears when a server answers at --rasa-url (default: $SHELI_NLU__RASA_URL,
else http://127.0.0.1:5005; start one with `make rasa-serve`). It is queried
directly over HTTP, without the embedded fallback the bot wraps around it, so its numbers are
Rasa's own. Its memory is the resident set of the local processes whose command line runs
`rasa`; its training time is only measured with --train-rasa (which runs `make rasa-train`).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu.base import TICKET_INTENTS, Entity, ParseResult  # noqa: E402
from nlu.embedded import EmbeddedParser  # noqa: E402
from nlu.evaluate import Evaluation, evaluate_file  # noqa: E402
from nlu.factory import DEFAULT_DATA_PATH  # noqa: E402
from nlu.trainingdata import load_training_data  # noqa: E402


@dataclass
class Row:
    backend: str
    evaluation: Evaluation
    train_seconds: float | None
    rss_mb: float | None


class RasaHTTP:
    """The bare `/model/parse` endpoint as a Parser."""

    name = "rasa"

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def available(self) -> bool:
        try:
            return self.session.get(f"{self.url}/status", timeout=2).ok
        except requests.RequestException:
            return False

    def parse(self, text: str) -> ParseResult:
        response = self.session.post(
            f"{self.url}/model/parse", json={"text": text}, timeout=self.timeout
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        intent = body.get("intent") or {}
        entities = [
            Entity(e["entity"], str(e.get("value", "")), int(e["start"]), int(e["end"]))
            for e in body.get("entities", [])
        ]
        ranking = [(r["name"], float(r["confidence"])) for r in body.get("intent_ranking", [])]
        return ParseResult(
            text,
            intent.get("name") or "nlu_fallback",
            float(intent.get("confidence") or 0.0),
            entities,
            ranking,
        )


def rss_mb() -> float:
    """This process's resident set now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rasa_rss_mb(url: str) -> float | None:
    """Resident set of the local `rasa run` serving `url`'s port, in MB (None if not found)."""
    port = urlsplit(url).port or 5005
    total_kb = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "rasa" not in cmdline or "nlu_bench" in cmdline or " run" not in cmdline:
                continue
            if f"--port {port} " not in f"{cmdline} ":
                continue  # another Rasa server (say, another checkout's) is not this one
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024 if total_kb else None


def bench_embedded(data_path: Path, test_path: Path, threshold: float) -> Row:
    before = rss_mb()
    data = load_training_data(data_path)
    with tempfile.TemporaryDirectory() as cache:
        parser = EmbeddedParser(data, threshold, cache_dir=cache)
        started = time.perf_counter()
        parser.train()
        train_seconds = time.perf_counter() - started
    for _ in range(50):  # warm up caches before timing parses
        parser.parse("3栋502热水器坏了")
    evaluation = evaluate_file(parser, test_path, data.synonyms)
    return Row("embedded", evaluation, train_seconds, rss_mb() - before)


def bench_rasa(url: str, data_path: Path, test_path: Path, train: bool) -> Row | None:
    train_seconds = None
    if train:
        started = time.perf_counter()
        subprocess.run(["make", "rasa-train"], cwd=ROOT, check=True)
        train_seconds = time.perf_counter() - started
    parser = RasaHTTP(url)
    if not parser.available():
        print(f"(no Rasa server at {url}; rasa column skipped)", file=sys.stderr)
        return None
    for _ in range(5):
        parser.parse("3栋502热水器坏了")
    evaluation = evaluate_file(parser, test_path, load_training_data(data_path).synonyms)
    return Row("rasa", evaluation, train_seconds, rasa_rss_mb(url))


def _fmt(value: float | None, pattern: str) -> str:
    return "n/a" if value is None else format(value, pattern)


def markdown(rows: list[Row], test_path: Path) -> str:
    lines = [
        f"NLU on `{test_path.relative_to(ROOT) if test_path.is_relative_to(ROOT) else test_path}`"
        f" ({rows[0].evaluation.total} examples)",
        "",
        "| backend | accuracy | macro-F1 | location exact | phone exact | parse median ms "
        "| parse p99 ms | train s | RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ev = row.evaluation
        location = ev.entities.get("location")
        phone = ev.entities.get("phone")
        lines.append(
            f"| {row.backend} | {ev.accuracy:.4f} | {ev.macro_f1:.4f} "
            f"| {_fmt(location.recall if location else None, '.4f')} "
            f"| {_fmt(phone.recall if phone else None, '.4f')} "
            f"| {ev.parse_ms_median:.3f} | {ev.parse_ms_p99:.3f} "
            f"| {_fmt(row.train_seconds, '.2f')} | {_fmt(row.rss_mb, '.1f')} |"
        )
    lines += [
        "",
        "Recall by ticket intent",
        "",
        "| intent | " + " | ".join(row.backend for row in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    for intent in TICKET_INTENTS:
        recalls = [row.evaluation.intents.get(intent) for row in rows]
        cells = " | ".join(_fmt(score.recall if score else None, ".3f") for score in recalls)
        lines.append(f"| {intent} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_PATH)
    parser.add_argument("--test", type=Path, default=ROOT / "nlu" / "data" / "test.yml")
    parser.add_argument(
        "--rasa-url", default=os.environ.get("SHELI_NLU__RASA_URL", "http://127.0.0.1:5005")
    )
    parser.add_argument("--threshold", type=float, default=0.45)
    parser.add_argument("--train-rasa", action="store_true", help="time `make rasa-train` too")
    args = parser.parse_args(argv)
    if not args.test.is_file():
        print(f"no test set at {args.test}", file=sys.stderr)
        return 1
    rows = [bench_embedded(args.data, args.test, args.threshold)]
    rasa = bench_rasa(args.rasa_url, args.data, args.test, args.train_rasa)
    if rasa is not None:
        rows.append(rasa)
    print(markdown(rows, args.test.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
