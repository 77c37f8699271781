"""Retraining from labelled messages: extra examples, the fingerprint, the YAML export, Rasa."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nlu import build_parser
from nlu.embedded import EmbeddedParser, training_fingerprint
from nlu.factory import build_embedded
from nlu.trainingdata import (
    TrainingDataError,
    labelled_examples,
    load_training_data,
    load_training_text,
    to_rasa_yaml,
    write_rasa_yaml,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "nlu_small.yml"
TRAIN_FILE = ROOT / "nlu" / "data" / "nlu.yml"

# Words the small fixture never saw: before labelling it cannot know what they ask for.
UNSEEN = "楼里暖气片哐哐响"
LABELS = [
    (UNSEEN, "repair"),
    ("暖气片哐哐响睡不着", "repair"),
    ("隔壁打呼噜震天响", "mediation"),
]


def test_labelled_examples_are_trained_on(tmp_path: Path) -> None:
    parser = build_embedded(data_path=FIXTURE, cache_dir=tmp_path, threshold=0.45)
    assert parser.parse(UNSEEN).intent != "repair"
    retrained = parser.with_examples(LABELS)
    assert retrained.parse(UNSEEN).intent == "repair"
    assert retrained.parse("隔壁打呼噜震天响").intent == "mediation"
    assert parser.parse(UNSEEN).intent != "repair"  # the old parser is left as it was
    assert len(retrained.data.examples) == len(parser.data.examples) + len(LABELS)


def test_the_fingerprint_says_what_a_model_was_trained_on(tmp_path: Path) -> None:
    parser = build_embedded(data_path=FIXTURE, cache_dir=tmp_path)
    assert parser.fingerprint == training_fingerprint(FIXTURE)
    assert parser.fingerprint_with([]) == parser.fingerprint

    expected = parser.fingerprint_with(LABELS)
    assert expected != parser.fingerprint
    assert expected == training_fingerprint(FIXTURE, LABELS)
    # the order the labels come in does not matter, nor does whitespace around them
    assert parser.fingerprint_with(reversed(LABELS)) == expected
    assert parser.fingerprint_with([(f" {t}\n", i) for t, i in LABELS]) == expected
    retrained = parser.with_examples(LABELS)
    assert retrained.fingerprint == expected

    # relabelling one message changes it; dropping the labels goes back to the data alone
    relabelled = [*LABELS[:2], ("隔壁打呼噜震天响", "out_of_scope")]
    assert parser.fingerprint_with(relabelled) not in (expected, parser.fingerprint)
    assert retrained.fingerprint_with([]) == parser.fingerprint


def test_an_edited_data_file_changes_the_fingerprint(tmp_path: Path) -> None:
    data_file = tmp_path / "nlu.yml"
    shutil.copy(FIXTURE, data_file)
    before = training_fingerprint(data_file)
    with data_file.open("a", encoding="utf-8") as out:
        out.write("- intent: greet\n  examples: |\n    - 老乡好\n")
    assert training_fingerprint(data_file) != before


def test_a_retrained_model_is_cached_under_its_fingerprint(tmp_path: Path) -> None:
    first = build_embedded(data_path=FIXTURE, cache_dir=tmp_path, extra_examples=LABELS)
    assert not first.loaded_from_cache
    again = build_embedded(data_path=FIXTURE, cache_dir=tmp_path).with_examples(LABELS)
    assert again.loaded_from_cache
    assert again.fingerprint == first.fingerprint
    assert again.parse(UNSEEN).intent == "repair"


def test_build_parser_passes_the_labels_on(tmp_path: Path) -> None:
    parser = build_parser("embedded", data_path=FIXTURE, cache_dir=tmp_path, extra_examples=LABELS)
    assert parser.parse(UNSEEN).intent == "repair"


def test_an_unknown_intent_is_refused() -> None:
    data = load_training_data(FIXTURE)
    with pytest.raises(TrainingDataError, match="'complaint'"):
        EmbeddedParser(data, extra_examples=[("物业太差了", "complaint")])


def test_training_on_the_real_data_with_labels_learns_them(tmp_path: Path) -> None:
    # How long this takes is bench/nlu_bench.py's business (README: train 0.6 s), not a test's:
    # tests must pass on a busy machine.
    data = load_training_data(TRAIN_FILE)
    labels = [(f"第{n}个标注的例子 楼道灯坏了", "repair") for n in range(100)]
    parser = EmbeddedParser(data, extra_examples=labels)
    parser.train()
    assert parser.parse("第7个标注的例子 楼道灯坏了").intent == "repair"


def test_labelled_examples_are_tidied() -> None:
    pairs = [
        ("  空调\n漏水了 ", "repair"),
        ("", "repair"),
        ("   ", "greet"),
        ("收到[图片](1)", "out_of_scope"),
        ("你好", "greet"),
        ("空调 漏水了", "mediation"),  # relabelled later: the last label wins
    ]
    assert labelled_examples(pairs) == [
        ("你好", "greet"),
        ("空调 漏水了", "mediation"),
        ("收到［图片］(1)", "out_of_scope"),
    ]


def test_export_writes_rasa_yaml_that_reads_back(tmp_path: Path) -> None:
    pairs = [
        ("3栋502热水器坏了", "repair"),
        ("#1 什么时候来修", "status_query"),
        ("- 开头是横线", "out_of_scope"),
        ("引号\"和'冒号: 都照写", "out_of_scope"),
        ("收到[图片](1)", "out_of_scope"),
        ("空调漏水", "repair"),
    ]
    path = tmp_path / "var" / "nlu" / "labelled.yml"
    assert write_rasa_yaml(pairs, path, comment="Labelled in the review queue") == 6
    text = path.read_text(encoding="utf-8")
    assert text.startswith('# Labelled in the review queue\nversion: "3.1"\n')
    assert "- intent: repair\n  examples: |\n    - 3栋502热水器坏了\n    - 空调漏水\n" in text
    data = load_training_data(path)
    assert sorted((e.text, e.intent) for e in data.examples) == sorted(
        (t.replace("[", "［").replace("]", "］"), i) for t, i in pairs
    )
    assert all(not e.entities for e in data.examples)
    assert not list(path.parent.glob(".*.tmp"))


def test_export_of_nothing_is_still_valid_yaml(tmp_path: Path) -> None:
    assert load_training_text(to_rasa_yaml([])).examples == []
    path = tmp_path / "labelled.yml"
    assert write_rasa_yaml([], path) == 0
    assert load_training_data(path).examples == []


FAKE_RASA = """#!/bin/sh
# Stands in for `rasa train nlu ...`: records the data files it was given, writes a model.
while [ $# -gt 0 ]; do
  case "$1" in
    --nlu) data="$2"; shift ;;
    --out) out="$2"; shift ;;
    --fixed-model-name) name="$2"; shift ;;
  esac
  shift
