"""The dashboard's login against a real deployment's conditions: nginx in front, parallel guesses,
guesses from many addresses, and a session cookie copied before its operator logged out."""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import update

from bot.app import create_app
from bot.dashboard import auth
from storage.models import OperatorSession
from tests.test_dashboard import PASSWORD, PASSWORD_HASH

SECRET_KEY = "a-shared-secret-key-for-every-worker"


def dashboard(make_sheli: Any, url: str | None = None, **overrides: Any) -> Any:
    sheli = make_sheli(
        url,
        **{
            "dashboard.password_hash": PASSWORD_HASH,
            "dashboard.secret_key": SECRET_KEY,
            **overrides,
        },
    )
    return create_app(sheli=sheli)


def client_at(app: Any, address: str, forwarded_for: str | None = None) -> Any:
    """A browser at `address` (or behind a proxy at `address`, for `forwarded_for`)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
        client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
        # Over HTTPS Flask-WTF also wants a same-origin Referer, as browsers send it.
        client.environ_base["HTTP_REFERER"] = "https://localhost/dashboard/login"
    return client


def form_token(client: Any) -> str:
    page = client.get("/dashboard/login", follow_redirects=True).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def login(client: Any, password: str = PASSWORD, username: str = "admin") -> int:
    token = form_token(client)
    response = client.post(
        "/dashboard/login",
        data={"csrf_token": token, "username": username, "password": password},
    )
    return int(response.status_code)


# --- behind a reverse proxy ------------------------------------------------------------------


def test_behind_a_trusted_proxy_the_lock_out_keys_on_the_client_not_the_proxy(
    make_sheli: Any,
) -> None:
    app = dashboard(make_sheli, **{"server.trusted_proxies": 1})
    attacker = client_at(app, "127.0.0.1", forwarded_for="203.0.113.5")
    codes = [login(attacker, password=f"guess{i}") for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    assert login(attacker) == 429
    colleague = client_at(app, "127.0.0.1", forwarded_for="198.51.100.7")  # same nginx
    assert login(colleague) == 302
    assert colleague.get("/dashboard/").status_code == 200


def test_only_the_proxies_own_entry_is_believed(make_sheli: Any) -> None:
    """A client cannot dodge the lock-out by sending its own X-Forwarded-For through nginx:
    nginx appends the real address, and only the last N entries are believed."""
    app = dashboard(make_sheli, **{"server.trusted_proxies": 1})
    for i in range(5):
        spoofed = client_at(app, "127.0.0.1", forwarded_for=f"10.0.0.{i}, 203.0.113.5")
        login(spoofed, password=f"guess{i}")
    assert login(client_at(app, "127.0.0.1", forwarded_for="10.0.0.99, 203.0.113.5")) == 429


def test_without_trusted_proxies_x_forwarded_for_is_ignored(make_sheli: Any) -> None:
    app = dashboard(make_sheli)  # server.trusted_proxies: 0, the default
    for i in range(5):
        login(client_at(app, "192.0.2.1", forwarded_for=f"10.0.0.{i}"), password=f"guess{i}")
    assert login(client_at(app, "192.0.2.1", forwarded_for="10.0.0.99")) == 429


def test_a_bad_trusted_proxies_value_stops_start_up(make_sheli: Any) -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match=r"server\.trusted_proxies"):
        make_sheli(**{"server.trusted_proxies": "nginx"})


# --- parallel and distributed guesses ----------------------------------------------------------


@pytest.mark.postgres
def test_forty_parallel_wrong_passwords_get_exactly_five_checks(
    make_sheli: Any, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = dashboard(make_sheli, pg_url)
    checks: list[str] = []
    real_check = auth.check_password_hash

    def counted(password_hash: str, password: str) -> bool:
        checks.append(password)
        return bool(real_check(password_hash, password))

    monkeypatch.setattr(auth, "check_password_hash", counted)
    clients = [client_at(app, "203.0.113.9") for _ in range(40)]
    tokens = [form_token(c) for c in clients]
    start = threading.Barrier(len(clients))
    codes: list[int] = []

    def guess(client: Any, token: str, i: int) -> None:
        start.wait()
        response = client.post(
            "/dashboard/login",
            data={"csrf_token": token, "username": "admin", "password": f"guess{i}"},
        )
        codes.append(response.status_code)

    threads = [
        threading.Thread(target=guess, args=(c, t, i))
        for i, (c, t) in enumerate(zip(clients, tokens, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(checks) == auth.MAX_FAILURES == 5
    assert Counter(codes) == {401: 4, 429: 36}
    assert login(clients[0]) == 429  # locked, even with the right password
    assert login(client_at(app, "198.51.100.7")) == 302  # elsewhere, the operator logs in


def test_guesses_from_many_addresses_lock_the_username(make_sheli: Any, clock: Any) -> None:
    app = dashboard(make_sheli)
    codes = [
        login(client_at(app, f"203.0.113.{i}"), password=f"guess{i}")
        for i in range(auth.MAX_USER_FAILURES)
    ]
    assert codes == [401] * (auth.MAX_USER_FAILURES - 1) + [429]
    fresh = client_at(app, "198.51.100.7")
    assert login(fresh) == 429  # the username is locked, from any address
    clock.advance(minutes=16)
    assert login(fresh) == 302


def test_guessing_other_usernames_does_not_lock_the_operator(make_sheli: Any) -> None:
    app = dashboard(make_sheli)
    for i in range(2 * auth.MAX_USER_FAILURES):
        login(client_at(app, f"203.0.113.{i}"), username=f"root{i % 2}", password="x")
    assert login(client_at(app, "198.51.100.7")) == 302


def test_a_locked_address_does_not_use_up_the_usernames_attempts(make_sheli: Any) -> None:
    app = dashboard(make_sheli)
    hammer = client_at(app, "203.0.113.5")
    for i in range(3 * auth.MAX_USER_FAILURES):
        login(hammer, password=f"guess{i}")
    assert login(client_at(app, "198.51.100.7")) == 302


# --- logging out ends the session ----------------------------------------------------------------


def copy_of_session(client: Any, app: Any) -> Any:
    """Another browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie("sheli_session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("sheli_session", cookie.value)
    return thief


def logout(client: Any) -> int:
    return int(
        client.post("/dashboard/logout", data={"csrf_token": form_token(client)}).status_code
    )


def test_a_cookie_copied_before_logout_stops_working(make_sheli: Any) -> None:
    app = dashboard(make_sheli)
    operator = app.test_client()
    assert login(operator) == 302
    thief = copy_of_session(operator, app)
    assert thief.get("/dashboard/").status_code == 200  # a copy works while the session lives
    token = form_token(thief)

    assert logout(operator) == 302
    assert thief.get("/dashboard/").status_code == 302
    assert thief.get("/dashboard/api/overview").status_code == 401
    refused = thief.post("/dashboard/staff", data={"csrf_token": token, "role": "x", "name": "y"})
    assert refused.status_code == 302 and "/dashboard/login" in refused.headers["Location"]
    assert operator.get("/dashboard/").status_code == 302


def test_logout_on_one_worker_ends_the_session_on_every_worker(make_sheli: Any) -> None:
    first, second = dashboard(make_sheli), dashboard(make_sheli)  # one database, one secret key
    operator = first.test_client()
    assert login(operator) == 302
    elsewhere = copy_of_session(operator, second)
    assert elsewhere.get("/dashboard/").status_code == 200
    assert logout(operator) == 302
    assert elsewhere.get("/dashboard/").status_code == 302


def test_logging_out_one_browser_leaves_the_others_logged_in(make_sheli: Any) -> None:
    app = dashboard(make_sheli)
    office, home = app.test_client(), app.test_client()
    assert login(office) == 302 and login(home) == 302
    assert logout(office) == 302
    assert home.get("/dashboard/").status_code == 200


def test_an_expired_session_is_refused_by_the_server(make_sheli: Any) -> None:
    app = dashboard(make_sheli)
    operator = app.test_client()
    assert login(operator) == 302
    sheli = app.extensions["sheli"]
    with sheli.uow() as uow:
        uow.session.execute(
            update(OperatorSession).values(expires_at=sheli.clock.now().replace(year=2000))
        )
        uow.commit()
    assert operator.get("/dashboard/").status_code == 302


def test_a_new_password_ends_every_session(make_sheli: Any) -> None:
    app = dashboard(make_sheli)
    operator = app.test_client()
    assert login(operator) == 302
    from werkzeug.security import generate_password_hash

    sheli = app.extensions["sheli"]
    sheli.config.data["dashboard"]["password_hash"] = generate_password_hash(
        "another one", method="pbkdf2:sha256:1000"
    )
    assert operator.get("/dashboard/").status_code == 302


def test_over_https_a_form_posted_from_another_site_is_refused(make_sheli: Any) -> None:
    app = dashboard(make_sheli, **{"server.trusted_proxies": 1})
    browser = client_at(app, "127.0.0.1", forwarded_for="198.51.100.7")
    token = form_token(browser)
    browser.environ_base["HTTP_REFERER"] = "https://evil.example/login"
    response = browser.post(
        "/dashboard/login", data={"csrf_token": token, "username": "admin", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
