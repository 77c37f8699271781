"""The operators' dashboard: login, overview, tickets, staff, the weekly summary page, the
community data (events, buildings, residents, party-building resources), and the messages Sheli
did not understand (the NLU review queue)."""

from __future__ import annotations

# The modules register their routes (and the one handler of refusals) on `bp`; importing them
# is what wires the blueprint.
from bot.dashboard import auth, community_views, errors, media_views, review_views, scope, views
from bot.dashboard.blueprint import bp

__all__ = [
    "auth",
    "bp",
    "community_views",
    "errors",
    "media_views",
    "review_views",
    "scope",
    "views",
]
