"""The dashboard's one mapping of refusals (handlers.errors) to what an operator sees:

- a JSON route (/dashboard/api/…) answers {error, status} with the refusal's HTTP status;
- a form (POST) flashes the sentence on the page the form was on and goes back there, unless the
  thing it acts on does not exist (NotFound): then there is no page to go back to;
- a page (GET) shows the error page with the refusal's HTTP status.

HTTP errors (an unknown address, a GET of a form's address, an upload too large) are answered
by the app (bot/app.py): a browser asking for a page gets the same Chinese error page
(`http_error_page`), anything else JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import (
    Response,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from bot.dashboard.auth import current_operator, security_headers
from bot.dashboard.blueprint import bp
from bot.web import current_sheli, http_status
from handlers import messages as msg
from handlers.errors import DomainError, NotFound
from handlers.times import utc_offset

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Form:
    page: str  # the endpoint of the page the form is on
    refusal: str  # how a refusal is flashed: "{reason}" is the refusal's sentence


FORMS: dict[str, Form] = {}


def form_on(page: str, refusal: str = "{reason}") -> Callable[[View], View]:
    """Mark a POST view as a form on `page`: a refusal is flashed there, worded by `refusal`."""

    def mark(view: View) -> View:
        FORMS[f"{bp.name}.{view.__name__}"] = Form(page, refusal)
        return view

    return mark


def _form_page(form: Form | None) -> str:
    if form is None:
        return url_for("dashboard.overview")
    args = request.view_args or {}
    wanted = next(iter(current_app.url_map.iter_rules(form.page))).arguments
    return url_for(form.page, **{k: v for k, v in args.items() if k in wanted})


@bp.errorhandler(DomainError)
def refused(error: DomainError) -> Any:
    status = http_status(error)
    if request.path.startswith(f"{bp.url_prefix}/api/"):
        return jsonify(error=str(error), status=status), status
    if request.method == "POST" and not isinstance(error, NotFound):
        form = FORMS.get(request.endpoint or "")
        flash((form.refusal if form else "{reason}").format(reason=error), "error")
        return redirect(_form_page(form))
    return render_template("dashboard/error.html", message=str(error)), status


# Addresses that answer JSON whatever the client asks for (the simulator's and the local inbox's
# calls, the webhook, the health check); the simulator's page itself is HTML.
_DASHBOARD = bp.url_prefix or "/dashboard"
_JSON_PATHS = (f"{_DASHBOARD}/api/", "/simulator/", "/local/", "/wechat", "/healthz")


def http_error_page(error: HTTPException) -> Response | None:
    """The Chinese error page for an HTTP error a browser met on a page (a 404, a 405 after
    reloading a form's address…); None when the client wants JSON (API routes keep JSON)."""
    path = request.path
    if path.startswith(_JSON_PATHS) and path != "/simulator/":
        return None
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html":
        return None
    code = error.code or 500
    message = msg.HTTP_ERROR_PAGES.get(code, msg.HTTP_ERROR_OTHER).format(code=code)
    # Routing errors run none of the dashboard's hooks: who is logged in is read here.
    operator = g.get("operator") or (current_operator() if path.startswith(_DASHBOARD) else None)
    policy = current_sheli().policy
    page = render_template(
        "dashboard/error.html",
        message=message,
        operator=operator,
        site_name=policy.site_name,
        times_note=msg.TIMES_ARE_LOCAL.format(zone="当地", offset=utc_offset(policy.timezone)),
    )
    return security_headers(make_response(page, code))
