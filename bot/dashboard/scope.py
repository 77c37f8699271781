"""Which community the dashboard shows (issue 13).

- An operator limited to one community (`dashboard.users` with a community) sees only it: every
  list, figure, export and JSON is narrowed to it, a page of another community's ticket,
  resident, building or staff member is not there (404), and their commands carry the community
  (handlers refuse another community's ticket as not found).
- An operator of the whole site chooses a community with the selector in the page's header
  (`?community=KEY` on any page; "" for the whole site). The choice is kept in the session, so
  every link and form keeps it without carrying it. Lists, figures and exports are narrowed to
  it; a ticket's own page still opens (whole-site operators may see every ticket).
- With one active community there is no selector and nothing is narrowed.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, request, session, url_for

from bot.dashboard.auth import wants_json
from bot.dashboard.blueprint import bp
from bot.web import current_sheli
from handlers import messages as msg
from handlers import read_models
from handlers.errors import NotAllowed

SESSION_KEY = "community"

# A detail page whose subject may not be in the community chosen next: the selector goes to
# the list it belongs to.
LIST_OF = {
    "dashboard.ticket": "dashboard.tickets",
    "dashboard.building": "dashboard.buildings",
    "dashboard.resident": "dashboard.buildings",
    "dashboard.staff_deactivate_ask": "dashboard.staff",
    "dashboard.event": "dashboard.events",
    "dashboard.event_edit": "dashboard.events",
}


def choices() -> list[tuple[str, str]]:
    """(key, name) of the active communities (read once per request)."""
    if "community_choices" not in g:
        g.community_choices = current_sheli().read(read_models.community_choices)
    return list(g.community_choices)


def limited() -> str | None:
    """The community the logged-in operator is limited to (None: the whole site)."""
    return g.get("operator_community")


def scope() -> str | None:
    """The community this request's lists and figures are narrowed to (None: the whole site):
    a limited operator's own, else the one chosen (`?community=` now, or kept in the session)."""
    fixed = limited()
    if fixed is not None:
        return fixed
    if "community_scope" in g:
        return g.community_scope  # type: ignore[no-any-return]
    known = dict(choices())
    chosen = None
    if len(known) > 1:
        if "community" in request.args:
            wanted = request.args.get("community", "").strip()
            if wanted and wanted not in known and not wants_json():
                flash(msg.DASHBOARD_COMMUNITY_UNKNOWN.format(key=wanted[:32]), "error")
            session[SESSION_KEY] = wanted if wanted in known else ""
        kept = session.get(SESSION_KEY) or None
        chosen = kept if kept in known else None
    g.community_scope = chosen
    return chosen


def site_only() -> None:
    """Refuse what is the whole site's (training the NLU, the site's imports) to an operator
    limited to one community."""
    if limited() is not None:
        raise NotAllowed(msg.DASHBOARD_SITE_ONLY)


@bp.context_processor
def _selector() -> dict[str, Any]:
    """The header's community selector: shown when the site has more than one active
    community, fixed (a name, not a choice) for a limited operator."""
    if g.get("operator") is None:
        return {"communities": [], "community_scope": None}
    known = choices()
    endpoint = request.endpoint or "dashboard.overview"
    if request.method != "GET":
        action = url_for("dashboard.overview")
    elif endpoint in LIST_OF:
        action = url_for(LIST_OF[endpoint])
    else:
        action = url_for(endpoint, **(request.view_args or {}))
    fixed = limited()
    names = dict(known)
    return {
        "communities": known if len(known) > 1 or fixed is not None else [],
        "community_scope": scope(),
        "community_fixed": fixed,
        "community_fixed_name": names.get(fixed or "", fixed),
        "community_action": action,
        "community_names": names,
    }
