"""Dashboard pages for community data: events with sign-ups and attendance, buildings with
occupancy and requests, a resident's page, and the party-building resources.

Views only translate: reads are `sheli.read(read_models.…)`, writes `sheli.handle(command)` (the
same handlers the chat and the CLI use). Refusals are mapped once, in bot/dashboard/errors.py;
the event form and the imports show their problems beside what was sent, as a form does.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.utils import secure_filename

from bot.dashboard import charts
from bot.dashboard.blueprint import bp
from bot.dashboard.errors import form_on
from bot.dashboard.scope import limited, scope, site_only
from bot.dashboard.views import operator, page_arg
from bot.web import current_sheli
from handlers import messages as msg
from handlers import read_models
from handlers.commands import (
    AssignHelper,
    CancelEvent,
    ImportData,
    MarkAttendance,
    SaveEvent,
    WithdrawSignUp,
)
from handlers.errors import Invalid, NotFound
from handlers.importing import ImportRejected, ImportResult, read_file
from handlers.times import local_text


@bp.app_template_filter("local_iso")
def _local_iso(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC time as the JSON views write it ("2026-11-28T01:00:00Z") in local site time."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value.removesuffix("Z"))
    return local_text(moment, current_sheli().policy.timezone, fmt) or "—"


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
        raise ImportRejected([msg.IMPORT_NO_FILE])
    name = secure_filename(upload.filename) or "upload.yaml"
    if Path(name).suffix.lower() not in (".yaml", ".yml", ".csv"):
        # secure_filename drops non-ASCII names ("活动.csv" → "csv"); keep the suffix we saw.
        suffix = Path(upload.filename).suffix.lower()
        name = "upload" + (suffix if suffix in (".yaml", ".yml", ".csv") else ".yaml")
    with tempfile.TemporaryDirectory(prefix="sheli-import-") as folder:
        path = Path(folder) / name
        upload.save(path)
        try:
            return read_file(path), name.lower().endswith(".csv")
        except ImportRejected as rejected:
            raise ImportRejected([p.replace(str(path), name) for p in rejected.problems]) from None


def _import(what: str) -> tuple[ImportResult | None, list[str]]:
    """Import one uploaded file in one transaction; any bad row and nothing is imported. The
    site's data: not for an operator limited to one community."""
    site_only()
    try:
        data, csv_file = _read_upload("file")
        result = current_sheli().handle(ImportData(what, data, csv_file=csv_file))
    except ImportRejected as rejected:
        current_app.logger.info(
            "dashboard: %s's %s import refused (%d problems)",
            g.operator,
            what,
            len(rejected.problems),
        )
        return None, rejected.problems
    current_app.logger.info("dashboard: %s imported %s: %s", g.operator, what, result)
    return result, []


def _imported(what: str, result: ImportResult) -> str:
    return msg.DASHBOARD_IMPORTED.format(
        what=msg.IMPORT_KIND_NAMES[what], created=result.created, updated=result.updated
    )


# --- events ----------------------------------------------------------------------------------


def _events_page(problems: list[str] | None = None) -> Any:
    found = current_sheli().read(read_models.events_page, page=page_arg())
    rows = found["events"]
    return render_template(
        "dashboard/events.html",
        upcoming=[r for r in rows if not r["past"]],
        past=[r for r in rows if r["past"]],
        problems=problems or [],
        page=found["page"],
        has_next=found["has_next"],
    )


@bp.get("/events")
def events() -> Any:
    """Upcoming events (soonest first) and past ones, with sign-ups and the waiting list."""
    return _events_page()


@bp.get("/api/events")
def events_json() -> Any:
    found = current_sheli().read(read_models.events_page, page=page_arg())
    return jsonify(events=found["events"], page=found["page"], has_next=found["has_next"])


@bp.post("/events/import")
def events_import() -> Any:
    """The upload twin of `sheli events import`: a file with any bad row imports nothing."""
    result, problems = _import("events")
    if result is None:
        return _events_page(problems), 400
    flash(_imported("events", result), "ok")
    return redirect(url_for("dashboard.events"))


