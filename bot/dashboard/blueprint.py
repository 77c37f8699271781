"""The dashboard's blueprint, on its own so the view modules can register on it without
importing the package that imports them."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)
