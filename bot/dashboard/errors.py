"""The dashboard's one mapping of refusals (handlers.errors) to what an operator sees:

- a JSON route (/dashboard/api/…) answers {error, status} with the refusal's HTTP status;
- a form (POST) flashes the sentence on the page the form was on and goes back there, unless the
  thing it acts on does not exist (NotFound): then there is no page to go back to;
- a page (GET) shows the error page with the refusal's HTTP status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for

from bot.dashboard.blueprint import bp
from bot.web import http_status
from handlers.errors import DomainError, NotFound

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