done
ls "$data" > "$RECORD"
cat "$data"/*.yml >> "$RECORD"
mkdir -p "$out" && echo model > "$out/$name.tar.gz"
"""


def _rasa_train(
    tmp_path: Path, target: str, environ: dict[str, str] | None = None, **variables: str
) -> subprocess.CompletedProcess:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    fake = venv / "bin" / "rasa"
    fake.write_text(FAKE_RASA)
    fake.chmod(0o755)
    (venv / ".installed-rasa").touch()
    settings = {
        "RASA_VENV": str(venv),
        "RASA_STATE": str(tmp_path / "state"),
        "RASA_MODELS": str(tmp_path / "models"),
        **variables,
    }
    command = ["make", "--no-print-directory", "-f", "nlu/rasa/rasa.mk", target]
    command += [f"{key}={value}" for key, value in settings.items()]
    env = {**os.environ, "RECORD": str(tmp_path / "record.txt"), **(environ or {})}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_rasa_retrain_includes_the_labelled_examples(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.yml"
    write_rasa_yaml([("暖气片哐哐响", "repair")], labelled)
    # RASA_EXPORT empty: the file as given, not an export from the configured database
    done = _rasa_train(tmp_path, "rasa-retrain", RASA_EXTRA_DATA=str(labelled), RASA_EXPORT="")
    assert done.returncode == 0, done.stdout + done.stderr
    record = (tmp_path / "record.txt").read_text(encoding="utf-8")
    assert record.splitlines()[:2] == ["labelled.yml", "nlu.yml"]
    assert "    - 暖气片哐哐响" in record  # the labelled example
    assert "- intent: job_fair" in record  # and the data file
    assert (tmp_path / "models" / "sheli-nlu.tar.gz").is_file()

    # without the file, Rasa sees the data file alone
    done = _rasa_train(
        tmp_path, "rasa-retrain", RASA_EXTRA_DATA=str(tmp_path / "none.yml"), RASA_EXPORT=""
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "record.txt").read_text(encoding="utf-8").splitlines()[0] == "nlu.yml"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "sheli").exists(), reason="no .venv/bin/sheli")
def test_rasa_retrain_exports_the_review_queue_first(tmp_path: Path, make_sheli: Any) -> None:
    """`make rasa-retrain` runs `sheli nlu export` on the configured database, then trains."""
    from handlers.commands import Actor, LabelMessage
    from storage.models import ReviewMessage

    url = f"sqlite:///{tmp_path / 'sheli.db'}"
    sheli = make_sheli(url=url)
    with sheli.uow() as uow:
        for text in ("暖气片哐哐响", "咕噜咕噜"):
            uow.review.add(
                ReviewMessage(
                    text=text,
                    intent="out_of_scope",
                    confidence=0.3,
                    reason="below_threshold",
                    created_at=sheli.clock.now(),
                )
            )
        uow.commit()
    sheli.handle(LabelMessage(1, "repair", Actor.operator("admin")))
    labelled = tmp_path / "var" / "labelled.yml"
    done = _rasa_train(
        tmp_path,
        "rasa-retrain",
        environ={"SHELI_DATABASE__URL": url, "SHELI_NLU__CACHE_DIR": str(tmp_path / "cache")},
        RASA_EXTRA_DATA=str(labelled),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrote 1 labelled example(s)" in done.stdout
    record = (tmp_path / "record.txt").read_text(encoding="utf-8")
    assert record.splitlines()[:2] == ["labelled.yml", "nlu.yml"]
    assert "- intent: repair\n  examples: |\n    - 暖气片哐哐响" in record
    assert "咕噜咕噜" not in record  # not labelled: not trained on
