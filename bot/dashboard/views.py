"""Dashboard pages and their JSON twins: overview, tickets, staff, the weekly summary.

Views only translate: a request becomes `sheli.read(read_models.…)` or `sheli.handle(command)`
with the operator as the actor, and the result a page, a flash or JSON. Refusals are mapped to
what the operator sees once, in bot/dashboard/errors.py.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date, datetime
from typing import IO, Any
from urllib.parse import quote

from flask import (
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from markupsafe import Markup

from bot.dashboard import charts
from bot.dashboard.blueprint import bp
from bot.dashboard.errors import form_on
from bot.dashboard.scope import limited, scope
from bot.exports import (
    CSV_TYPE,
    XLSX_TYPE,
    csv_lines,
    ticket_rows,
    tickets_sheet,
    write_summary,
    write_xlsx,
)
from bot.web import current_sheli
from handlers import messages as msg
from handlers import read_models
from handlers.commands import (
    Actor,
    AddNote,
    AddStaff,
    CancelTicket,
    CloseTicket,
    IssueBindCode,
    RecordView,
    ReplyToResident,
    SetStaffActive,
    ShowPhone,
    TransferTicket,
)
from handlers.errors import Invalid
from handlers.keywords import mask_phone, mask_phones_in
from handlers.site_summary import Comparison
from handlers.summary import percent_text, rating_text
from handlers.tickets import handoff_sentence
from handlers.times import local_stamp, local_text, minutes_text, utc_offset
from storage.models import Ticket


def operator() -> Actor:
    """The logged-in operator, as the audit trail names them (with the community they are
    limited to: handlers refuse another community's ticket as not found)."""
    return Actor.operator(g.operator, limited())


@bp.app_template_filter("local")
def _local_filter(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return local_text(value, current_sheli().policy.timezone, fmt) or "—"


@bp.app_template_filter("stamp")
def _stamp_filter(value: datetime | None) -> str:
    """A time with its offset: "2026-11-23 09:00 (+08:00)"."""
    return local_stamp(value, current_sheli().policy.timezone) or "—"


# The figures' one wording (handlers/summary.py, handlers/times.py): cards and text agree.
bp.add_app_template_filter(percent_text, "pct")
bp.add_app_template_filter(minutes_text, "minutes")
bp.add_app_template_filter(rating_text, "rating")


@bp.context_processor
def _names() -> dict[str, Any]:
    policy = current_sheli().policy
    return {
        "operator": g.get("operator"),
        "site_name": policy.site_name,
        "role_names": policy.role_names,
        "intent_names": msg.INTENT_NAMES,
        "status_names": msg.STATUS_NAMES,
        "event_names": msg.AUDIT_EVENT_NAMES,
        "followup_names": msg.FOLLOWUP_NAMES,
        "outbox_status_names": msg.OUTBOX_STATUS_NAMES,
        "tz_offset": utc_offset(policy.timezone),
        "times_note": msg.TIMES_ARE_LOCAL.format(zone="当地", offset=utc_offset(policy.timezone)),
        "mask_phone": mask_phone,
        "mask_phones_in": mask_phones_in,
    }


# --- overview --------------------------------------------------------------------------------


def resolution_unit(data: read_models.Overview) -> str:
    """The resolution chart's unit: minutes while every weekly median is under two hours (a
    20-minute median is not "0.3小时" near an axis of 0), else hours."""
    medians = [
        m
        for s in data.weekly
        for m in (s.median_resolution_minutes, s.median_first_response_minutes)
        if m is not None
    ]
    return msg.UNIT_MINUTES if max(medians, default=0) < 120 else msg.UNIT_HOURS


def _overview_charts(data: read_models.Overview) -> dict[str, Markup]:
    titles = msg.OVERVIEW_CHARTS
    labels = [s.week.split("-")[1] for s in data.weekly]
    volume = {
        msg.INTENT_NAMES.get(intent, intent): [s.new_by_intent.get(intent, 0) for s in data.weekly]
        for intent in data.intents
    } or {titles["volume_empty"]: [0] * len(labels)}

    unit = resolution_unit(data)

    def scaled(value: float | None) -> float | None:
        if value is None:
            return None
        return round(value) if unit == msg.UNIT_MINUTES else round(value / 60, 1)

    def percent(value: float | None) -> float | None:
        return None if value is None else value * 100

    return {
        "volume": charts.bar_chart(labels, volume, titles["volume"]),
        "resolution": charts.line_chart(
            labels,
            {
                titles["median_resolution"]: [
                    scaled(s.median_resolution_minutes) for s in data.weekly
                ],
                titles["median_first_response"]: [
                    scaled(s.median_first_response_minutes) for s in data.weekly
                ],
            },
            titles["resolution"].format(unit=unit),
            value_unit=unit,
        ),
        "satisfaction": charts.line_chart(
            labels,
            {
                titles["satisfaction_rate"]: [percent(s.satisfaction_rate) for s in data.weekly],
                titles["solve_rate"]: [percent(s.solve_rate) for s in data.weekly],
            },
            titles["satisfaction"],
            unit="%",
            fixed_max=100,
        ),
        "buildings": charts.hbar_chart(data.buildings, titles["buildings"]),
    }


def community_charts(comparison: Comparison | None) -> dict[str, Markup]:
    """The communities side by side (a site of several): this week's new tickets and 办结率,
    one bar each. A community with nothing to divide has no 办结率 bar."""
    if comparison is None:
        return {}
    rows = comparison.communities
    titles = msg.SITE_CHARTS
    rated = [
        (r.name, round(r.completion_rate * 100)) for r in rows if r.completion_rate is not None
    ]
    return {
        "new": charts.hbar_chart([(r.name, r.new_tickets) for r in rows], titles["new"]),
        "completion": charts.hbar_chart(rated, titles["completion"], unit="%", fixed_max=100),
    }


@bp.get("/")
def overview() -> Any:
    data = current_sheli().read(read_models.overview, community=scope())
    return render_template(
        "dashboard/overview.html",
        data=data,
        charts=_overview_charts(data),
        community_charts=community_charts(data.communities),
        communities_text={
            "columns": msg.SITE_SUMMARY_COLUMNS,
            "note": msg.SITE_SUMMARY["note"],
            "charts": msg.SITE_CHARTS,
        },
        resolution_caption=msg.OVERVIEW_RESOLUTION_CAPTION.format(unit=resolution_unit(data)),
    )


@bp.get("/api/overview")
def overview_json() -> Any:
    return jsonify(current_sheli().read(read_models.overview, community=scope()).to_json())


# --- tickets ---------------------------------------------------------------------------------


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:  # date inputs send ISO dates; anything else is ignored, not an error
        return None


def page_arg() -> int:
    """`?page=n` (1 when missing or not a page number)."""
    raw = request.args.get("page", "").strip()
    return max(1, min(int(raw), 1_000_000)) if raw.isdigit() else 1


@bp.app_template_global()
def page_url(page: int) -> str:
    """This page's URL with its query string, at page `page` (the pager's links)."""
    args = request.args.to_dict()
    args["page"] = str(page)
    return url_for(request.endpoint or "dashboard.overview", **(request.view_args or {}), **args)


def _ticket_filter() -> read_models.TicketFilter:
    args = request.args
    return read_models.TicketFilter(
        status=args.get("status") or None,
        intent=args.get("intent") or None,
        role=args.get("role") or None,
        building=args.get("building") or None,
        since=_date_arg("since"),
        until=_date_arg("until"),
        overdue=args.get("overdue") == "1",
        page=page_arg(),
        community=scope(),
    )


@bp.get("/tickets")
def tickets() -> Any:
    wanted = _ticket_filter()
    page = current_sheli().read(read_models.tickets_page, wanted)
    return render_template(
        "dashboard/tickets.html",
        tickets=page.tickets,
        wanted=wanted,
        buildings=page.buildings,
        page=page.page,
        has_next=page.has_next,
        sla=page.sla,
        # An export takes the whole selection, not the page shown.
        export_args={
            k: v for k, v in request.args.items() if k not in ("format", "page", "community") and v
        },
    )


@bp.get("/api/tickets")
def tickets_json() -> Any:
    return jsonify(current_sheli().read(read_models.tickets_json, _ticket_filter()))


def _attachment(name: str) -> dict[str, str]:
    """Content-Disposition for a download with a Chinese file name (RFC 6266)."""
    ascii_name = name.encode("ascii", "ignore").decode().lstrip("-") or "export"
    return {
        "Content-Disposition": f'attachment; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(name)}"
    }


def _send_xlsx(write: Callable[[IO[bytes]], object], name: str) -> Any:
    """Write a workbook to a temporary file on disk (not memory) and send it."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it after the response
    try:
        write(spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return send_file(spool, mimetype=XLSX_TYPE, as_attachment=True, download_name=name)


def _file_stamp() -> str:
    sheli = current_sheli()
    return local_text(sheli.clock.now(), sheli.policy.timezone, "%Y%m%d-%H%M")


@bp.get("/tickets/export")
def tickets_export() -> Any:
    """The tickets list's selection as xlsx or CSV (phones masked), written while it is read."""
    fmt = request.args.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise Invalid(msg.EXPORT_FORMATS)
    sheli, wanted = current_sheli(), _ticket_filter()
    name = f"{msg.EXPORT_TICKETS_FILE}-{_file_stamp()}.{fmt}"
    current_app.logger.info("dashboard: %s exported tickets as %s", g.operator, fmt)
    if fmt == "csv":
        header = sheli.read(read_models.export_header)
        lines = csv_lines(header, ticket_rows(sheli, wanted))
        return Response(lines, mimetype=CSV_TYPE, headers=_attachment(name))
    return _send_xlsx(lambda spool: write_xlsx(spool, [tickets_sheet(sheli, wanted)]), name)


@bp.get("/tickets/<int:number>")
def ticket(number: int) -> Any:
    """The whole ticket (the phone masked): opening it goes into the ticket's audit trail."""
    sheli = current_sheli()
    sheli.handle(RecordView(number, operator()))
    page = sheli.read(read_models.ticket_page, number, limited())
    return render_template("dashboard/ticket.html", **vars(page))


@bp.post("/tickets/<int:number>/phone")
@form_on("dashboard.ticket")
def ticket_phone(number: int) -> Any:
    """The full phone, shown on this response only; who looked goes into the trail."""
    sheli = current_sheli()
    phone = sheli.handle(ShowPhone(number, operator()))
    page = sheli.read(read_models.ticket_page, number, limited())
    if phone is None:
        flash(msg.DASHBOARD_PHONE_NONE.format(n=number), "ok")
        return redirect(url_for("dashboard.ticket", number=number))
    return render_template(
        "dashboard/ticket.html", **vars(page), full_phone=phone, shown=msg.DASHBOARD_PHONE_SHOWN
    )


@bp.get("/tickets/<int:number>/phone")
def ticket_phone_again(number: int) -> Any:
    """Reloading (or reopening) the address the full phone was shown at: the ticket's page,
    where the phone is masked again (each look at the full number is one audited POST)."""
    return redirect(url_for("dashboard.ticket", number=number), code=303)


@bp.post("/tickets/<int:number>/reply")
@form_on("dashboard.ticket")
def ticket_reply(number: int) -> Any:
    """Write to the resident through Sheli, as `回复 n` does in chat."""
    current_sheli().handle(ReplyToResident(number, request.form.get("text", ""), operator()))
    flash(msg.DASHBOARD_REPLY_SENT.format(n=number), "ok")
    return redirect(url_for("dashboard.ticket", number=number))


def _told(ticket: Ticket) -> str:
    """Who heard that the ticket ended: the resident and the assignee."""
    who = []
    if ticket.resident is not None and ticket.resident.erased_at is None:
        who.append(msg.DASHBOARD_TOLD_RESIDENT)
    if ticket.assignee is not None and ticket.assignee.active and ticket.assignee.openid:
        role = current_sheli().policy.role_name(ticket.role)
        who.append(msg.ASSIGNEE.format(role=role, name=ticket.assignee.name))
    return msg.DASHBOARD_TOLD.format(who="和".join(who)) if who else msg.DASHBOARD_TOLD_NOBODY


@bp.post("/tickets/<int:number>/close")
@form_on("dashboard.ticket")
def ticket_close(number: int) -> Any:
    """结单 with a reason: the trail records it, the resident and the assignee are told."""
    closed = current_sheli().handle(CloseTicket(number, request.form.get("reason", ""), operator()))
    flash(msg.DASHBOARD_CLOSED.format(n=number, told=_told(closed)), "ok")
    return redirect(url_for("dashboard.ticket", number=number))


@bp.post("/tickets/<int:number>/cancel")
@form_on("dashboard.ticket")
def ticket_cancel(number: int) -> Any:
    """取消 with a reason: the trail records it, the resident and the assignee are told."""
    cancelled = current_sheli().handle(
        CancelTicket(number, request.form.get("reason", ""), operator())
    )
    flash(msg.DASHBOARD_CANCELLED.format(n=number, told=_told(cancelled)), "ok")
    return redirect(url_for("dashboard.ticket", number=number))


@bp.get("/api/tickets/<int:number>")
def ticket_json_view(number: int) -> Any:
    sheli = current_sheli()
    sheli.handle(RecordView(number, operator()))
    return jsonify(sheli.read(read_models.ticket_record, number, mask=False, community=limited()))


@bp.post("/tickets/<int:number>/reassign")
@form_on("dashboard.ticket")
def reassign(number: int) -> Any:
    sheli = current_sheli()
    wanted = request.form.get("role", "")
    moved = sheli.handle(TransferTicket(number, wanted, operator()))
    flash(handoff_sentence(sheli.policy, moved, sheli.policy.role_from_text(wanted)), "ok")
    return redirect(url_for("dashboard.ticket", number=number))


@bp.post("/tickets/<int:number>/note")
@form_on("dashboard.ticket")
def note(number: int) -> Any:
    current_sheli().handle(AddNote(number, request.form.get("text", ""), operator()))
    flash(msg.DASHBOARD_NOTE_ADDED, "ok")
    return redirect(url_for("dashboard.ticket", number=number))


# --- staff -----------------------------------------------------------------------------------


def _staff_page(added: dict[str, Any] | None = None) -> Any:
    groups = current_sheli().read(read_models.staff_by_role, scope())
    return render_template("dashboard/staff.html", groups=groups, added=added)


@bp.get("/staff")
def staff() -> Any:
    return _staff_page()


def _new_staff_community() -> str | None:
    """Where a new staff member goes: a limited operator's community; for a whole-site
    operator the form's choice ("" the site-wide pool), else the community shown."""
    if limited() is not None:
        return limited()
    if "community" in request.form:
        return request.form.get("community", "").strip() or None
    return scope()


@bp.post("/staff")
@form_on("dashboard.staff", refusal=msg.DASHBOARD_STAFF_NOT_ADDED)
def staff_add() -> Any:
    member, code = current_sheli().handle(
        AddStaff(
            role=request.form.get("role", ""),
            name=request.form.get("name", ""),
            openid=request.form.get("openid", "").strip() or None,
            community=_new_staff_community(),
        )
    )
    current_app.logger.info("dashboard: %s added staff #%s", g.operator, member.id)
    # The bind code is shown once, on this response, and never stored in clear.
    return _staff_page({"staff": member, "code": code})


@bp.post("/staff/<int:staff_id>/code")
@form_on("dashboard.staff")
def staff_code(staff_id: int) -> Any:
    """A new bind code; whoever was bound is unbound (as `sheli staff code` does)."""
    sheli = current_sheli()
    code = sheli.handle(IssueBindCode(staff_id, limited()))
    member = sheli.read(read_models.staff_member, staff_id, limited())
    current_app.logger.info("dashboard: %s issued a bind code for staff #%s", g.operator, staff_id)
    return _staff_page({"staff": member, "code": code})


def _set_active(staff_id: int, active: bool) -> Any:
    sheli = current_sheli()
    member = sheli.handle(SetStaffActive(staff_id, active, limited()))
    if active:
        flash(msg.DASHBOARD_STAFF_REACTIVATED.format(name=member.name), "ok")
    else:
        load = sheli.read(read_models.open_tickets_of, staff_id)
        still = msg.DASHBOARD_STAFF_STILL_HOLDS.format(n=load) if load else ""
        flash(msg.DASHBOARD_STAFF_DEACTIVATED.format(name=member.name, still=still), "ok")
    current_app.logger.info("dashboard: %s set staff #%s active=%s", g.operator, staff_id, active)
    return redirect(url_for("dashboard.staff"))


@bp.get("/staff/<int:staff_id>/deactivate")
def staff_deactivate_ask(staff_id: int) -> Any:
    """停用 asks first: who it is, what they hold, and who is left on duty in their role."""
    check = current_sheli().read(read_models.deactivation, staff_id, limited())
    if not check.member.active:
        flash(msg.DASHBOARD_STAFF_ALREADY_INACTIVE.format(name=check.member.name), "ok")
        return redirect(url_for("dashboard.staff"))
    name = check.member.name
    return render_template(
        "dashboard/staff_deactivate.html",
        member=check.member,
        ask=msg.STAFF_DEACTIVATE_ASK.format(role=check.role_name, name=name),
        warning=check.warning,
        effect=msg.STAFF_DEACTIVATE_EFFECT.format(name=name),
        holds=msg.STAFF_DEACTIVATE_HOLDS.format(name=name, n=check.load) if check.load else None,
    )


@bp.post("/staff/<int:staff_id>/deactivate")
@form_on("dashboard.staff")
def staff_deactivate(staff_id: int) -> Any:
    """Only the confirm page's form (confirm=1) deactivates; anything else goes to that page."""
    if request.form.get("confirm") != "1":
        return redirect(url_for("dashboard.staff_deactivate_ask", staff_id=staff_id), code=303)
    return _set_active(staff_id, False)


@bp.post("/staff/<int:staff_id>/reactivate")
@form_on("dashboard.staff")
def staff_reactivate(staff_id: int) -> Any:
    return _set_active(staff_id, True)


@bp.get("/api/staff")
def staff_list_json() -> Any:
    return jsonify(staff=current_sheli().read(read_models.staff_rows, scope()))


# --- weekly summary --------------------------------------------------------------------------


@bp.get("/summary")
def summary() -> Any:
    """The weekly summary as a page; the WeChat summary links here (`?week=2026-W47`)."""
    page = current_sheli().read(read_models.summary_page, request.args.get("week"), scope())
    return render_template(
        "dashboard/summary.html",
        week=page.week,
        s=page.figures,
        text=page.text,
        week_end=page.week_end,
        previous=page.previous,
        following=page.following,
    )


@bp.get("/summary/export")
def summary_export() -> Any:
    """The week's summary as an xlsx: its figures, its tickets and the text."""
    sheli = current_sheli()
    label = sheli.read(read_models.summary_week, request.args.get("week") or None).label
    current_app.logger.info("dashboard: %s exported the summary of %s", g.operator, label)
    community = scope()
    return _send_xlsx(
        lambda spool: write_summary(sheli, label, spool, community),
        f"{msg.EXPORT_SUMMARY_FILE}-{label}.xlsx",
    )


@bp.get("/api/summary")
def summary_json() -> Any:
    figures = current_sheli().read(read_models.week_summary, request.args.get("week"), scope())
    return jsonify(figures.to_json())
