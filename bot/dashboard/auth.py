"""Operator login: usernames and werkzeug password hashes from config.

- `dashboard.username` / `dashboard.password_hash`: the site's operator (the whole site).
  `dashboard.users`: more operators, each `{username, password_hash, community}`; one with a
  community is limited to it (bot/dashboard/scope.py narrows every page and refuses the rest),
  one without sees the whole site.

- Sessions are Flask-Login's, backed by a row in `operator_sessions`: logging out deletes the
  row, so a copy of the cookie taken before stops working; changing the password ends them all.
- Every POST carries Flask-WTF's CSRF token.
- Wrong passwords are counted atomically in the database, per client address (5 in 15 minutes
  lock it out for 15 minutes) and per username (10, from any number of addresses). An attempt
  is counted before its password is checked, so parallel guesses get no more checks than that.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.security import check_password_hash

from bot.dashboard.blueprint import bp
from bot.web import current_sheli
from handlers import messages as msg
from handlers.masking import pseudonym

MAX_FAILURES = 5  # per client address
MAX_USER_FAILURES = 10  # per username, over every address
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
# Reached without a session: the login form itself and the stylesheet it uses.
OPEN_ENDPOINTS = ("dashboard.login", "dashboard.static")


@dataclass(frozen=True)
class Account:
    """An operator who may log in; `community`: the one community they see (None: all)."""

    username: str
    password_hash: str
    community: str | None = None


def accounts() -> list[Account]:
    """Every operator account with a password hash: `dashboard.username`/`password_hash` (the
    whole site), then `dashboard.users` (bot/config.py checks their shape)."""
    config = current_sheli().config
    found = [
        Account(
            str(config.get("dashboard.username") or "admin"),
            str(config.get("dashboard.password_hash") or ""),
        )
    ]
    for user in config.get("dashboard.users") or []:
        found.append(
            Account(
                str(user.get("username") or ""),
                str(user.get("password_hash") or ""),
                str(user["community"]) if user.get("community") else None,
            )
        )
    return [a for a in found if a.username and a.password_hash]


def _account(username: str) -> Account | None:
    """The account called `username` (every name compared, in constant time each)."""
    found = None
    for account in accounts():
        if hmac.compare_digest(username.encode(), account.username.encode()):
            found = account
    return found


def _fingerprint(account: Account) -> str:
    # Kept with the session so that changing the password (or the community an account is
    # limited to) ends every existing session of that account.
    kept = account.password_hash
    if account.community is not None:
        kept += "\0" + account.community
    return hashlib.sha256(kept.encode()).hexdigest()[:16]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _wall_clock() -> datetime:
    # Sessions live in real time, like the cookie that carries them (not the injected clock that
    # tests move by days).
    return datetime.now(UTC).replace(tzinfo=None)


class Operator(UserMixin):  # type: ignore[misc]
    """A logged-in operator; Flask-Login keeps `id`, the random token of this one session."""

    def __init__(self, name: str, token: str, community: str | None = None):
        self.name = name
        self.id = token
        self.community = community


def _load_operator(token: str) -> Operator | None:
    """Flask-Login's user loader: the session is valid while its row lives (until logout) and
    its account is unchanged."""
    if not token or not accounts():
        return None
    with current_sheli().uow() as uow:
        found = uow.operator_sessions.get(_digest(token), _wall_clock())
    account = _account(found.username) if found is not None else None
    if found is None or account is None or found.password_fingerprint != _fingerprint(account):
        return None
    return Operator(found.username, token, account.community)


@bp.record_once
def _init_extensions(state: Any) -> None:
    app = state.app
    logins = LoginManager()
    # Sessions are ended on the server (logout, password change); Flask-Login's own check
    # would take X-Forwarded-For on trust, so it adds nothing here.
    logins.session_protection = None
    logins.user_loader(_load_operator)
    logins.init_app(app)
    # CSRF is checked by the dashboard's guard below, not app-wide: WeChat posts to /wechat.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    CSRFProtect(app)


def wants_json() -> bool:
    """JSON routes (and clients that ask for JSON) get 401 instead of a redirect to the form."""
    if request.path.startswith("/dashboard/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def current_operator() -> str | None:
    """The logged-in operator's username, if this session is still valid."""
    if not accounts() or not current_user.is_authenticated:
        return None
    return str(current_user.name)


