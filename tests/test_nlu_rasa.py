"""The Rasa backend: against a real Rasa server (marked `rasa`) and against a tiny fake one.

The real server comes from `make rasa-install rasa-train rasa-serve`; its URL is
`SHELI_TEST_RASA_URL` (default http://127.0.0.1:5005).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from nlu.base import ParseResult
from nlu.rasa_backend import RasaParser
from tests.servers import serve_in_thread, stop

RASA_URL = os.environ.get("SHELI_TEST_RASA_URL", "http://127.0.0.1:5005").rstrip("/")


class RecordingFallback:
    """Stands in for the embedded parser and remembers what it was asked."""

    name = "recording"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def parse(self, text: str) -> ParseResult:
        self.texts.append(text)
        return ParseResult(text=text, intent="out_of_scope", confidence=0.25)


class NoFallback:
    """A fallback that must not be needed."""

    name = "none"

    def parse(self, text: str) -> ParseResult:
        raise AssertionError(f"fell back on {text!r}: Rasa did not answer")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


DIET = "DIETClassifier"
REGEX = "RegexEntityExtractor"


def found(
    entity: str, start: int, end: int, value: str, extractor: str, **extra: Any
) -> dict[str, Any]:
    """One item of the `entities` list in Rasa's answer."""
    item = {"entity": entity, "start": start, "end": end, "value": value, "extractor": extractor}
    return item | extra


# What Rasa 3.6 answered for this text with the pipeline in nlu/rasa/config.yml.
CANNED_TEXT = "3栋502热水器坏了 电话13812345678"
CANNED_ANSWER: dict[str, Any] = {
    "text": CANNED_TEXT,
    "intent": {"name": "repair", "confidence": 0.98},
    "entities": [
        {
            "entity": "location",
            "start": 0,
            "end": 5,
            "confidence_entity": 0.40,
            "value": "3栋502",
            "extractor": "DIETClassifier",
            "processors": ["EntitySynonymMapper"],
        },
        {
            "entity": "phone",
            "start": 13,
            "end": 24,
            "confidence_entity": 0.52,
            "value": "13812345678",
            "extractor": "DIETClassifier",
        },
        {
            "entity": "location",
            "start": 0,
            "end": 5,
            "value": "3栋502",
            "extractor": "RegexEntityExtractor",
            "processors": ["EntitySynonymMapper"],
        },
        {
            "entity": "phone",
            "start": 13,
            "end": 24,
            "value": "13812345678",
            "extractor": "RegexEntityExtractor",
        },
    ],
    "intent_ranking": [
        {"name": "repair", "confidence": 0.98},
        {"name": "mediation", "confidence": 0.015},
        {"name": "cancel", "confidence": 0.005},
    ],
}


class FakeRasa:
    """A tiny HTTP server on 127.0.0.1 that answers `/model/parse` as told."""

    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = json.dumps(CANNED_ANSWER).encode()
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                fake.requests.append(json.loads(self.rfile.read(length) or b"null"))
                time.sleep(fake.delay)
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(fake.body)))
                    self.end_headers()
                    self.wfile.write(fake.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the "slow server" case: the client gave up waiting, as intended

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, body: Any, status: int = 200) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    serve_in_thread(fake.server)
    yield fake
    stop(fake.server)


@pytest.fixture
def fallback() -> RecordingFallback:
    return RecordingFallback()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- without a Rasa server -----------------------------------------------------------------


def test_one_entity_per_span_and_the_regex_value_wins(
    fake_rasa: FakeRasa, fallback: RecordingFallback
) -> None:
    result = RasaParser(fake_rasa.url, fallback).parse(CANNED_TEXT)

    assert fake_rasa.requests == [{"text": CANNED_TEXT}]
    assert fallback.texts == []
    assert result.intent == "repair"
    assert result.confidence == pytest.approx(0.98)
    assert result.ranking[0] == ("repair", pytest.approx(0.98))
    assert [(e.entity, e.value, e.start, e.end) for e in result.entities] == [
        ("location", "3栋502", 0, 5),
        ("phone", "13812345678", 13, 24),
    ]


