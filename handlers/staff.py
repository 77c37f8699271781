"""Staff accounts: adding, one-time bind codes, binding in chat, deactivation."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from handlers import commands as cmd
from handlers import communities
from handlers import messages as msg
from handlers.errors import Invalid, NotAllowed, NotFound
from handlers.ports import Context, Policy
from handlers.tickets import assign_waiting
from storage.models import Staff
from storage.uow import AbstractUnitOfWork

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def _new_bind_code(staff: Staff, policy: Policy, now: datetime) -> str:
    """Give `staff` a fresh one-time bind code; only its hash is stored."""
    code = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    staff.bind_code_hash = hash_code(code)
    staff.bind_code_expires_at = now + policy.bind_code_ttl
    return code


def _staff(uow: AbstractUnitOfWork, staff_id: int, scope: str | None = None) -> Staff:
    """The staff member; with a `scope` (an operator limited to one community), only one of
    that community's own (another's is not there for them, the site-wide pool not theirs)."""
    found = uow.staff.get(staff_id)
    if found is None or (scope is not None and found.community not in (scope, None)):
        raise NotFound(msg.NO_SUCH_STAFF.format(id=staff_id))
    if scope is not None and found.community is None:
        raise NotAllowed(msg.DASHBOARD_STAFF_SITE_WIDE.format(name=found.name))
    return found


def _role(policy: Policy, text: str) -> str:
    """A role key from its key or Chinese name (支部联络员, 物业管家, …)."""
    role = policy.role_from_text(text) if text.strip() else None
    if role is None:
        roles = "、".join(policy.role_names.values())
        raise Invalid(msg.STAFF_UNKNOWN_ROLE.format(role=text.strip(), roles=roles))
    return role


def add_staff(
    command: cmd.AddStaff, uow: AbstractUnitOfWork, ctx: Context
) -> tuple[Staff, str | None]:
    """Create a staff member; returns them and a bind code unless an openid was given."""
    role = _role(ctx.policy, command.role)
    name = command.name.strip()
    if not name:
        raise Invalid(msg.STAFF_NAME_EMPTY)
    openid = (command.openid or "").strip() or None
    if openid and uow.staff.by_openid(openid):
        raise Invalid(msg.STAFF_OPENID_TAKEN)
    community = communities.require(uow, command.community).key if command.community else None
    staff = uow.staff.add(
        Staff(
            name=name,
            role=role,
            openid=openid,
            active=True,
            created_at=ctx.now,
            community=community,
        )
    )
    code = None if openid else _new_bind_code(staff, ctx.policy, ctx.now)
    if openid:
        assign_waiting(uow, ctx)  # on duty at once: what waited for the role is theirs
    return staff, code


def set_staff_active(command: cmd.SetStaffActive, uow: AbstractUnitOfWork, ctx: Context) -> Staff:
    """Deactivate or reactivate a staff member; an inactive one gets no new tickets."""
    staff = _staff(uow, command.staff_id, command.scope)
    staff.active = command.active
    if staff.active:
        assign_waiting(uow, ctx)  # back on duty: what waited for the role is theirs
    return staff


def issue_bind_code(command: cmd.IssueBindCode, uow: AbstractUnitOfWork, ctx: Context) -> str:
    """A new one-time bind code (e.g. for a new phone): the account bound so far is unbound, so
    only whoever sends the new code acts as this staff member from now on."""
    staff = _staff(uow, command.staff_id, command.scope)
    staff.openid = None
    return _new_bind_code(staff, ctx.policy, ctx.now)


def bind(uow: AbstractUnitOfWork, ctx: Context, openid: str, code: str) -> str:
    """`绑定 <code>` in chat: bind this openid to the staff member holding the code."""
    policy = ctx.policy
    current = uow.staff.by_openid(openid)
    if current is not None:
        return msg.BIND_ALREADY.format(role=policy.role_name(current.role), name=current.name)
    staff = uow.staff.by_bind_code_hash(hash_code(code))
    if (
        staff is None
        or not staff.active
        or staff.bind_code_expires_at is None
        or staff.bind_code_expires_at < ctx.now
    ):
        return msg.BIND_BAD_CODE
    staff.openid = openid
    staff.bind_code_hash = None
    staff.bind_code_expires_at = None
    assign_waiting(uow, ctx)  # now on duty: what waited for the role is theirs
    return msg.BIND_OK.format(name=staff.name, role=policy.role_name(staff.role))


def seed_demo_staff(command: cmd.SeedDemoStaff, uow: AbstractUnitOfWork, ctx: Context) -> list[str]:
    """Local mode: one bound demo staff member (openid demo_<role>) for each role nobody bound
    and active fills, so a newcomer can play staff in the simulator. Returns the new openids."""
    created = []
    for role in ctx.policy.role_names:
        if any(s.openid for s in uow.staff.list(role=role, active_only=True)):
            continue
        openid = f"demo_{role}"
        if uow.staff.by_openid(openid):
            continue
        name = msg.DEMO_STAFF_NAMES.get(role, role)
        add_staff(cmd.AddStaff(role=role, name=name, openid=openid), uow, ctx)
        created.append(openid)
    return created
