"""The Flask app factory: nothing is built at import time."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.bootstrap import Sheli, bootstrap
from bot.config import Config
from bot.logsafe import describe_error, log_error
from bot.web import EXTENSION_KEY

log = logging.getLogger(__name__)


def create_app(config: Config | None = None, *, sheli: Sheli | None = None) -> Flask:
    """Build the web app around a wired Sheli (built from `config` when not given)."""
    sheli = sheli or bootstrap(config)
    app = Flask(__name__)
    app.extensions[EXTENSION_KEY] = sheli
    proxies = int(sheli.config.get("server.trusted_proxies") or 0)
    if proxies:
        # nginx in front (HTTPS): believe the client address and scheme it forwards, from that
        # many proxies deep, and nothing a client could set for itself beyond them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = int(sheli.config.get("wechat.max_body_bytes", 65536)) * 4
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # Dashboard sessions: a random key per start unless configured (set one for several workers).
    app.secret_key = str(sheli.config.get("dashboard.secret_key") or secrets.token_hex(32))
    app.config.update(
        SESSION_COOKIE_NAME="sheli_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=str(sheli.config.get("site.public_url") or "").startswith("https:"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )

    from bot.dashboard import bp as dashboard
    from bot.local_inbox import bp as local_inbox
    from bot.simulator import bp as simulator
    from bot.webhook import bp as webhook

    app.register_blueprint(webhook)
    app.register_blueprint(dashboard)
    app.register_blueprint(simulator)
    if sheli.config.local_mode:
        app.register_blueprint(local_inbox)

    @app.get("/healthz")
    def healthz() -> Any:
        try:
            with sheli.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            log.error("health check: database unavailable (%s)", describe_error(exc))
            return jsonify(status="unavailable", database="down"), 503
        return jsonify(
            status="ok",
            database="ok",
            mode="local" if sheli.config.local_mode else "wechat",
            nlu=getattr(sheli.parser, "name", "unknown"),
        )

    @app.get("/favicon.ico")
    def favicon() -> Any:
        """Browsers ask for it on every page: no icon, and no 404 in the access log."""
        return "", 204, {"Cache-Control": "public, max-age=604800"}

    from bot.dashboard.errors import http_error_page

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        page = http_error_page(exc)  # a browser on a page: the Chinese error page
        if page is not None:
            return page
        return jsonify(error=exc.name, status=exc.code), exc.code or 500

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log_error(log, "unhandled error in %s %s", request.method, request.path, exc=exc)
        return jsonify(error="internal error", status=500), 500

    return app
