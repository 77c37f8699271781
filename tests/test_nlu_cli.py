"""`sheli nlu …` through click's CliRunner, configured the way the bot's CLI does it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nlu.cli import nlu

FIXTURE = Path(__file__).parent / "fixtures" / "nlu_small.yml"


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, dict[str, object]]:
    return {"nlu": {"backend": "embedded", "cache_dir": str(tmp_path), "data_path": str(FIXTURE)}}


def test_parse_writes_one_json_object_per_line(settings: dict[str, dict[str, object]]) -> None:
    result = CliRunner().invoke(
        nlu, ["parse"], input="３栋５０２热水器坏了\n\n取消刚才的报修\n", obj=settings
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert set(first) == {"text", "intent", "confidence", "entities"}
    assert first["text"] == "３栋５０２热水器坏了"
    assert first["intent"] == "repair"
    assert first["entities"] == [{"entity": "location", "value": "3栋502", "start": 0, "end": 5}]
    assert second["intent"] == "cancel"
    assert second["entities"] == []
    assert "３栋５０２" in result.output  # ensure_ascii=False


def test_train_writes_the_cache(settings: dict[str, dict[str, object]], tmp_path: Path) -> None:
    result = CliRunner().invoke(nlu, ["train"], obj=settings)
    assert result.exit_code == 0, result.output
    assert "trained embedded model" in result.output
    assert list(tmp_path.glob("*.npz"))


def test_eval_json(settings: dict[str, dict[str, object]]) -> None:
    result = CliRunner().invoke(nlu, ["eval", str(FIXTURE), "--format", "json"], obj=settings)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["total"] > 50
    assert report["accuracy"] > 0.9
    assert "repair" in report["intents"]
    assert report["entities"]["location"]["exact_match"] == 1.0


def test_eval_text(settings: dict[str, dict[str, object]]) -> None:
    result = CliRunner().invoke(nlu, ["eval", str(FIXTURE)], obj=settings)
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output
    assert "macro-F1" in result.output


def test_crossval(settings: dict[str, dict[str, object]]) -> None:
    result = CliRunner().invoke(nlu, ["crossval", "--folds", "3", "--format", "json"], obj=settings)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"] > 50


def test_unknown_backend_is_a_usage_error(settings: dict[str, dict[str, object]]) -> None:
    result = CliRunner().invoke(nlu, ["parse", "--backend", "bert"], input="你好\n", obj=settings)
    assert result.exit_code == 2


def test_train_rasa_runs_the_make_target(
    settings: dict[str, dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    class Completed:
        returncode = 0

    def fake_run(command: list[str], **kwargs: object) -> Completed:
        calls.append(command)
        return Completed()

    monkeypatch.setattr("nlu.cli.subprocess.run", fake_run)
    result = CliRunner().invoke(nlu, ["train", "--backend", "rasa"], obj=settings)
    assert result.exit_code == 0, result.output
    assert calls == [["make", "rasa-train"]]


def test_rasa_backend_wraps_the_embedded_parser(tmp_path: Path) -> None:
    from nlu import build_parser
    from nlu.embedded import EmbeddedParser

    parser = build_parser(
        "rasa", data_path=FIXTURE, cache_dir=tmp_path, rasa_url="http://127.0.0.1:9"
    )
    assert parser.name == "rasa"
    assert isinstance(parser.fallback, EmbeddedParser)  # type: ignore[attr-defined]
