"""Dashboard pages for community data: events with sign-ups and attendance, buildings with
occupancy and requests, a resident's page, and the party-building resources. Reads and writes go
through handlers.community and handlers.events_import, the same functions the chat and the CLI use.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from werkzeug.utils import secure_filename

from bot.dashboard import bp, charts
from handlers import community
from handlers import dashboard as board
from handlers import events_import as imports
from handlers import messages as msg
from handlers.keywords import mask_phone
from handlers.tickets import TicketError
from storage.community import Event, SignUpStatus

# The form fields of an event, as validate_event reads them.
EVENT_FIELDS = ("kind", "title", "starts_at", "ends_at", "place", "capacity", "details", "openings")
IMPORT_KINDS = {"events": "活动", "rooms": "房间", "resources": "共建资源"}


def _sheli() -> Any:
    return current_app.extensions["sheli"]


@bp.app_template_filter("local_iso")
def _local_iso(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC time as the JSON views write it ("2026-11-28T01:00:00Z") in local site time."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value.removesuffix("Z"))
    local = board.to_local(moment, _sheli().policy.timezone)
    return local.strftime(fmt) if local else "—"


@bp.context_processor
def _community_names() -> dict[str, Any]:
    return {
        "event_kind_names": msg.EVENT_KIND_NAMES,
        "sign_up_status_names": msg.SIGN_UP_STATUS,
    }


# --- imports (the same files as `sheli events|rooms|resources import`) ------------------------


def _read_upload(field: str) -> tuple[Any, bool]:
    """The uploaded file read exactly as the CLI reads a file; ImportRejected if unreadable."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise imports.ImportRejected(["请选择要导入的文件（YAML 或 CSV）。"])
    name = secure_filename(upload.filename) or "upload.yaml"
    if Path(name).suffix.lower() not in (".yaml", ".yml", ".csv"):
        # secure_filename drops non-ASCII names ("活动.csv" → "csv"); keep the suffix we saw.
        suffix = Path(upload.filename).suffix.lower()
        name = "upload" + (suffix if suffix in (".yaml", ".yml", ".csv") else ".yaml")
    with tempfile.TemporaryDirectory(prefix="sheli-import-") as folder:
        path = Path(folder) / name
        upload.save(path)
        try:
            return imports.read_file(path), name.lower().endswith(".csv")
        except imports.ImportRejected as rejected:
            raise imports.ImportRejected(
                [p.replace(str(path), name) for p in rejected.problems]
            ) from None


def _import(what: str) -> tuple[imports.ImportResult | None, list[str]]:
    """Import one uploaded file in one transaction; any bad row and nothing is imported."""
    sheli = _sheli()
    try:
        data, csv_file = _read_upload("file")
        result = imports.import_data(sheli.deps, what, data, csv_file=csv_file)
    except imports.ImportRejected as rejected:
        current_app.logger.info(
            "dashboard: %s's %s import refused (%d problems)",
            g.operator,
            what,
            len(rejected.problems),
        )
        return None, rejected.problems
    current_app.logger.info("dashboard: %s imported %s: %s", g.operator, what, result)
    return result, []


def _imported(what: str, result: imports.ImportResult) -> str:
    return f"已导入{IMPORT_KINDS[what]}：新增 {result.created} 条，更新 {result.updated} 条。"


# --- events ----------------------------------------------------------------------------------


def _openings_text(openings: list[dict[str, Any]] | None) -> str:
    return "\n".join(
        "/".join(str(o.get(k) or "") for k in ("company", "job", "pay")).rstrip("/")
        for o in openings or []
    )


def _event_form(event: Event | None) -> dict[str, str]:
    """Form values for a new event, or an event's current values (local site time)."""
    if event is None:
        return {key: "" for key in EVENT_FIELDS} | {"kind": "job_fair"}
    policy = _sheli().policy

    def local(value: Any) -> str:
        return community.local(value, policy).strftime("%Y-%m-%dT%H:%M") if value else ""

    return {
        "kind": event.kind,
        "title": event.title,
        "starts_at": local(event.starts_at),
        "ends_at": local(event.ends_at),
        "place": event.place or "",
        "capacity": "" if event.capacity is None else str(event.capacity),
        "details": event.details or "",
        "openings": _openings_text(event.openings),
    }