def test_overlapping_diet_span_gives_way_to_the_rule_based_one(
    fake_rasa: FakeRasa, fallback: RecordingFallback
) -> None:
    text = "３栋５０２没热水 找我138 1234 5678"
    fake_rasa.answer(
        {
            "intent": {"name": "repair", "confidence": 0.9},
            "entities": [
                found("location", 0, 2, "３栋", DIET),
                found("location", 0, 5, "３栋５０２", REGEX),
                found("phone", 11, 24, "138 1234 5678", REGEX),
                found("location", 11, 14, "138", DIET),
            ],
        }
    )

    result = RasaParser(fake_rasa.url, fallback).parse(text)

    # Values are normalised the way the embedded backend does it.
    assert [(e.entity, e.value, e.start, e.end) for e in result.entities] == [
        ("location", "3栋502", 0, 5),
        ("phone", "13812345678", 11, 24),
    ]


def test_the_synonym_mapped_value_is_kept(fake_rasa: FakeRasa, fallback: RecordingFallback) -> None:
    fake_rasa.answer(
        {
            "intent": {"name": "repair", "confidence": 0.9},
            "entities": [
                found("location", 0, 4, "12栋", REGEX, processors=["EntitySynonymMapper"]),
                found("location", 0, 4, "十二号楼", DIET),
            ],
        }
    )

    result = RasaParser(fake_rasa.url, fallback).parse("十二号楼停电了")

    assert result.first("location") == "12栋"
    assert len(result.entities) == 1


def test_fallback_intent_and_an_answer_without_intent_name(
    fake_rasa: FakeRasa, fallback: RecordingFallback
) -> None:
    fake_rasa.answer({"intent": {"name": None, "confidence": 0.0}, "entities": []})

    result = RasaParser(fake_rasa.url, fallback).parse("？？？")

    assert (result.intent, result.confidence, result.entities) == ("nlu_fallback", 0.0, [])
    assert fallback.texts == []


def test_a_closed_port_falls_back_at_once(fallback: RecordingFallback) -> None:
    parser = RasaParser(f"http://127.0.0.1:{closed_port()}", fallback, timeout=1.5)

    started = time.monotonic()
    result = parser.parse("3栋502热水器坏了")

    assert time.monotonic() - started < 1.0
    assert result.intent == "out_of_scope"
    assert fallback.texts == ["3栋502热水器坏了"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<html>oops</html>", 200),
        (b'{"intent": {"name": "repair"', 200),
        ({"error": "boom"}, 500),
        ([1, 2, 3], 200),
        ({"entities": []}, 200),
        ({"intent": "repair"}, 200),
        ({"intent": {"name": "repair", "confidence": "high"}}, 200),
        ({"intent": {"name": "repair"}, "entities": [{"entity": "location", "start": 0}]}, 200),
        ({"intent": {"name": "repair"}, "entities": [{"entity": "x", "start": 3, "end": 99}]}, 200),
    ],
    ids=[
        "html",
        "cut-json",
        "http-500",
        "json-list",
        "no-intent",
        "intent-string",
        "bad-confidence",
        "entity-without-end",
        "span-outside-text",
    ],
)
def test_a_garbage_answer_falls_back(
    fake_rasa: FakeRasa, fallback: RecordingFallback, body: Any, status: int
) -> None:
    fake_rasa.answer(body, status)

    result = RasaParser(fake_rasa.url, fallback).parse("空调坏了")

    assert len(fake_rasa.requests) == 1
    assert result.intent == "out_of_scope"
    assert fallback.texts == ["空调坏了"]


def test_a_slow_server_falls_back_within_the_timeout(
    fake_rasa: FakeRasa, fallback: RecordingFallback
) -> None:
    fake_rasa.delay = 1.0

    started = time.monotonic()
    result = RasaParser(fake_rasa.url, fallback, timeout=0.2).parse("空调坏了")

    assert time.monotonic() - started < 0.9
    assert result.intent == "out_of_scope"


