"""Operator login: one username and a werkzeug password hash from config, a session cookie,
a CSRF token in every form, and a lock-out after repeated wrong passwords (shared via the DB)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.security import check_password_hash

from bot.dashboard.blueprint import bp
from bot.web import current_sheli
from handlers import messages as msg

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
# Reached without a session: the login form itself and the stylesheet it uses.
OPEN_ENDPOINTS = ("dashboard.login", "dashboard.static")


def _password_hash() -> str:
    return str(current_sheli().config.get("dashboard.password_hash") or "")


def _username() -> str:
    return str(current_sheli().config.get("dashboard.username") or "admin")


def _fingerprint(password_hash: str) -> str:
    # Kept in the session so that changing the password ends every existing session.
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def csrf_token() -> str:
    """This session's CSRF token (created on first use); every POST form carries it."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def _csrf_ok() -> bool:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    return bool(sent and expected) and hmac.compare_digest(str(sent), str(expected))


def wants_json() -> bool:
    """JSON routes (and clients that ask for JSON) get 401 instead of a redirect to the form."""
    if request.path.startswith("/dashboard/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def current_operator() -> str | None:
    """The logged-in operator's username, if the session is valid for the current password."""
    password_hash = _password_hash()
    name = session.get("operator")
    if not name or not password_hash or session.get("pw") != _fingerprint(password_hash):
        return None
    return str(name)


@bp.app_template_global("csrf_token")
def _csrf_token_global() -> str:
    return csrf_token()


@bp.before_request
def guard() -> Any:
    """No page or JSON of the dashboard answers without login; every POST needs the CSRF token."""
    if request.endpoint == "dashboard.static":
        return None
    if not _password_hash():
        return render_template("dashboard/disabled.html"), 503
    if request.method == "POST" and not _csrf_ok():
        if wants_json():
            return jsonify(error="CSRF token missing or wrong", status=400), 400
        return render_template("dashboard/error.html", message=msg.FORM_EXPIRED), 400
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    operator = current_operator()
    if operator is None:
        if wants_json():
            return jsonify(error="login required", status=401), 401
        return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
    g.operator = operator
    return None


@bp.after_request
def security_headers(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    return response


# --- wrong passwords -------------------------------------------------------------------------


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _blocked(uow: Any, ip: str, now: datetime) -> bool:
    return uow.values.get(f"dashboard:login-block:{ip}", now) is not None


def _note_failure(uow: Any, ip: str, now: datetime) -> bool:
    """Count a wrong password; True when this one locks the address out."""
    key = f"dashboard:login-fail:{ip}"
    raw = uow.values.get(key, now)
    failures = [
        t
        for t in (json.loads(raw) if raw else [])
        if datetime.fromisoformat(t) > now - FAILURE_WINDOW
    ]
    failures.append(now.isoformat())
    if len(failures) >= MAX_FAILURES:
        uow.values.set(f"dashboard:login-block:{ip}", "1", now + LOCKOUT)
        uow.values.set(key, "[]", now)
        return True
    uow.values.set(key, json.dumps(failures), now + FAILURE_WINDOW)
    return False


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/dashboard/") and not target.startswith("//"):
        return target
    return url_for("dashboard.overview")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form; five wrong passwords from one address within 15 minutes lock it out."""
    sheli = current_sheli()
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_operator():
            return redirect(target)
        return render_template("dashboard/login.html", next=target, error=None)
    ip = _client_ip()
    with sheli.uow() as uow:
        now = sheli.clock.now()
        if _blocked(uow, ip, now):
            return render_template("dashboard/login.html", next=target, locked=True), 429
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        password_hash = _password_hash()
        good_user = hmac.compare_digest(username.encode(), _username().encode())
        # Check the hash even for a wrong username, so both take the same time.
        good_password = check_password_hash(password_hash, password)
        if not (good_user and good_password):
            locked = _note_failure(uow, ip, now)
            uow.commit()
            current_app.logger.warning("dashboard: failed login for %r from %s", username, ip)
            status = 429 if locked else 401
            return render_template(
                "dashboard/login.html", next=target, locked=locked, error=msg.LOGIN_WRONG
            ), status
        uow.values.set(f"dashboard:login-fail:{ip}", "[]", now)
        uow.commit()
    session.clear()
    session.permanent = True
    session["operator"] = username
    session["pw"] = _fingerprint(password_hash)
    csrf_token()
    current_app.logger.info("dashboard: %s logged in from %s", username, ip)
    return redirect(target)


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("dashboard.login"))
