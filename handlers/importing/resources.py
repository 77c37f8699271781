"""Party-building resources from YAML: alliance units (共建单位) and volunteers by team."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers import messages as msg
from handlers.importing.common import (
    ImportRejected,
    ImportResult,
    field_name,
    numbered_rows,
    text_of,
)
from storage.community import AllianceUnit, Volunteer
from storage.uow import AbstractUnitOfWork


def _flag(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "是", "在岗"):
        return True
    if text in ("false", "no", "0", "否", "停用"):
        return False
    raise ValueError(msg.IMPORT_BAD_FLAG.format(value=value))


def import_resources(uow: AbstractUnitOfWork, data: Any) -> ImportResult:
    """Alliance units (共建单位) and volunteers from `{alliance_units: [...], volunteers: [...]}`."""
    if not isinstance(data, Mapping) or not ({"alliance_units", "volunteers"} & set(data)):
        raise ImportRejected([msg.IMPORT_NOT_RESOURCES])
    problems: list[str] = []
    units: list[dict[str, Any]] = []
    volunteers: list[dict[str, Any]] = []
    for section, target, required in (
        ("alliance_units", units, ("name",)),
        ("volunteers", volunteers, ("name", "team")),
    ):
        if section not in data:
            continue
        label = msg.IMPORT_SECTIONS[section]
        try:
            rows = numbered_rows(data[section], section, False)
        except ImportRejected as rejected:
            problems += [f"{label}：{p}" for p in rejected.problems]
            continue
        seen: dict[tuple[str, ...], int] = {}
        names = {"name": field_name("volunteer_name" if section == "volunteers" else "name")}
        for number, row in rows:
            row_problems = [
                msg.IMPORT_EMPTY.format(name=names.get(key) or field_name(key))
                for key in required
                if not text_of(row, key)
            ]
            fields: dict[str, Any] = {
                key: text_of(row, key) or None
                for key in ("name", "team", "category", "services", "contact", "phone", "skills")
            }
            try:
                fields["active"] = _flag(row.get("active"))
            except ValueError as exc:
                row_problems.append(str(exc))
            key = tuple(text_of(row, k) for k in required)
            if not row_problems and key in seen:
                row_problems.append(msg.IMPORT_SAME_ROW.format(other=seen[key]))
            seen.setdefault(key, number)
            problems += [
                msg.IMPORT_SECTION_ROW.format(section=label, n=number, problem=p)
                for p in row_problems
            ]
            if not row_problems:
                target.append(fields)
    if problems:
        raise ImportRejected(problems)
    result = ImportResult(details={"alliance units": 0, "volunteers": 0})
    for fields in units:
        unit = uow.resources.unit_by_name(fields["name"])
        if unit is None:
            unit = uow.resources.add_unit(AllianceUnit(name=fields["name"]))
            result.created += 1
            result.details["alliance units"] += 1
        else:
            result.updated += 1
        unit.category, unit.services = fields["category"], fields["services"]
        unit.contact, unit.phone = fields["contact"], fields["phone"]
    for fields in volunteers:
        volunteer = uow.resources.volunteer_by_name(fields["team"], fields["name"])
        if volunteer is None:
            volunteer = uow.resources.add_volunteer(
                Volunteer(name=fields["name"], team=fields["team"])
            )
            result.created += 1
            result.details["volunteers"] += 1
        else:
            result.updated += 1
        volunteer.skills, volunteer.phone = fields["skills"], fields["phone"]
        volunteer.active = fields["active"]
    return result
