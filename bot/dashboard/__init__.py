"""The operators' dashboard: login, overview, tickets, staff, the weekly summary page, and the
community data (events, buildings, residents, party-building resources)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)

# The modules register their routes (and the one handler of refusals) on `bp`; importing them
# is what wires the blueprint.
from bot.dashboard import auth, community_views, errors, views  # noqa: E402

__all__ = ["auth", "bp", "community_views", "errors", "views"]
