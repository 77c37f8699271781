"""`sheli serve` as a real process: gunicorn workers, the scheduler thread, SQLite — end to end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.wechat import TOKEN, message_xml, sign

SHELI = [sys.executable, "-c", "from bot.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_with_two_workers_and_the_scheduler_on_sqlite(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHELI_DATABASE__URL": f"sqlite:///{tmp_path / 's.db'}",
        "SHELI_WECHAT__TOKEN": TOKEN,
        "SHELI_OUTBOX__POLL_INTERVAL": "1s",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SHELI, *args], env=env, capture_output=True, text=True, timeout=120, check=True
        )

    run("db", "upgrade")
    run("staff", "add", "--role", "property_steward", "--name", "张师傅", "--openid", "o_zhang")
    port = free_port()
    server = subprocess.Popen(
        [*SHELI, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        ts, nonce = str(int(time.time())), "42"
        xml = message_xml("o_res", "text", {"Content": "3栋502热水器坏了", "MsgId": 777})
        reply = requests.post(
            f"{base}/wechat",
            params={"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce},
            data=xml.encode(),
            timeout=10,
        )
        assert reply.status_code == 200 and "#1" in reply.text
        status = ""
        while time.monotonic() < deadline:  # the scheduler thread delivers the staff task
            status = run("outbox", "status").stdout
            if "已发送 1" in status:
                break
            time.sleep(0.5)
        assert "已发送 1" in status and "待发送 0" in status
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "database is locked" not in errors
