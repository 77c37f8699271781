"""Webhook throughput and latency: `sheli serve` (gunicorn) on a fresh SQLite or PostgreSQL database,
signed WeChat XML from a thread pool on loopback. Bounded: a fixed number of requests, then it stops.

    .venv/bin/python bench/webhook_bench.py [--requests 600] [--concurrency 8] [--workers 2] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
TEXTS = [
    "3栋502热水器坏了",
    "你好",
    "进度",
    "老板拖欠工资怎么办",
    "6号楼电梯坏了",
    "谢谢",
    "隔壁太吵了 5栋301",
]


def signed_post(session: requests.Session, url: str, n: int) -> float:
    ts, nonce = str(int(time.time())), str(n)
    signature = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()
    openid = f"o_bench_{n % 50}"
    xml = (
        f"<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{TEXTS[n % len(TEXTS)]}]]></Content><MsgId>{10**12 + n}</MsgId></xml>"
    )
    start = time.perf_counter()
    response = session.post(
        url,
        params={"signature": signature, "timestamp": ts, "nonce": nonce},
        data=xml.encode(),
        timeout=10,
    )
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
    return elapsed


def psql(sql: str, check: bool = True) -> None:
    """Run one statement on the PostgreSQL test database."""
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", sql], check=check
    )


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the gunicorn master and workers), in MB."""
    total = 0
    pids = [pid]
    for child in Path("/proc").iterdir():
        if child.name.isdigit():
            try:
                if int((child / "stat").read_text().split()[3]) == pid:
                    pids.append(int(child.name))
            except (OSError, ValueError, IndexError):
                continue
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="sheli-bench-")
    env = {
        **os.environ,
        "SHELI_WECHAT__TOKEN": TOKEN,
        # 50 senders writing a dozen messages each within seconds are a flood by the defaults;
        # the bench measures the work of real messages, not the polite refusals.
        "SHELI_CONVERSATION__MAX_NEW_TICKETS": "100000",
        "SHELI_CONVERSATION__MAX_MESSAGES": "100000",
    }
    schema = None
    if args.db == "sqlite":
        env["SHELI_DATABASE__URL"] = f"sqlite:///{tmp}/bench.db"
    else:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        psql(f"CREATE SCHEMA {schema}")
        env["SHELI_DATABASE__URL"] = (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        )
    sheli = [str(ROOT / ".venv" / "bin" / "sheli")]
    subprocess.run([*sheli, "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [
            *sheli,
            "serve",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
            "--no-scheduler",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{args.port}/wechat"
    try:
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{args.port}/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        session = requests.Session()
        for n in range(20):  # warm-up: load the model, open connections
            signed_post(session, url, 10**6 + n)
        sessions = [requests.Session() for _ in range(args.concurrency)]
        start = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            latencies = list(
                pool.map(
                    lambda n: signed_post(sessions[n % args.concurrency], url, n),
                    range(args.requests),
                )
            )
        wall = time.perf_counter() - start
        rss_mb = tree_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
        if schema:
            psql(f"DROP SCHEMA {schema} CASCADE", check=False)
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print("| db | workers | concurrency | requests | req/s | median ms | p99 ms | RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.db} | {args.workers} | {args.concurrency} | {args.requests} | "
        f"{args.requests / wall:.0f} | {statistics.median(latencies) * 1000:.1f} | {p(0.99):.1f} | "
        f"{rss_mb:.0f} |"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
