"""The baseline for bench/webhook_bench.py: a bare Flask + wechatpy echo bot.

It does what any WeChat bot must: check the signature, parse the XML with wechatpy, and answer
with a wechatpy TextReply that echoes the text. No database, no NLU. Served by gunicorn with
the same settings as `sheli serve` (gthread, 4 threads per worker, an access log to stdout).

    .venv/bin/gunicorn -w 2 -k gthread --threads 4 -b 127.0.0.1:18520 bench.echo_bot:app
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from wechatpy import parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

TOKEN = os.environ.get("ECHO_TOKEN", "bench-token")
app = Flask(__name__)


@app.post("/wechat")
def receive() -> Response:
    args = request.args
    try:
        check_signature(
            TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", "")
        )
    except InvalidSignatureException:
        return Response("forbidden", status=403)
    message = parse_message(request.get_data())
    reply = TextReply(content=getattr(message, "content", "") or "success", message=message)
    return Response(reply.render(), mimetype="application/xml")


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok")
