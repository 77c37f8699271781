"""The operators' dashboard: login, overview, tickets, staff and the weekly summary page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)

# The modules register their routes on `bp`; importing them is what wires the blueprint.
from bot.dashboard import auth, views  # noqa: E402

__all__ = ["auth", "bp", "views"]
