"""Staff accounts: adding, one-time bind codes, binding in chat, deactivation."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from handlers import messages as msg
from handlers.ports import Policy
from storage.models import Staff
from storage.uow import AbstractUnitOfWork

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_bind_code(uow: AbstractUnitOfWork, staff: Staff, policy: Policy, now: datetime) -> str:
    """Give `staff` a fresh one-time bind code; only its hash is stored."""
    code = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    staff.bind_code_hash = hash_code(code)
    staff.bind_code_expires_at = now + policy.bind_code_ttl
    return code


def add_staff(
    uow: AbstractUnitOfWork,
    policy: Policy,
    *,
    role: str,
    name: str,
    now: datetime,
    openid: str | None = None,
) -> tuple[Staff, str | None]:
    """Create a staff member; returns them and a bind code unless an openid was given."""
    if role not in policy.role_names:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(policy.role_names)}")
    name = name.strip()
    if not name:
        raise ValueError("name must not be empty")
    if openid and uow.staff.by_openid(openid):
        raise ValueError(f"openid {openid} is already bound to another staff member")
    staff = uow.staff.add(
        Staff(name=name, role=role, openid=openid or None, active=True, created_at=now)
    )
    code = None if openid else new_bind_code(uow, staff, policy, now)
    return staff, code


def bind(uow: AbstractUnitOfWork, policy: Policy, openid: str, code: str, now: datetime) -> str:
    """`绑定 <code>` in chat: bind this openid to the staff member holding the code."""
    current = uow.staff.by_openid(openid)
    if current is not None:
        return msg.BIND_ALREADY.format(role=policy.role_name(current.role), name=current.name)
    staff = uow.staff.by_bind_code_hash(hash_code(code))
    if (
        staff is None
        or not staff.active
        or staff.bind_code_expires_at is None
        or staff.bind_code_expires_at < now
    ):
        return msg.BIND_BAD_CODE
    staff.openid = openid
    staff.bind_code_hash = None
    staff.bind_code_expires_at = None
    return msg.BIND_OK.format(name=staff.name, role=policy.role_name(staff.role))


def set_active(uow: AbstractUnitOfWork, staff_id: int, active: bool) -> Staff:
    """Deactivate or reactivate a staff member; an inactive one gets no new tickets."""
    staff = uow.staff.get(staff_id)
    if staff is None:
        raise ValueError(f"no staff member with id {staff_id}")
    staff.active = active
    return staff