def _render_form(event_id: int | None, values: dict[str, str], error: str | None) -> Any:
    return render_template(
        "dashboard/event_form.html", event_id=event_id, values=values, error=error
    )


def _save(event_id: int | None) -> Any:
    site_only()  # the site's events: changed by a whole-site operator
    values = {key: request.form.get(key, "").strip() for key in read_models.EVENT_FORM_FIELDS}
    try:
        event = current_sheli().handle(SaveEvent(values, event_id))
    except Invalid as problems:  # shown above the form, with what was typed kept
        error = msg.DASHBOARD_EVENT_NOT_SAVED.format(reason=problems)
        return _render_form(event_id, values, error), 400
    current_app.logger.info("dashboard: %s saved 活动%s", g.operator, event.id)
    flash(msg.DASHBOARD_EVENT_SAVED.format(n=event.id), "ok")
    return redirect(url_for("dashboard.event", number=event.id))


@bp.get("/events/new")
def event_new() -> Any:
    site_only()  # the site's events: changed by a whole-site operator
    return _render_form(None, current_sheli().read(read_models.event_form, None), None)


@bp.post("/events/new")
def event_create() -> Any:
    return _save(None)


@bp.get("/events/<int:number>/edit")
def event_edit(number: int) -> Any:
    site_only()  # the site's events: changed by a whole-site operator
    return _render_form(number, current_sheli().read(read_models.event_form, number), None)


@bp.post("/events/<int:number>/edit")
def event_update(number: int) -> Any:
    return _save(number)


@bp.get("/events/<int:number>")
def event(number: int) -> Any:
    """One event with its sign-ups (masked), the waiting list and attendance."""
    detail = current_sheli().read(read_models.event_detail, number, page_arg(), limited())
    return render_template(
        "dashboard/event.html",
        event=detail,
        sign_ups=detail["sign_ups"],
        page=detail["page"],
        has_next=detail["has_next"],
    )


@bp.get("/api/events/<int:number>")
def event_json(number: int) -> Any:
    return jsonify(current_sheli().read(read_models.event_detail, number, page_arg(), limited()))


@bp.post("/events/<int:number>/cancel")
@form_on("dashboard.event")
def event_cancel(number: int) -> Any:
    site_only()  # the site's events: changed by a whole-site operator
    current_sheli().handle(CancelEvent(number))
    current_app.logger.info("dashboard: %s cancelled 活动%s", g.operator, number)
    flash(msg.DASHBOARD_EVENT_CANCELLED.format(n=number), "ok")
    return redirect(url_for("dashboard.event", number=number))


def _attendance_marks() -> dict[int, bool]:
    """The form's `attended-<sign-up id>` fields: "1" came, "0" did not (others ignored)."""
    marks = {}
    for key, value in request.form.items():
        sign_up = key.removeprefix("attended-")
        if key.startswith("attended-") and sign_up.isdigit() and value in ("1", "0"):
            marks[int(sign_up)] = value == "1"
    return marks


@bp.post("/events/<int:number>/attendance")
@form_on("dashboard.event")
def event_attendance(number: int) -> Any:
    """Record who came: one `attended-<sign-up id>` field per row."""
    site_only()  # the site's events: changed by a whole-site operator
    marked = current_sheli().handle(MarkAttendance(number, _attendance_marks()))
    if marked:
        flash(msg.DASHBOARD_ATTENDANCE_RECORDED.format(n=marked), "ok")
    else:
        flash(msg.DASHBOARD_ATTENDANCE_UNCHANGED, "ok")
    return redirect(url_for("dashboard.event", number=number))


@bp.post("/events/<int:number>/withdraw")
@form_on("dashboard.event")
def event_withdraw(number: int) -> Any:
    """Withdraw a sign-up for a resident; the first on the waiting list moves up and is told."""
    site_only()  # the site's events: changed by a whole-site operator
    sign_up = request.form.get("sign_up", "")
    if not sign_up.isdigit():
        raise NotFound(msg.NO_SUCH_SIGN_UP.format(n=number))
    withdrawn = current_sheli().handle(WithdrawSignUp(number, int(sign_up)))
    if withdrawn is not None:
        flash(msg.DASHBOARD_SIGN_UP_WITHDRAWN.format(resident=withdrawn.resident_id), "ok")
    return redirect(url_for("dashboard.event", number=number))