def _events_page(**extra: Any) -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        rows = community.event_rows(uow, sheli.policy, sheli.clock.now())
    return render_template(
        "dashboard/events.html",
        upcoming=[r for r in rows if not r["past"]],
        past=[r for r in rows if r["past"]],
        problems=extra.get("problems", []),
    )


@bp.get("/events")
def events() -> Any:
    """Upcoming events (soonest first) and past ones, with sign-ups and the waiting list."""
    return _events_page()


@bp.get("/api/events")
def events_json() -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        return jsonify(events=community.event_rows(uow, sheli.policy, sheli.clock.now()))


@bp.post("/events/import")
def events_import() -> Any:
    """The upload twin of `sheli events import`: a file with any bad row imports nothing."""
    result, problems = _import("events")
    if result is None:
        return _events_page(problems=problems), 400
    flash(_imported("events", result), "ok")
    return redirect(url_for("dashboard.events"))


def _render_form(event_id: int | None, values: dict[str, str], error: str | None) -> Any:
    return render_template(
        "dashboard/event_form.html", event_id=event_id, values=values, error=error
    )


def _save(event_id: int | None) -> Any:
    sheli = _sheli()
    values = {key: request.form.get(key, "").strip() for key in EVENT_FIELDS}
    data: dict[str, Any] = dict(values)
    with sheli.uow() as uow:
        existing = uow.events.get(event_id) if event_id is not None else None
        if event_id is not None and existing is None:
            abort(404)
        if existing is not None and values["openings"] == _openings_text(existing.openings):
            data["openings"] = list(existing.openings or [])  # unchanged: keep imported counts
        try:
            event = community.save_event(uow, sheli.policy, data, sheli.clock.now(), event_id)
        except ValueError as refusal:
            return _render_form(event_id, values, f"没有保存：{refusal}"), 400
        uow.commit()
        number = event.id
    current_app.logger.info("dashboard: %s saved 活动%s", g.operator, number)
    flash(f"「活动{number}」已保存。", "ok")
    return redirect(url_for("dashboard.event", number=number))


@bp.get("/events/new")
def event_new() -> Any:
    return _render_form(None, _event_form(None), None)


@bp.post("/events/new")
def event_create() -> Any:
    return _save(None)


@bp.get("/events/<int:number>/edit")
def event_edit(number: int) -> Any:
    with _sheli().uow() as uow:
        found = uow.events.get(number)
        if found is None:
            return render_template("dashboard/error.html", message=f"没有「活动{number}」"), 404
        return _render_form(number, _event_form(found), None)


@bp.post("/events/<int:number>/edit")
def event_update(number: int) -> Any:
    return _save(number)


