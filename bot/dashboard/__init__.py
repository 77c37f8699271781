"""The operators' dashboard: login, overview, tickets, staff, the weekly summary page, and the
community data (events, buildings, residents, party-building resources).

`bp` is the blueprint; auth.py, views.py and community_views.py add their routes to it when they are
imported, which the app factory does. This package imports none of them, so they can import it
without a cycle."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)

__all__ = ["bp"]
