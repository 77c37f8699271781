"""Small helpers shared by the test modules."""

from __future__ import annotations

from typing import Any

from handlers.staff import add_staff


def hire(sheli: Any, role: str, name: str, openid: str | None = None) -> str | None:
    """Add a staff member (bound to `openid` when given); returns the bind code otherwise."""
    with sheli.uow() as uow:
        if openid and uow.staff.by_openid(openid) is not None:
            return None
        _, code = add_staff(
            uow, sheli.policy, role=role, name=name, openid=openid, now=sheli.clock.now()
        )
        uow.commit()
    return code
