"""Small helpers shared by the test modules."""

from __future__ import annotations

from typing import Any

from handlers.commands import AddStaff


def hire(sheli: Any, role: str, name: str, openid: str | None = None) -> str | None:
    """Add a staff member (bound to `openid` when given); returns the bind code otherwise."""
    with sheli.uow() as uow:
        if openid and uow.staff.by_openid(openid) is not None:
            return None
    _, code = sheli.handle(AddStaff(role=role, name=name, openid=openid))
    return code
