"""The dashboard's 未理解的消息 page: the NLU review queue, one click per message to label it.

A label is the same command as `sheli nlu label` (handlers/review.py); this worker retrains at
once, the others within one scheduler tick (bot/nlu_refresh.py).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for

from bot.dashboard.blueprint import bp
from bot.dashboard.errors import form_on
from bot.dashboard.scope import site_only
from bot.dashboard.views import operator
from bot.web import current_sheli
from handlers import messages as msg
from handlers.commands import LabelMessage
from handlers.review import LABEL_INTENTS, SHOW, review_page


def _page_arg(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def _show_arg(value: str | None) -> str:
    return value if value in SHOW else "todo"


@bp.get("/review")
def review() -> Any:
    """Kept messages newest first (unlabelled by default), a page at a time."""
    site_only()  # every community's residents' words, the site's NLU
    page = current_sheli().read(
        review_page, _show_arg(request.args.get("show")), _page_arg(request.args.get("page"))
    )
    return render_template(
        "dashboard/review.html",
        page=page,
        intents=[(key, msg.REVIEW_INTENT_NAMES.get(key, key)) for key in LABEL_INTENTS],
        intent_label=msg.REVIEW_INTENT_NAMES,
        reason_names=msg.REVIEW_REASON_NAMES,
    )


@bp.get("/api/review")
def review_json() -> Any:
    site_only()  # every community's residents' words, the site's NLU
    page = current_sheli().read(
        review_page, _show_arg(request.args.get("show")), _page_arg(request.args.get("page"))
    )
    return jsonify(page.to_json())


@bp.post("/review/<int:number>/label")
@form_on("dashboard.review")
def review_label(number: int) -> Any:
    """Label one message; it is a training example from now on."""
    site_only()  # every community's residents' words, the site's NLU
    sheli = current_sheli()
    row = sheli.handle(LabelMessage(number, request.form.get("intent", ""), operator()))
    current_app.logger.info("dashboard: %s labelled review message %s", g.operator, number)
    sheli.refresh_nlu(force=True)  # this worker at once; the others within one tick
    name = msg.REVIEW_INTENT_NAMES.get(row.labelled_intent, row.labelled_intent)
    flash(msg.REVIEW_LABELLED.format(id=row.id, name=name), "ok")
    return redirect(
        url_for(
            "dashboard.review",
            show=_show_arg(request.form.get("show")),
            page=_page_arg(request.form.get("page")),
        )
    )
