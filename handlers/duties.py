"""The scheduler's periodic duties, each in its own transaction."""

from __future__ import annotations

import logging
from typing import Any

from handlers.followup import expire_visits, send_due_visits
from handlers.ports import Deps
from handlers.sla import check_sla

log = logging.getLogger(__name__)


def run_due(deps: Deps) -> dict[str, Any]:
    """Send due visits, expire silent ones, notify SLA breaches — whatever is due right now."""
    result: dict[str, Any] = {}
    for name, duty in (("visits", send_due_visits), ("expired", expire_visits), ("sla", check_sla)):
        with deps.uow_factory() as uow:
            result[name] = duty(uow, deps.policy, deps.clock.now())
            uow.commit()
    if any(result.values()):
        log.info("duties: %s", result)
    return result