# --- buildings and residents -----------------------------------------------------------------


def _buildings_charts(rows: list[dict[str, Any]]) -> dict[str, Markup]:
    titles = msg.BUILDINGS_CHARTS
    requests = charts.bar_chart(
        [r["name"] for r in rows],
        {
            titles["open"]: [r["open_requests"] for r in rows],
            titles["done"]: [
                r["requests"] - r["open_requests"] - r["cancelled_requests"] for r in rows
            ],
            titles["cancelled"]: [r["cancelled_requests"] for r in rows],
        },
        titles["requests"],
    )
    # Beds stacked as registered residents + empty beds: each column is the building's capacity
    # and its lower part is the occupancy, on one scale for every building.
    imported = [r for r in rows if r["capacity"]]
    beds = charts.bar_chart(
        [r["name"] for r in imported],
        {
            titles["residents"]: [min(r["residents"], r["capacity"]) for r in imported],
            titles["empty_beds"]: [max(r["capacity"] - r["residents"], 0) for r in imported],
        },
        titles["beds"],
    )
    return {"requests": requests, "beds": beds}


def _buildings_page(problems: list[str] | None = None) -> Any:
    rows = current_sheli().read(read_models.buildings_overview, scope())
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
    return jsonify(buildings=current_sheli().read(read_models.buildings_overview, scope()))


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
    name = request.args.get("name", "").strip()
    if not name:
        return redirect(url_for("dashboard.buildings"))
    detail = current_sheli().read(read_models.building_page, name, page_arg(), limited())
    return render_template(
        "dashboard/building.html", building=detail, page=detail["page"], has_next=detail["has_next"]
    )


@bp.get("/api/building")
def building_json() -> Any:
    name = request.args.get("name", "").strip()
    if not name:
        return jsonify(error="name is required, e.g. ?name=3栋", status=400), 400
    return jsonify(current_sheli().read(read_models.building_detail, name, page_arg(), limited()))


@bp.get("/residents/<int:number>")
def resident(number: int) -> Any:
    """A resident: room, masked phone, tickets and sign-ups; an erased one shows as anonymous."""
    page = current_sheli().read(read_models.resident_page, number, limited())
    return render_template("dashboard/resident.html", resident=page)


@bp.get("/api/residents/<int:number>")
def resident_json(number: int) -> Any:
    return jsonify(current_sheli().read(read_models.resident_page, number, limited()))


# --- party-building resources and helpers ----------------------------------------------------


def _resources_page(problems: list[str] | None = None) -> Any:
    data = current_sheli().read(read_models.resources_overview, scope())
    return render_template("dashboard/resources.html", data=data, problems=problems or [])


@bp.get("/resources")
def resources() -> Any:
    """Alliance units (共建单位), volunteer teams and the six staff roles with who fills them."""
    return _resources_page()


@bp.get("/api/resources")
def resources_json() -> Any:
    return jsonify(current_sheli().read(read_models.resources_overview, scope()))


@bp.post("/resources/import")
def resources_import() -> Any:
    """The upload twin of `sheli resources import`."""
    result, problems = _import("resources")
    if result is None:
        return _resources_page(problems), 400
    flash(_imported("resources", result), "ok")
    return redirect(url_for("dashboard.resources"))


@bp.post("/tickets/<int:number>/helper")
@form_on("dashboard.ticket")
def ticket_helper(number: int) -> Any:
    """Assign a volunteer as a helper on a ticket (audit trail; the assignee is told)."""
    volunteer = request.form.get("volunteer", "")
    if not volunteer.isdigit():
        raise Invalid(msg.CHOOSE_VOLUNTEER)
    helper = current_sheli().handle(AssignHelper(number, int(volunteer), operator()))
    flash(
        msg.DASHBOARD_HELPER_ASSIGNED.format(
            team=helper.volunteer.team, name=helper.volunteer.name, n=number
        ),
        "ok",
    )
    return redirect(url_for("dashboard.ticket", number=number))
