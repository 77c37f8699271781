"""Webhook throughput and latency: `sheli serve` (gunicorn) on a fresh SQLite or PostgreSQL database,
signed WeChat XML from a thread pool on loopback. Bounded: a fixed number of requests, then it stops.

In the same run, the same requests go to a bare Flask + wechatpy echo bot (bench/echo_bot.py)
under the same gunicorn settings: the baseline, and the ratio of Sheli's throughput to it.

    .venv/bin/python bench/webhook_bench.py [--requests 2000] [--concurrency 10] [--workers 2]
        [--db sqlite|postgres] [--port 18501] [--no-echo]
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


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for child in Path("/proc").iterdir():
        if child.name.isdigit():
            try:
                if int((child / "stat").read_text().split()[3]) == pid:
                    pids.append(int(child.name))
            except (OSError, ValueError, IndexError):
                continue
    return pids


def _memory_kb(pids: list[int], field: str, source: str) -> int:
    total = 0
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/{source}").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the gunicorn master and workers), in MB.

    RSS counts the pages the forked workers share with the master once per process."""
    return _memory_kb(_tree(pid), "VmRSS:", "status") / 1024


def tree_pss_mb(pid: int) -> float:
    """The same as proportional set size: shared pages divided among the processes sharing them."""
    return _memory_kb(_tree(pid), "Pss:", "smaps_rollup") / 1024


def wait_until_up(port: int) -> None:
    for _ in range(150):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on port {port}")


def hammer(url: str, total: int, concurrency: int, first: int = 0) -> tuple[float, list[float]]:
    """`total` signed messages from `concurrency` senders: (seconds, latencies sorted)."""
    session = requests.Session()
    for n in range(20):  # warm-up: load the model, open connections
        signed_post(session, url, 10**6 + first + n)
    sessions = [requests.Session() for _ in range(concurrency)]
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(
            pool.map(lambda n: signed_post(sessions[n % concurrency], url, first + n), range(total))
        )
    return time.perf_counter() - start, sorted(latencies)


def echo_baseline(args: argparse.Namespace) -> tuple[float, list[float], float, float]:
    """The echo bot under the same gunicorn settings: (seconds, latencies, RSS MB, PSS MB)."""
    port = args.port + 1
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "-",
            "--chdir",
            str(ROOT),
            "bench.echo_bot:app",
        ],
        env={**os.environ, "ECHO_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(port)
        wall, latencies = hammer(f"http://127.0.0.1:{port}/wechat", args.requests, args.concurrency)
        return wall, latencies, tree_rss_mb(server.pid), tree_pss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)


def row(
    name: str, args: argparse.Namespace, wall: float, latencies: list[float], rss: float, pss: float
) -> str:
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000
    return (
        f"| {name} | {args.workers} | {args.concurrency} | {args.requests} | "
        f"{args.requests / wall:.0f} | {statistics.median(latencies) * 1000:.1f} | {p99:.1f} | "
        f"{rss:.0f} | {pss:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--port", type=int, default=18501)
    parser.add_argument("--no-echo", action="store_true", help="skip the echo bot baseline")
    args = parser.parse_args()
    echo = None if args.no_echo else echo_baseline(args)

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
        wait_until_up(args.port)
        wall, latencies = hammer(url, args.requests, args.concurrency)
        rss_mb, pss_mb = tree_rss_mb(server.pid), tree_pss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
        if schema:
            psql(f"DROP SCHEMA {schema} CASCADE", check=False)
    print(
        "| server | workers | concurrency | requests | req/s | median ms | p99 ms | RSS MB | PSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(row(f"sheli ({args.db})", args, wall, latencies, rss_mb, pss_mb))
    if echo is not None:
        print(row("echo bot (Flask + wechatpy)", args, *echo))
        print(f"\nratio sheli/echo: {echo[0] / wall:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
