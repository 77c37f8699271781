"""The review queue: what Sheli did not understand is kept (masked), labelled by a person, and
the running service learns it without a restart; `注销` deletes it; the CLI lists, labels and
exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app import create_app
from bot.cli import cli
from bot.scheduler import register, tick, unregister
from handlers import messages as msg
from handlers.commands import Actor, LabelMessage
from handlers.errors import Invalid, NotFound
from handlers.review import LABELS_VERSION_KEY, review_reason
from nlu.base import ParseResult
from nlu.factory import build_embedded
from nlu.trainingdata import load_training_data
from storage.models import ReviewMessage
from tests.dialogue import INBOX, Dialogue, Do, dialogue, later, only
from tests.helpers import hire
from tests.wechat import TOKEN, Person, WeChatServer

FIXTURE = Path(__file__).parent / "fixtures" / "nlu_small.yml"
# The small fixture has never seen a radiator: below the threshold until someone labels it.
UNSEEN = "楼里暖气片哐哐响"
OPERATOR = Actor.operator("admin")


def kept(sheli: Any) -> list[ReviewMessage]:
    with sheli.uow() as uow:
        return list(uow.review.newest(limit=100))


@pytest.fixture
def small_parser(tmp_path: Path) -> Any:
    """An embedded parser trained on the small fixture (fast to retrain), cached in tmp_path."""
    return build_embedded(data_path=FIXTURE, cache_dir=tmp_path / "nlu-cache")


# --- what is kept --------------------------------------------------------------------------


def test_what_sheli_did_not_understand_is_kept_masked(sheli: Any, person: Any) -> None:
    resident = person("o_resident")
    dialogue(
        [
            (resident, "那个东西又不行了，电话13812345678", msg.HELP),  # below the threshold
            (resident, "今天天气怎么样", None),  # out of scope
            (resident, "想换个宿舍", None),  # job_fair and mediation, close together
            (resident, "3栋502热水器坏了", "物业报修"),  # understood: not kept
            (resident, "进度", None),  # a keyword never reaches the NLU
            (resident, "你好", None),
        ]
    )
    rows = kept(sheli)
    assert [r.reason for r in rows] == ["close", "out_of_scope", "below_threshold"]
    fallback = rows[-1]
    assert fallback.text == "那个东西又不行了，电话138****5678"
    assert "13812345678" not in " ".join(r.text for r in rows)
    assert fallback.intent != "nlu_fallback" and fallback.confidence < 0.45
    assert fallback.runner_up is not None and fallback.runner_up_confidence is not None
    close = rows[0]
    assert {close.intent, close.runner_up} == {"job_fair", "mediation"}
    assert close.confidence - (close.runner_up_confidence or 0) < 0.15
    with sheli.uow() as uow:
        assert {r.resident_id for r in rows} == {uow.residents.by_openid("o_resident").id}


def test_review_reason_follows_threshold_scope_and_margin(sheli: Any) -> None:
    policy = sheli.policy
    assert review_reason(ParseResult("x", "nlu_fallback", 0.3), policy) == "below_threshold"
    assert review_reason(ParseResult("x", "out_of_scope", 0.99), policy) == "out_of_scope"
    close = ParseResult("x", "repair", 0.5, ranking=[("repair", 0.5), ("hazard", 0.4)])
    assert review_reason(close, policy) == "close"
    clear = ParseResult("x", "repair", 0.8, ranking=[("repair", 0.8), ("hazard", 0.1)])
    assert review_reason(clear, policy) is None
    assert review_reason(None, policy) is None
    # Rasa ranks its fallback first; the guesses behind it are what a person reviews
    rasa = ParseResult(
        "x", "nlu_fallback", 0.45, ranking=[("nlu_fallback", 0.45), ("repair", 0.4), ("greet", 0.1)]
    )
    assert review_reason(rasa, policy) == "below_threshold"


def test_what_is_kept_of_a_rasa_fallback(sheli: Any) -> None:
    from handlers.review import keep_if_unsure

    rasa = ParseResult(
        "暖气片哐哐响",
        "nlu_fallback",
        0.45,
        ranking=[("nlu_fallback", 0.45), ("repair", 0.4), ("hazard", 0.3)],
    )
    with sheli.uow() as uow:
        resident = uow.residents.get_or_create("o_res", sheli.clock.now())
        row = keep_if_unsure(uow, sheli.context(), resident, rasa)
        assert row is not None
        assert (row.intent, row.confidence, row.runner_up) == ("repair", 0.4, "hazard")


def test_a_redelivered_message_is_kept_once(sheli: Any, wechat: Any, person: Any) -> None:
    resident = person("o_resident")
    first = resident.send("text", {"Content": "今天天气怎么样"}, msg_id=424242)
    again = resident.send("text", {"Content": "今天天气怎么样"}, msg_id=424242)
    assert first.text == again.text == msg.HELP
    assert len(kept(sheli)) == 1


# --- labelling -----------------------------------------------------------------------------


def test_labelling_refuses_an_unknown_intent_or_message(sheli: Any, person: Any) -> None:
    dialogue([(person("o_resident"), "今天天气怎么样", None)])
    (row,) = kept(sheli)
    with pytest.raises(Invalid, match="complaint"):
        sheli.handle(LabelMessage(row.id, "complaint", OPERATOR))
    with pytest.raises(Invalid):
        sheli.handle(LabelMessage(row.id, "nlu_fallback", OPERATOR))
    with pytest.raises(NotFound, match="999"):
        sheli.handle(LabelMessage(999, "repair", OPERATOR))
    assert kept(sheli)[0].labelled_intent is None
    labelled = sheli.handle(LabelMessage(row.id, "无关/闲聊", OPERATOR))  # a Chinese name works
    assert (labelled.labelled_intent, labelled.labelled_by) == ("out_of_scope", "operator:admin")
    with sheli.uow() as uow:
        assert uow.values.get(LABELS_VERSION_KEY, sheli.clock.now())


def _resident_on(sheli: Any, openid: str) -> Person:
    return Person(WeChatServer(create_app(sheli=sheli).test_client()), openid, sheli)


def test_a_label_reaches_every_running_instance_within_one_tick(
    make_sheli: Any, db_url: str, small_parser: Any, clock: Any
) -> None:
    """Two app instances (two workers) on one database: a label given through one is used by
    the other after one scheduler tick, without a restart."""
    first = make_sheli(url=db_url, nlu=small_parser)
    second = make_sheli(url=db_url, nlu=small_parser)
    hire(first, "property_steward", "张师傅", "o_zhang")
    on_first = {"zhang": _resident_on(first, "o_zhang")}
    on_second = {"res": _resident_on(second, "o_res"), "nb": _resident_on(second, "o_nb")}
    talk = Dialogue({**on_first, **on_second})
    talk([("res", UNSEEN, msg.HELP)])  # not understood: kept for review
    (row,) = kept(first)
    assert row.text == UNSEEN and row.reason == "below_threshold"

    first.handle(LabelMessage(row.id, "repair", OPERATOR))  # labelled through the first

    talk(
        [
            ("nb", UNSEEN, msg.HELP),  # the second checked less than a tick ago: old model
            later(clock, seconds=15),  # one scheduler tick
            ("nb", UNSEEN, msg.ASK_LOCATION),  # now a repair: where?
            ("nb", "3栋502", ["#1", "张师傅"]),
            ("zhang", INBOX, only("#1", "暖气片")),
        ]
    )
    assert second.parser is not small_parser
    assert second.parser.parse(UNSEEN).intent == "repair"
    assert small_parser.parse(UNSEEN).intent != "repair"  # the old model was left alone


def test_the_scheduler_tick_also_picks_labels_up(
    make_sheli: Any, small_parser: Any, clock: Any
) -> None:
    sheli = make_sheli(nlu=small_parser)
    with sheli.uow() as uow:
        uow.review.add(
            ReviewMessage(
                text=UNSEEN,
                intent="rating",
                confidence=0.3,
                reason="below_threshold",
                created_at=clock.now(),
            )
        )
        uow.commit()
    key = register(sheli)
    try:
        tick(key)
        sheli.handle(LabelMessage(1, "repair", OPERATOR))
        assert sheli.parser.parse(UNSEEN).intent != "repair"
        clock.advance(seconds=15)
        tick(key)  # the tick's own duties look first
        assert sheli.parser.parse(UNSEEN).intent == "repair"
    finally:
        unregister(key)


def test_labels_in_the_database_are_used_from_the_start(
    make_sheli: Any, small_parser: Any, sqlite_url: str
) -> None:
    earlier = make_sheli(url=sqlite_url, nlu=small_parser)
    dialogue([(_resident_on(earlier, "o_res"), UNSEEN, msg.HELP)])
    earlier.handle(LabelMessage(kept(earlier)[0].id, "repair", OPERATOR))
    restarted = make_sheli(url=sqlite_url, nlu=small_parser)
    dialogue([(_resident_on(restarted, "o_res"), UNSEEN, msg.ASK_LOCATION)])


def test_a_failing_check_keeps_the_model_and_the_reply(
    make_sheli: Any, small_parser: Any, clock: Any
) -> None:
    sheli = make_sheli(nlu=small_parser)
    resident = _resident_on(sheli, "o_res")
    dialogue([(resident, "你好", None)])
    with sheli.engine.begin() as conn:  # the key_values row cannot be read any more
        conn.exec_driver_sql("ALTER TABLE key_values RENAME TO key_values_gone")
    clock.advance(seconds=15)
    assert sheli.refresh_nlu() is False
    assert sheli.parser is small_parser
    with sheli.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE key_values_gone RENAME TO key_values")
    dialogue([(resident, UNSEEN, msg.HELP)])


# --- erasure -------------------------------------------------------------------------------


def test_erasing_a_resident_deletes_their_kept_messages_and_labels(
    make_sheli: Any, small_parser: Any, clock: Any
) -> None:
    sheli = make_sheli(nlu=small_parser)
    resident, neighbour = _resident_on(sheli, "o_res"), _resident_on(sheli, "o_nb")
    dialogue([(resident, UNSEEN, msg.HELP), (neighbour, "咕噜咕噜", None)])
    rows = kept(sheli)
    assert len(rows) == 2
    mine = next(r for r in rows if r.text == UNSEEN)
    sheli.handle(LabelMessage(mine.id, "repair", OPERATOR))
    clock.advance(seconds=15)
    sheli.refresh_nlu()
    assert sheli.parser.parse(UNSEEN).intent == "repair"
    with sheli.uow() as uow:
        version = uow.values.get(LABELS_VERSION_KEY, clock.now())

    dialogue([(resident, "注销", "确认注销"), (resident, "确认注销", msg.ERASED)])

    assert [r.text for r in kept(sheli)] == ["咕噜咕噜"]  # the neighbour's stays
    with sheli.uow() as uow:
        assert uow.values.get(LABELS_VERSION_KEY, clock.now()) != version
    clock.advance(seconds=15)
    assert sheli.refresh_nlu() is True  # the erased label is no longer trained on
    assert sheli.parser.parse(UNSEEN).intent != "repair"


def test_forget_resident_counts_what_it_deleted(sheli: Any, person: Any) -> None:
    from handlers.review import forget_resident

    dialogue([(person("o_res"), "今天天气怎么样", None), (person("o_res"), "咕噜咕噜", None)])
    with sheli.uow() as uow:
        resident = uow.residents.by_openid("o_res")
        assert forget_resident(uow, resident, sheli.clock.now()) == 2
        assert uow.values.get(LABELS_VERSION_KEY, sheli.clock.now()) is None  # nothing labelled
        uow.commit()
    assert kept(sheli) == []


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str) -> dict[str, str]:
    return {
        "SHELI_DATABASE__URL": sqlite_url,
        "SHELI_WECHAT__TOKEN": TOKEN,
        "SHELI_NLU__CACHE_DIR": str(tmp_path / "cli-nlu-cache"),
    }


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, obj={}, catch_exceptions=False)


def test_cli_review_label_and_export(env: dict[str, str], sheli: Any, person: Any) -> None:
    resident = person("o_resident")
    dialogue(
        [
            (resident, "那个东西又不行了，电话13812345678", None),
            Do("a minute later", lambda: sheli.clock.advance(minutes=1)),
            (resident, "今天天气怎么样", None),
        ]
    )
    listed = run(env, "nlu", "review")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "今天天气怎么样" in lines[0] and "[不在服务范围]" in lines[0]  # newest first
    assert "138****5678" in lines[1] and "13812345678" not in listed.output
    assert "2 unlabelled" in lines[-1] and "labelled this week: 0" in lines[-1]

    page = json.loads(run(env, "nlu", "review", "--format", "json").output)
    assert [r["reason"] for r in page["rows"]] == ["out_of_scope", "below_threshold"]
    first, second = page["rows"]
    assert set(first) >= {"id", "text", "intent", "confidence", "runner_up", "created_at"}
    assert first["intent"] == "out_of_scope" and first["confidence"] > 0.5

    done = run(env, "nlu", "label", str(second["id"]), "repair")
    assert done.exit_code == 0, done.output
    assert "物业报修" in done.output
    unknown = run(env, "nlu", "label", str(first["id"]), "complaint")
    assert unknown.exit_code == 1
    assert "没有「complaint」这个意图" in unknown.output and "Traceback" not in unknown.output
    missing = run(env, "nlu", "label", "999", "repair")
    assert missing.exit_code == 1 and "没有编号为 999 的待标注消息" in missing.output

    left = json.loads(run(env, "nlu", "review", "--format", "json").output)
    assert [r["id"] for r in left["rows"]] == [first["id"]]
    assert left["labelled_this_week"] == 1
    everything = json.loads(run(env, "nlu", "review", "--all", "--format", "json").output)
    assert everything["rows"][1]["labelled_intent"] == "repair"
    assert everything["rows"][1]["labelled_by"] == "operator:cli"

    target = Path(env["SHELI_NLU__CACHE_DIR"]).parent / "export" / "labelled.yml"
    exported = run(env, "nlu", "export", str(target))
    assert exported.exit_code == 0 and "wrote 1 labelled example" in exported.output
    data = load_training_data(target)
    assert [(e.text, e.intent) for e in data.examples] == [
        ("那个东西又不行了，电话138****5678", "repair")
    ]


def test_cli_train_learns_the_labels(env: dict[str, str], sheli: Any, person: Any) -> None:
    dialogue([(person("o_resident"), "那个东西又不行了", None)])
    (row,) = kept(sheli)
    run(env, "nlu", "label", str(row.id), "repair")
    trained = run(env, "nlu", "train")
    assert trained.exit_code == 0, trained.output
    assert "+ 1 labelled" in trained.output
    assert list(Path(env["SHELI_NLU__CACHE_DIR"]).glob("embedded-*.npz"))
    alone = run(env, "nlu", "train", "--no-labelled")
    assert "labelled" not in alone.output
    parsed = CliRunner().invoke(
        cli, ["nlu", "parse"], env=env, obj={}, input="那个东西又不行了\n", catch_exceptions=False
    )
    assert json.loads(parsed.output)["intent"] == "repair"


def test_cli_review_with_nothing_kept(env: dict[str, str], sheli: Any) -> None:
    listed = run(env, "nlu", "review")
    assert listed.exit_code == 0 and msg.REVIEW_NOTHING in listed.output
