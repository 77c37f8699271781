"""Read-side views of tickets and staff, shared by the CLI and the dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.keywords import mask_phone
from handlers.ports import Policy
from storage.models import Staff, Ticket
from storage.uow import AbstractUnitOfWork


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def ticket_json(ticket: Ticket, policy: Policy, *, mask: bool = True) -> dict[str, Any]:
    """The ticket as SPEC.md's JSON (times in UTC, ISO 8601)."""
    return {
        "id": ticket.id,
        "number": f"#{ticket.id}",
        "community": ticket.community,
        "intent": ticket.intent,
        "status": ticket.status,
        "urgent": ticket.urgent,
        "role": ticket.role,
        "role_name": policy.role_name(ticket.role),
        "assignee": ticket.assignee.name if ticket.assignee else None,
        "assignee_id": ticket.assignee_id,
        "location": ticket.location,
        "building": ticket.building,
        "text": ticket.text,
        "phone": mask_phone(ticket.phone) if (mask and ticket.phone) else ticket.phone,
        "resident": ticket.resident_id,
        "rating": ticket.rating,
        "followup": ticket.followup_state,
        "created_at": _iso(ticket.created_at),
        "assigned_at": _iso(ticket.assigned_at),
        "accepted_at": _iso(ticket.accepted_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "resolution": ticket.resolution,
        "sla_breaches": {
            "accept": ticket.accept_breach_level,
            "resolve": ticket.resolve_breach_level,
        },
    }


def ticket_detail(
    uow: AbstractUnitOfWork, ticket: Ticket, policy: Policy, *, mask: bool = True
) -> dict[str, Any]:
    """A ticket with its audit trail, attachments and followers."""
    data = ticket_json(ticket, policy, mask=mask)
    data["events"] = [
        {"kind": e.kind, "actor": e.actor, "at": _iso(e.at), "detail": e.detail}
        for e in uow.tickets.events(ticket.id)
    ]
    data["attachments"] = [
        {
            "id": a.id,
            "kind": a.kind,
            "media_id": a.media_id,
            "url": a.url,
            "fetch_status": a.fetch_status,  # pending | fetched | failed | erased
            "content_type": a.content_type,
            "size": a.size,
            "last_error": a.last_error,
        }
        for a in uow.tickets.attachments(ticket.id)
    ]
    data["followers"] = [r.id for r in uow.tickets.followers(ticket.id)]
    return data


def staff_json(staff: Staff, policy: Policy, load: int = 0) -> dict[str, Any]:
    """A staff member as JSON."""
    return {
        "id": staff.id,
        "name": staff.name,
        "role": staff.role,
        "role_name": policy.role_name(staff.role),
        "openid": staff.openid,
        "bound": staff.openid is not None,
        "active": staff.active,
        "open_tickets": load,
        "community": staff.community,  # None: the site-wide pool (issue 13)
    }
