"""What the Flask adapters (webhook, dashboard, simulator, local inbox) share: the wired Sheli of
the running app, and the one mapping of domain errors to HTTP statuses."""

from __future__ import annotations

from flask import current_app

from bot.bootstrap import Sheli
from handlers.errors import DomainError, IllegalTransition, Invalid, NotAllowed, NotFound

EXTENSION_KEY = "sheli"


def current_sheli() -> Sheli:
    """The Sheli the running app was built around (set by bot.app.create_app)."""
    sheli = current_app.extensions[EXTENSION_KEY]
    assert isinstance(sheli, Sheli)
    return sheli


def http_status(error: DomainError) -> int:
    """NotFound → 404, NotAllowed → 403, an illegal status change → 409, Invalid → 400."""
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, NotAllowed):
        return 403
    if isinstance(error, IllegalTransition):
        return 409
    if isinstance(error, Invalid):
        return 400
    return 400
