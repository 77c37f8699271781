"""The Flask app factory: nothing is built at import time."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from bot.bootstrap import Sheli, bootstrap
from bot.config import Config

log = logging.getLogger(__name__)


def create_app(config: Config | None = None, *, sheli: Sheli | None = None) -> Flask:
    """Build the web app around a wired Sheli (built from `config` when not given)."""
    sheli = sheli or bootstrap(config)
    app = Flask(__name__)
    app.extensions["sheli"] = sheli
    app.config["MAX_CONTENT_LENGTH"] = int(sheli.config.get("wechat.max_body_bytes", 65536)) * 4
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    from bot.webhook import bp as webhook

    app.register_blueprint(webhook)

    @app.get("/healthz")
    def healthz() -> Any:
        try:
            with sheli.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database unavailable")
            return jsonify(status="unavailable", database="down"), 503
        return jsonify(
            status="ok",
            database="ok",
            mode="local" if sheli.config.local_mode else "wechat",
            nlu=getattr(sheli.deps.parser, "name", "unknown"),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return jsonify(error=exc.name, status=exc.code), exc.code or 500

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error")
        return jsonify(error="internal error", status=500), 500

    return app