@bp.before_request
def guard() -> Any:
    """No page or JSON of the dashboard answers without login; every POST needs the CSRF token."""
    if request.endpoint == "dashboard.static":
        return None
    if not accounts():
        return render_template("dashboard/disabled.html"), 503
    if request.method == "POST":
        try:
            current_app.extensions["csrf"].protect()
        except CSRFError:
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
    g.operator_community = current_user.community  # None: the whole site
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
    # Behind nginx, server.trusted_proxies makes this the client's address, not the proxy's.
    return request.remote_addr or "unknown"


def _refused(uow: Any, key: str, now: datetime, limit: int) -> tuple[bool, int]:
    """Count an attempt for `key`; (refused, its number). Refused while locked or over `limit`."""
    attempts, locked_until = uow.login_throttle.count_attempt(key, now, FAILURE_WINDOW)
    return (locked_until is not None and locked_until > now) or attempts > limit, attempts


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/dashboard/") and not target.startswith("//"):
        return target
    return url_for("dashboard.overview")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form; wrong passwords lock out the address (5) and the username (10)."""
    sheli = current_sheli()
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_operator():
            return redirect(target)
        return render_template("dashboard/login.html", next=target, error=None)
    ip = _client_ip()
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    ip_key, user_key = f"ip:{ip}"[:80], f"user:{pseudonym(username)}"
    now = sheli.clock.now()
    with sheli.uow() as uow:
        refused, ip_attempts = _refused(uow, ip_key, now, MAX_FAILURES)
        user_attempts = 0
        if not refused:  # an address already refused does not use up the username's attempts
            refused, user_attempts = _refused(uow, user_key, now, MAX_USER_FAILURES)
        uow.commit()
    if refused:
        return render_template("dashboard/login.html", next=target, locked=True), 429
    account = _account(username)
    known = accounts()
    # Check a hash even for a wrong username, so both take the same time.
    checked = account or known[0]
    good_password = check_password_hash(checked.password_hash, password)
    if account is not None and good_password and not _community_known(account):
        # Limited to a community the site does not have (a typo in dashboard.users): refused
        # like a wrong password, and the log says why.
        current_app.logger.warning(
            "dashboard: user %s is limited to a community that does not exist",
            pseudonym(username),
        )
        good_password = False
    if not (account is not None and good_password):
        locked = ip_attempts >= MAX_FAILURES or user_attempts >= MAX_USER_FAILURES
        if locked:
            with sheli.uow() as uow:
                if ip_attempts >= MAX_FAILURES:
                    uow.login_throttle.lock(ip_key, now + LOCKOUT)
                if user_attempts >= MAX_USER_FAILURES:
                    uow.login_throttle.lock(user_key, now + LOCKOUT)
                uow.commit()
        current_app.logger.warning(
            "dashboard: failed login for user %s from %s", pseudonym(username), ip
        )
        return render_template(
            "dashboard/login.html", next=target, locked=locked, error=msg.LOGIN_WRONG
        ), (429 if locked else 401)
    token, started = secrets.token_urlsafe(32), _wall_clock()
    with sheli.uow() as uow:
        uow.login_throttle.clear(ip_key)
        uow.login_throttle.clear(user_key)
        uow.login_throttle.purge(now, FAILURE_WINDOW)
        uow.operator_sessions.start(
            _digest(token),
            username,
            _fingerprint(account),
            started,
            started + SESSION_LIFETIME,
        )
        uow.commit()
    session.clear()  # no session fixation: nothing from before the login survives it
    session.permanent = True
    login_user(Operator(username, token, account.community))
    current_app.logger.info("dashboard: %s logged in from %s", username, ip)
    return redirect(target)


def _community_known(account: Account) -> bool:
    if account.community is None:
        return True
    with current_sheli().uow() as uow:
        return uow.communities.get(account.community) is not None


@bp.post("/logout")
def logout() -> Any:
    """End this session on the server too: a copy of the cookie no longer logs anyone in."""
    if current_user.is_authenticated:
        sheli = current_sheli()
        with sheli.uow() as uow:
            uow.operator_sessions.end(_digest(str(current_user.get_id())))
            uow.commit()
    logout_user()
    session.clear()
    return redirect(url_for("dashboard.login"))