def _sign_up_rows(uow: Any, detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's sign-ups with the resident's phone masked (the page is a list)."""
    rows = []
    for row in detail["sign_ups"]:
        resident = uow.residents.get(row["resident"]) if row["resident"] else None
        phone = resident.phone if resident is not None else None
        rows.append(row | {"phone": mask_phone(phone) if phone else None})
    return rows


@bp.get("/events/<int:number>")
def event(number: int) -> Any:
    """One event with its sign-ups (masked), the waiting list and attendance."""
    sheli = _sheli()
    with sheli.uow() as uow:
        try:
            detail = community.event_detail(uow, sheli.policy, number, sheli.clock.now())
        except ValueError:
            return render_template("dashboard/error.html", message=f"没有「活动{number}」"), 404
        return render_template(
            "dashboard/event.html", event=detail, sign_ups=_sign_up_rows(uow, detail)
        )


@bp.get("/api/events/<int:number>")
def event_json(number: int) -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        try:
            detail = community.event_detail(uow, sheli.policy, number, sheli.clock.now())
        except ValueError:
            return jsonify(error=f"no event {number}", status=404), 404
        detail["sign_ups"] = _sign_up_rows(uow, detail)
        return jsonify(detail)


@bp.post("/events/<int:number>/cancel")
def event_cancel(number: int) -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        try:
            community.cancel_event(uow, number, sheli.clock.now())
        except ValueError:
            abort(404)
        uow.commit()
    current_app.logger.info("dashboard: %s cancelled 活动%s", g.operator, number)
    flash(f"「活动{number}」已取消，不再接受报名，也不再发提醒。", "ok")
    return redirect(url_for("dashboard.event", number=number))


def _sign_up_of(uow: Any, number: int, raw: str | None) -> Any:
    """The sign-up named by a form field, if it belongs to this event."""
    try:
        found = uow.events.get_sign_up(int(raw or ""))
    except ValueError:
        return None
    return found if found is not None and found.event_id == number else None


@bp.post("/events/<int:number>/attendance")
def event_attendance(number: int) -> Any:
    """Record who came: one `attended-<sign-up id>` field per row, "1" came, "0" did not."""
    sheli = _sheli()
    marked = 0
    with sheli.uow() as uow:
        if uow.events.get(number) is None:
            abort(404)
        for key, value in request.form.items():
            if not key.startswith("attended-") or value not in ("1", "0"):
                continue
            signed = _sign_up_of(uow, number, key.removeprefix("attended-"))
            if signed is None or signed.status != SignUpStatus.CONFIRMED:
                continue
            if signed.attended is not (value == "1"):
                community.mark_sign_up_attendance(uow, signed.id, value == "1", sheli.clock.now())
                marked += 1
        uow.commit()
    flash(f"已记录 {marked} 人的到场情况。" if marked else "到场情况没有变化。", "ok")
    return redirect(url_for("dashboard.event", number=number))


@bp.post("/events/<int:number>/withdraw")
def event_withdraw(number: int) -> Any:
    """Withdraw a sign-up for a resident; the first on the waiting list moves up and is told."""
    sheli = _sheli()
    with sheli.uow() as uow:
        signed = _sign_up_of(uow, number, request.form.get("sign_up"))
        if signed is None or signed.resident_id is None:
            abort(404)
        if community.cancel_sign_up(
            uow, sheli.policy, number, signed.resident_id, sheli.clock.now()
        ):
            uow.commit()
            flash(f"已取消住户 {signed.resident_id} 的报名。", "ok")
    return redirect(url_for("dashboard.event", number=number))


# --- buildings and residents -----------------------------------------------------------------


def _buildings_charts(rows: list[dict[str, Any]]) -> dict[str, Markup]:
    requests = charts.bar_chart(
        [r["name"] for r in rows],
        {
            "在办": [r["open_requests"] for r in rows],
            "已办结等": [r["requests"] - r["open_requests"] for r in rows],
        },
        "各楼栋诉求数",
    )
    # Beds stacked as registered residents + empty beds: each column is the building's capacity
    # and its lower part is the occupancy, on one scale for every building.
    imported = [r for r in rows if r["capacity"]]
    beds = charts.bar_chart(
        [r["name"] for r in imported],
        {
            "登记住户": [min(r["residents"], r["capacity"]) for r in imported],
            "空床位": [max(r["capacity"] - r["residents"], 0) for r in imported],
        },
        "各楼栋床位与登记住户",
    )
    return {"requests": requests, "beds": beds}


def _buildings_page(problems: list[str] | None = None) -> Any:
    with _sheli().uow() as uow:
        rows = community.buildings_overview(uow)
    return render_template(
        "dashboard/buildings.html",
        buildings=rows,
        charts=_buildings_charts(rows),
        problems=problems or [],
    )


@bp.get("/buildings")
def buildings() -> Any:
    """Per building: rooms, beds, registered residents, occupancy and requests."""
    return _buildings_page()


@bp.get("/api/buildings")
def buildings_json() -> Any:
    with _sheli().uow() as uow:
        return jsonify(buildings=community.buildings_overview(uow))


@bp.post("/buildings/import")
def rooms_import() -> Any:
    """The upload twin of `sheli rooms import`."""
    result, problems = _import("rooms")
    if result is None:
        return _buildings_page(problems), 400
    flash(_imported("rooms", result), "ok")
    return redirect(url_for("dashboard.buildings"))


# The building is a query argument (?name=3栋): names are what residents write, not ids.
@bp.get("/building")
def building() -> Any:
    """One building: its rooms with capacity and residents, and its requests."""
    sheli = _sheli()
    name = request.args.get("name", "").strip()
    if not name:
        return redirect(url_for("dashboard.buildings"))
    with sheli.uow() as uow:
        detail = community.building_detail(uow, sheli.policy, name)
    if not detail["imported"] and not detail["rooms"] and not detail["tickets"]:
        return render_template("dashboard/error.html", message=f"没有楼栋“{name}”"), 404
    return render_template("dashboard/building.html", building=detail)


@bp.get("/api/building")
def building_json() -> Any:
    sheli = _sheli()
    name = request.args.get("name", "").strip()
    if not name:
        return jsonify(error="name is required, e.g. ?name=3栋", status=400), 400
    with sheli.uow() as uow:
        return jsonify(community.building_detail(uow, sheli.policy, name))


@bp.get("/residents/<int:number>")
def resident(number: int) -> Any:
    """A resident: room, masked phone, tickets and sign-ups; an erased one shows as anonymous."""
    sheli = _sheli()
    with sheli.uow() as uow:
        try:
            page = community.resident_page(uow, sheli.policy, number)
        except ValueError:
            return render_template("dashboard/error.html", message=f"没有住户 {number}"), 404
    return render_template("dashboard/resident.html", resident=page)


@bp.get("/api/residents/<int:number>")
def resident_json(number: int) -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        try:
            return jsonify(community.resident_page(uow, sheli.policy, number))
        except ValueError:
            return jsonify(error=f"no resident {number}", status=404), 404


# --- party-building resources and helpers ----------------------------------------------------


def _resources_page(problems: list[str] | None = None) -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        data = community.resources_overview(uow, sheli.policy)
    return render_template("dashboard/resources.html", data=data, problems=problems or [])


@bp.get("/resources")
def resources() -> Any:
    """Alliance units (共建单位), volunteer teams and the six staff roles with who fills them."""
    return _resources_page()


@bp.get("/api/resources")
def resources_json() -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        return jsonify(community.resources_overview(uow, sheli.policy))


@bp.post("/resources/import")
def resources_import() -> Any:
    """The upload twin of `sheli resources import`."""
    result, problems = _import("resources")
    if result is None:
        return _resources_page(problems), 400
    flash(_imported("resources", result), "ok")
    return redirect(url_for("dashboard.resources"))


@bp.post("/tickets/<int:number>/helper")
def ticket_helper(number: int) -> Any:
    """Assign a volunteer as a helper on a ticket (audit trail; the assignee is told)."""
    sheli = _sheli()
    try:
        volunteer_id = int(request.form.get("volunteer", ""))
    except ValueError:
        flash("请选择志愿者。", "error")
        return redirect(url_for("dashboard.ticket", number=number))
    with sheli.uow() as uow:
        try:
            helper = community.assign_helper(
                uow, number, volunteer_id, board.operator_actor(g.operator), sheli.clock.now()
            )
        except TicketError:
            abort(404)
        except ValueError:
            flash("这位志愿者不存在或已停用。", "error")
        else:
            uow.commit()
            volunteer = helper.volunteer
            flash(f"已安排{volunteer.team}{volunteer.name}协助 #{number}。", "ok")
    return redirect(url_for("dashboard.ticket", number=number))
