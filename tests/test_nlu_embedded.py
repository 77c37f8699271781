"""The embedded classifier: traps, fallback, the model cache, evaluation, held-out accuracy."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from nlu import build_parser
from nlu.base import ALL_INTENTS, FALLBACK_INTENT, TICKET_INTENTS, Entity, ParseResult
from nlu.embedded import EmbeddedParser
from nlu.entities import to_halfwidth
from nlu.evaluate import cross_validate, evaluate_examples, evaluate_file, stratified_folds
from nlu.trainingdata import Example, load_training_data

FIXTURE = Path(__file__).parent / "fixtures" / "nlu_small.yml"
DATA_DIR = Path(__file__).resolve().parent.parent / "nlu" / "data"
TRAIN_FILE = DATA_DIR / "nlu.yml"
TEST_FILE = DATA_DIR / "test.yml"

TRAPS = [
    ("取消刚才的报修", "cancel"),
    ("我的报修到哪一步了", "status_query"),
    ("3栋502热水器坏了", "repair"),
    ("谢谢", "thanks"),
    ("5", "rating"),
]


@pytest.fixture(scope="module")
def small() -> EmbeddedParser:
    return EmbeddedParser(load_training_data(FIXTURE), threshold=0.45).train()


def _real_data_ready() -> str | None:
    """Why the real training data cannot be used yet, or None when it can."""
    if not TRAIN_FILE.is_file():
        return f"{TRAIN_FILE} does not exist yet"
    intents = set(load_training_data(TRAIN_FILE).intents)
    missing = sorted(set(ALL_INTENTS) - intents)
    return f"{TRAIN_FILE} has no examples yet for {', '.join(missing)}" if missing else None


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedParser:
    reason = _real_data_ready()
    if reason:
        pytest.skip(reason)
    cache = tmp_path_factory.mktemp("nlu-cache")
    parser = build_parser("embedded", cache_dir=cache)
    assert isinstance(parser, EmbeddedParser)
    return parser


@pytest.mark.parametrize(("text", "intent"), TRAPS)
def test_traps_on_fixture(small: EmbeddedParser, text: str, intent: str) -> None:
    assert small.parse(text).intent == intent


# The traps named in SPEC.md and issue 16, and the choices recorded in nlu.yml's comments.
REAL_TRAPS = [
    *TRAPS,
    ("老板拖欠工资怎么办", "legal_consult"),
    ("本地最低工资标准是多少", "legal_consult"),
    ("招聘会取消了吗", "job_fair"),
    ("家里出了事，生活很困难，能申请补助吗", "hardship"),
    ("我生病住院了没钱交医药费，社区能帮忙吗", "hardship"),
    ("我想查一下我的社保交了几个月", "social_security"),
    ("公司没给交社保怎么办", "legal_consult"),
    ("楼道里电线裸露", "hazard"),
    ("空调漏水", "repair"),
    ("元宵节有没有猜灯谜活动", "event_query"),
    ("社区最近有什么活动", "event_query"),
    ("周末有没有什么讲座", "event_query"),
    ("怎么报名当志愿者", "event_query"),
]


@pytest.mark.parametrize(("text", "intent"), REAL_TRAPS)
def test_traps_on_real_data(real: EmbeddedParser, text: str, intent: str) -> None:
    assert real.parse(text).intent == intent


@pytest.mark.parametrize("parser_name", ["small", "real"])
def test_weather_is_not_a_ticket(request: pytest.FixtureRequest, parser_name: str) -> None:
    parser: EmbeddedParser = request.getfixturevalue(parser_name)
    assert parser.parse("今天天气怎么样").intent in ("out_of_scope", FALLBACK_INTENT)


def test_parse_result_carries_ranking_and_entities(small: EmbeddedParser) -> None:
    result = small.parse("３栋５０２的空调坏了，电话138 1234 5678")
    assert result.intent == "repair"
    assert result.first("location") == "3栋502"
    assert result.first("phone") == "13812345678"
    assert result.ranking[0][0] == "repair"
    assert sorted(name for name, _ in result.ranking) == sorted(small.labels)
    assert sum(p for _, p in result.ranking) == pytest.approx(1.0)
    assert result.confidence == result.ranking[0][1]


def test_below_threshold_is_fallback() -> None:
    data = load_training_data(FIXTURE)
    never_sure = EmbeddedParser(data, threshold=1.01).train()
    result = never_sure.parse("3栋502热水器坏了")
    assert result.intent == FALLBACK_INTENT
    assert result.ranking[0][0] == "repair"
    always_sure = EmbeddedParser(data, threshold=0.0).train()
    assert always_sure.parse("3栋502热水器坏了").intent == "repair"


@pytest.mark.parametrize("text", ["今天天气怎么样", "qzxv wkjh", "。。。", "明天会下雨吗"])
def test_small_talk_and_noise_open_no_ticket(real: EmbeddedParser, text: str) -> None:
    assert real.parse(text).intent in ("out_of_scope", FALLBACK_INTENT)


def test_unknown_characters_fall_back(small: EmbeddedParser) -> None:
    # nothing in the text was seen in training, so only the class priors speak
    result = small.parse("嗯嗯嗯")
    assert result.intent == FALLBACK_INTENT
    assert result.confidence < small.threshold


def test_second_build_loads_the_cache(tmp_path: Path) -> None:
    first = build_parser("embedded", data_path=FIXTURE, cache_dir=tmp_path)
    assert isinstance(first, EmbeddedParser)
    assert not first.loaded_from_cache
    assert len(list(tmp_path.glob("*.npz"))) == 1

    second = build_parser("embedded", data_path=FIXTURE, cache_dir=tmp_path)
    assert isinstance(second, EmbeddedParser)
    assert second.loaded_from_cache
    for text in ["3栋502热水器坏了", "取消刚才的报修", "今天天气怎么样"]:
        a, b = first.parse(text), second.parse(text)
        assert a.intent == b.intent
        assert a.confidence == pytest.approx(b.confidence, abs=1e-4)


def test_changed_data_retrains(tmp_path: Path) -> None:
    data_file = tmp_path / "nlu.yml"
    data_file.write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    cache = tmp_path / "cache"
    build_parser("embedded", data_path=data_file, cache_dir=cache)
    with data_file.open("a", encoding="utf-8") as out:
        out.write("- intent: greet\n  examples: |\n    - 老乡好\n")
    again = build_parser("embedded", data_path=data_file, cache_dir=cache)
    assert isinstance(again, EmbeddedParser)
    assert not again.loaded_from_cache


def test_old_models_are_pruned(tmp_path: Path) -> None:
    for age in range(7):
        stale = tmp_path / f"embedded-stale{age}.npz"
        stale.write_bytes(b"old")
        os.utime(stale, (1_000_000 + age, 1_000_000 + age))
    parser = build_parser("embedded", data_path=FIXTURE, cache_dir=tmp_path)
    assert isinstance(parser, EmbeddedParser)
    kept = sorted(p.name for p in tmp_path.glob("embedded-*.npz"))
    assert len(kept) == 5
    assert parser.cache_path() in list(tmp_path.glob("*.npz"))
    assert "embedded-stale0.npz" not in kept


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    first = build_parser("embedded", data_path=FIXTURE, cache_dir=tmp_path)
    assert isinstance(first, EmbeddedParser)
    path = first.cache_path()
    assert path is not None
    path.write_bytes(b"not a model")
    again = build_parser("embedded", data_path=FIXTURE, cache_dir=tmp_path)
    assert isinstance(again, EmbeddedParser)
    assert not again.loaded_from_cache
    assert again.parse("取消刚才的报修").intent == "cancel"


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown NLU backend"):
        build_parser("bert", data_path=FIXTURE)


class _FixedParser:
    """A parser that answers from a table, to check the metrics by hand."""

    name = "fixed"

    def __init__(self, answers: dict[str, ParseResult]) -> None:
        self.answers = answers

    def parse(self, text: str) -> ParseResult:
        return self.answers[text]


def test_evaluation_metrics() -> None:

    examples = [
        Example("3栋漏水", "repair", (Entity("location", "3栋", 0, 2),)),
        Example("三栋漏水", "repair", (Entity("location", "三栋", 0, 2),)),
        Example("吵死了", "mediation"),
        Example("天气", "out_of_scope"),
    ]
    parser = _FixedParser(
        {
            "3栋漏水": ParseResult("3栋漏水", "repair", 0.9, [Entity("location", "3栋", 0, 2)]),
            # the gold value "三栋" is compared in canonical form, "3栋"
            "三栋漏水": ParseResult(
                "三栋漏水", "mediation", 0.9, [Entity("location", "3栋", 0, 2)]
            ),
            "吵死了": ParseResult("吵死了", "mediation", 0.9),
            "天气": ParseResult("天气", FALLBACK_INTENT, 0.2),  # counts as out_of_scope
        }
    )
    evaluation = evaluate_examples(parser, examples)
    assert evaluation.total == 4
    assert evaluation.accuracy == 0.75
    assert evaluation.intents["repair"].recall == 0.5
    assert evaluation.intents["repair"].precision == 1.0
    assert evaluation.intents["mediation"].precision == 0.5
    assert evaluation.confusions == [("repair", "mediation", 1)]
    assert evaluation.entities["location"].recall == 1.0
    assert [m.text for m in evaluation.mistakes] == ["三栋漏水"]


def test_stratified_folds_spread_every_intent() -> None:
    data = load_training_data(FIXTURE)
    folds = stratified_folds(data.examples, 5)
    assert sorted(i for fold in folds for i in fold) == list(range(len(data.examples)))
    for fold in folds:
        intents = {data.examples[i].intent for i in fold}
        assert len(intents) >= len(data.intents) - 1


def test_cross_validation_runs_on_fixture() -> None:
    data = load_training_data(FIXTURE)
    evaluation = cross_validate(data, lambda subset: EmbeddedParser(subset, 0.0).train(), 5)
    assert evaluation.total == len(data.examples)
    # eight examples an intent is little to learn from; this only shows the folds are sane
    assert evaluation.accuracy > 0.4


def test_held_out_accuracy(real: EmbeddedParser) -> None:
    if not TEST_FILE.is_file():
        pytest.skip(f"{TEST_FILE} (the held-out test set) does not exist yet")
    evaluation = evaluate_file(real, TEST_FILE)
    assert evaluation.total >= 500
    assert set(evaluation.intents) == set(ALL_INTENTS)
    assert evaluation.accuracy >= 0.97
    for intent in TICKET_INTENTS:
        assert evaluation.intents[intent].recall >= 0.93, intent
    for name in ("location", "phone"):
        if name in evaluation.entities:
            assert evaluation.entities[name].recall >= 0.95, name


def _comparable(text: str) -> str:
    """A line without case, width, spaces or punctuation: "有人在吗？" is "有人在吗"."""
    return re.sub(r"[\W_]+", "", to_halfwidth(text).lower())


def test_no_test_line_is_a_training_line() -> None:
    if not (TEST_FILE.is_file() and TRAIN_FILE.is_file()):
        pytest.skip("the training or the test data does not exist yet")
    trained = {_comparable(e.text) for e in load_training_data(TRAIN_FILE).examples}
    copied = [
        e.text for e in load_training_data(TEST_FILE).examples if _comparable(e.text) in trained
    ]
    assert copied == []