def test_after_a_failure_rasa_is_left_alone_for_a_while(
    fake_rasa: FakeRasa, fallback: RecordingFallback, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    parser = RasaParser(fake_rasa.url, fallback, retry_after=10, warn_every=60, clock=clock)
    fake_rasa.answer(b"bad gateway", 502)

    with caplog.at_level(logging.INFO, logger="nlu.rasa_backend"):
        parser.parse("空调坏了")
        clock.now += 5
        parser.parse("空调还是坏的")
        assert len(fake_rasa.requests) == 1  # skipped while the breaker is open

        clock.now += 6
        parser.parse("空调坏了三天了")
        assert len(fake_rasa.requests) == 2  # tried again, failed again

        fake_rasa.answer(CANNED_ANSWER)
        clock.now += 11
        result = parser.parse(CANNED_TEXT)

    assert result.intent == "repair"
    assert len(fallback.texts) == 3
    # Two failures within a minute: one warning.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert fake_rasa.url in warnings[0].getMessage()
    assert "answers again" in caplog.records[-1].getMessage()


def test_an_empty_message_does_not_go_to_rasa(
    fake_rasa: FakeRasa, fallback: RecordingFallback
) -> None:
    RasaParser(fake_rasa.url, fallback).parse("  ")

    assert fake_rasa.requests == []
    assert fallback.texts == ["  "]


# --- against the real Rasa server ----------------------------------------------------------


@pytest.fixture(scope="module")
def rasa_url() -> str:
    try:
        status = requests.get(f"{RASA_URL}/status", timeout=2).json()
    except (requests.RequestException, ValueError):
        status = {}
    if not status.get("model_id"):
        pytest.skip(
            f"Rasa server not running on {RASA_URL} (or no model loaded): "
            "run `make rasa-install rasa-train rasa-serve`"
        )
    return RASA_URL


def raw_parse(url: str, text: str) -> dict[str, Any]:
    response = requests.post(f"{url}/model/parse", json={"text": text}, timeout=5)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.rasa
def test_real_repair_with_a_location(rasa_url: str) -> None:
    text = "3栋502热水器坏了"
    raw = raw_parse(rasa_url, text)
    assert raw["intent"]["name"] == "repair"
    assert any(e["entity"] == "location" for e in raw["entities"])

    result = RasaParser(rasa_url, NoFallback(), timeout=5).parse(text)

    assert result.intent == "repair"
    assert [(e.entity, e.value, e.start, e.end) for e in result.entities] == [
        ("location", "3栋502", 0, 5)
    ]


@pytest.mark.rasa
def test_real_phone(rasa_url: str) -> None:
    text = "B区2幢108空调不制冷 电话13812345678"

    result = RasaParser(rasa_url, NoFallback(), timeout=5).parse(text)

    phones = [e for e in result.entities if e.entity == "phone"]
    assert [(e.value, text[e.start : e.end]) for e in phones] == [("13812345678", "13812345678")]
    assert result.first("location") == "B区2幢108"
    assert result.intent == "repair"


@pytest.mark.rasa
def test_real_cancel_is_not_a_repair(rasa_url: str) -> None:
    result = RasaParser(rasa_url, NoFallback(), timeout=5).parse("取消刚才的报修")

    assert result.intent == "cancel"
    assert result.ranking[0][0] == "cancel"


@pytest.mark.rasa
def test_real_parse_answers_well_inside_the_wechat_window(rasa_url: str) -> None:
    parser = RasaParser(rasa_url, NoFallback())
    texts = ["你好", "空调坏了", "老板拖欠工资怎么办", "12栋1单元401停电了", "谢谢"]

    started = time.monotonic()
    results = [parser.parse(text) for text in texts]

    assert (time.monotonic() - started) / len(texts) < 1.0
    assert all(r.intent and 0.0 <= r.confidence <= 1.0 for r in results)


@pytest.mark.rasa
def test_a_conversation_on_the_rasa_backend(rasa_url: str, make_sheli: Any, parser: Any) -> None:
    """The whole bot on `nlu.backend=rasa`: the real server decides intents and entities."""
    from bot.app import create_app
    from nlu.rasa_backend import RasaParser
    from tests.helpers import hire
    from tests.wechat import Person, WeChatServer

    rasa = RasaParser(rasa_url, fallback=parser)
    sheli = make_sheli(nlu=rasa)
    hire(sheli, "property_steward", "张师傅", "o_zhang")
    resident = Person(WeChatServer(create_app(sheli=sheli).test_client()), "o_res", sheli)
    assert "#1" in resident.say("3栋502热水器坏了") and "张师傅" in resident.say("进度")
    assert "确认取消 #1" in resident.say("取消刚才的报修")  # confirmed first (issue 14)
    assert "#1 已取消" in resident.say("确认")
    with sheli.uow() as uow:
        ticket = uow.tickets.get(1)
    assert ticket is not None
    assert (ticket.intent, ticket.location, ticket.status) == ("repair", "3栋502", "cancelled")
    assert sheli.parser.name == "rasa"
