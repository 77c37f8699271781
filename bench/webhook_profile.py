"""The message path in-process: SQL statements per message, and where the time goes.

Sheli is built on a fresh SQLite file or PostgreSQL schema, one staff member per role is hired,
and signed WeChat XML goes through the Flask test client (no network, no gunicorn). Prints the
statements per kind of message (first contact, a request that opens a ticket, a keyword, a
re-delivery…), the mean time per message, and with `--profile` the functions that cost most
(cProfile).

    .venv/bin/python bench/webhook_profile.py [--db sqlite|postgres] [--messages 300] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import create_app  # noqa: E402
from bot.bootstrap import bootstrap  # noqa: E402
from bot.config import load_config  # noqa: E402
from handlers.commands import AddStaff  # noqa: E402
from storage.db import upgrade  # noqa: E402

TOKEN = "profile-token"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STAFF = {
    "property_steward": "o_steward",
    "branch_liaison": "o_liaison",
    "grid_worker": "o_grid",
    "legal_adviser": "o_lawyer",
    "employment_liaison": "o_job",
    "police_officer": "o_police",
}
# (label, sender, text): what the statement counts are reported for.
SCRIPT = [
    ("first contact: greeting", "o_new_{i}", "你好"),
    ("request: opens a ticket", "o_new_{i}", "{i}栋502热水器坏了"),
    ("resident keyword: 进度", "o_new_{i}", "进度"),
    ("staff keyword: 任务", "o_steward", "任务"),
    ("thanks", "o_new_{i}", "谢谢"),
]


class Counting:
    """Counts statements run on an engine while `on` is set."""

    def __init__(self, engine: Any):
        self.on = False
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on:
            self.statements.append(statement.split(None, 1)[0].upper())


def signed(client: Any, openid: str, content: str, msg_id: int) -> str:
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
    signature = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()
    xml = (
        f"<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
        f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    response = client.post(
        "/wechat",
        query_string={"signature": signature, "timestamp": ts, "nonce": nonce},
        data=xml.encode(),
    )
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}")
    return response.get_data(as_text=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="cProfile order (cumulative, tottime)")
    args = parser.parse_args()

    schema = None
    if args.db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='sheli-profile-')}/profile.db"
    else:
        schema = f"profile_{uuid.uuid4().hex[:8]}"
        with create_engine(PG).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{PG}?options=-csearch_path%3D{schema}"
    try:
        config = load_config({"database.url": url, "wechat.token": TOKEN}, environ={})
        sheli = bootstrap(config)
        upgrade(sheli.engine)
        for role, openid in STAFF.items():
            sheli.handle(AddStaff(role=role, name=role[:4], openid=openid))
        client = create_app(sheli=sheli).test_client()
        counting = Counting(sheli.engine)
        msg_id = 10**12
        signed(client, "o_warm", "你好", msg_id)  # the model and the connections are ready

        print("| message | statements | kinds |")
        print("|---|---:|---|")
        for i, (label, sender, content) in enumerate(SCRIPT):
            msg_id += 1
            counting.statements.clear()
            counting.on = True
            signed(client, sender.format(i=i), content.format(i=i + 1), msg_id)
            counting.on = False
            kinds = Counter(counting.statements)
            print(f"| {label} | {len(counting.statements)} | {dict(kinds)} |")
        counting.statements.clear()
        counting.on = True
        signed(client, "o_new_1", "进度", msg_id)  # the same MsgId again: a re-delivery
        counting.on = False
        print(f"| re-delivery of the last message | {len(counting.statements)} | |")

        profiler = cProfile.Profile() if args.profile else None
        counting.statements.clear()
        counting.on = True
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        for n in range(args.messages):
            msg_id += 1
            _, sender, content = SCRIPT[n % len(SCRIPT)]
            signed(client, sender.format(i=n % 40), content.format(i=n % 40 + 1), msg_id)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - start
        counting.on = False
        print(
            f"\n{args.db}: {args.messages} messages, {elapsed / args.messages * 1000:.2f} ms each, "
            f"{len(counting.statements) / args.messages:.1f} statements each"
        )
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(45)
            print(out.getvalue())
        sheli.engine.dispose()
    finally:
        if schema:
            with create_engine(PG).begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
