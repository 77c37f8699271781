"""Dashboard pages and their JSON twins. Reads come from handlers.dashboard; writes go through
the same ticket and staff handlers the chat uses, with the operator as the actor."""

from __future__ import annotations

from datetime import date, datetime, timedelta
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

from bot.dashboard import bp, charts
from handlers import dashboard as board
from handlers import messages as msg
from handlers.keywords import mask_phone, mask_phones_in
from handlers.queries import staff_json, ticket_detail, ticket_json
from handlers.staff import add_staff, new_bind_code, set_active
from handlers.summary import compute_summary, render_summary, week_of
from handlers.tickets import TicketError, add_note, transfer_ticket
from storage.states import ACTIVE_STATUSES

# Opening the same ticket again within this time does not add another "viewed" line.
VIEW_QUIET = timedelta(minutes=10)

EVENT_NAMES = {
    "created": "登记",
    "assigned": "派单",
    "unassigned": "待分派",
    "accepted": "接单",
    "resolved": "办结",
    "transferred": "转派",
    "note": "备注",
    "cancelled": "取消",
    "reopened": "重新处理",
    "closed": "关闭",
    "visit_sent": "回访已发",
    "visit_answered": "回访回复",
    "visit_unclear": "回访未识别",
    "visit_expired": "回访未回复",
    "sla_breach": "超时督办",
    "duplicate_report": "重复报告",
    "image": "图片",
    "viewed": "查看",
    "anonymised": "已匿名",
    "helper_assigned": "志愿协助",
}
FOLLOWUP_NAMES = {
    "none": "未到回访",
    "due": "待回访",
    "asked": "已发送回访",
    "asked_again": "已再次询问",
    "answered": "已回复",
    "no_response": "未回复",
}


def _sheli() -> Any:
    return current_app.extensions["sheli"]


def _local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = board.to_local(value, _sheli().policy.timezone)
    return local.strftime(fmt) if local else "—"


@bp.app_template_filter("local")
def _local_filter(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return _local(value, fmt)


@bp.app_template_filter("pct")
def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


@bp.app_template_filter("minutes")
def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.0f}分钟"
    if value < 48 * 60:
        return f"{value / 60:.1f}小时"
    return f"{value / 1440:.1f}天"


@bp.context_processor
def _names() -> dict[str, Any]:
    policy = _sheli().policy
    return {
        "operator": g.get("operator"),
        "site_name": policy.site_name,
        "role_names": policy.role_names,
        "intent_names": msg.INTENT_NAMES,
        "status_names": msg.STATUS_NAMES,
        "event_names": EVENT_NAMES,
        "followup_names": FOLLOWUP_NAMES,
        "mask_phone": mask_phone,
        "mask_phones_in": mask_phones_in,
    }


# --- overview --------------------------------------------------------------------------------


def _overview_charts(data: board.Overview) -> dict[str, Markup]:
    labels = [s.week.split("-")[1] for s in data.weekly]
    volume = {
        msg.INTENT_NAMES.get(intent, intent): [s.new_by_intent.get(intent, 0) for s in data.weekly]
        for intent in data.intents
    } or {"诉求": [0] * len(labels)}

    def hours(value: float | None) -> float | None:
        return None if value is None else round(value / 60, 1)

    return {
        "volume": charts.bar_chart(labels, volume, "近12周每周新收诉求（按类型）"),
        "resolution": charts.line_chart(
            labels,
            {
                "办结用时中位数": [hours(s.median_resolution_minutes) for s in data.weekly],
                "首次响应中位数": [hours(s.median_first_response_minutes) for s in data.weekly],
            },
            "办结用时（小时）",
            unit="h",
        ),
        "satisfaction": charts.line_chart(
            labels,
            {
                "满意率": [
                    None if s.satisfaction_rate is None else s.satisfaction_rate * 100
                    for s in data.weekly
                ],
                "解决率": [
                    None if s.solve_rate is None else s.solve_rate * 100 for s in data.weekly
                ],
            },
            "满意率与解决率（%）",
            unit="%",
            fixed_max=100,
        ),
        "buildings": charts.hbar_chart(data.buildings, "近12周各楼栋诉求数"),
    }


@bp.get("/")
def overview() -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        data = board.overview(uow, sheli.policy, sheli.clock.now())
        return render_template("dashboard/overview.html", data=data, charts=_overview_charts(data))


@bp.get("/api/overview")
def overview_json() -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        data = board.overview(uow, sheli.policy, sheli.clock.now())
    return jsonify(
        open=data.open,
        overdue=data.overdue,
        unassigned=data.unassigned,
        this_week=data.this_week.to_json(),
        recent=data.recent.to_json(),
        weekly=[s.to_json() for s in data.weekly],
        buildings=[{"building": b, "tickets": n} for b, n in data.buildings],
    )


# --- tickets ---------------------------------------------------------------------------------


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:  # date inputs send ISO dates; anything else is ignored, not an error
        return None


def _ticket_filter() -> board.TicketFilter:
    args = request.args
    return board.TicketFilter(
        status=args.get("status") or None,
        intent=args.get("intent") or None,
        role=args.get("role") or None,
        building=args.get("building") or None,
        since=_date_arg("since"),
        until=_date_arg("until"),
        overdue=args.get("overdue") == "1",
    )


@bp.get("/tickets")
def tickets() -> Any:
    sheli = _sheli()
    wanted = _ticket_filter()
    with sheli.uow() as uow:
        found, cut = board.find_tickets(uow, sheli.policy, wanted)
        return render_template(
            "dashboard/tickets.html",
            tickets=found,
            cut=cut,
            wanted=wanted,
            buildings=board.buildings(uow),
            limit=board.TICKET_LIST_LIMIT,
        )


@bp.get("/api/tickets")
def tickets_json() -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        found, cut = board.find_tickets(uow, sheli.policy, _ticket_filter())
        listed = [ticket_json(t, sheli.policy) for t in found]
        for item in listed:  # lists never show a full phone number, not even inside the text
            item["text"] = mask_phones_in(item["text"])
        return jsonify(tickets=listed, truncated=cut)


def _note_view(uow: Any, ticket: Any, now: datetime) -> None:
    actor = board.operator_actor(g.operator)
    trail = uow.tickets.events(ticket.id)
    last = trail[-1] if trail else None
    if last and last.kind == "viewed" and last.actor == actor and now - last.at < VIEW_QUIET:
        return
    board.record_view(uow, ticket, g.operator, now)


@bp.get("/tickets/<int:number>")
def ticket(number: int) -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        now = sheli.clock.now()
        found = uow.tickets.get(number)
        if found is None:
            return render_template("dashboard/error.html", message=f"没有工单 #{number}"), 404
        _note_view(uow, found, now)
        uow.commit()
        return render_template(
            "dashboard/ticket.html",
            ticket=found,
            events=uow.tickets.events(number),
            attachments=uow.tickets.attachments(number),
            followers=uow.tickets.followers(number),
            chat=board.conversation(uow, sheli.policy, found, now),
            active=found.status in ACTIVE_STATUSES,
            helpers=uow.resources.helpers(number),
            volunteers=uow.resources.volunteers(active_only=True),
        )


@bp.get("/api/tickets/<int:number>")
def ticket_json_view(number: int) -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        found = uow.tickets.get(number)
        if found is None:
            return jsonify(error=f"no ticket #{number}", status=404), 404
        _note_view(uow, found, sheli.clock.now())
        uow.commit()
        return jsonify(ticket_detail(uow, found, sheli.policy, mask=False))


@bp.post("/tickets/<int:number>/reassign")
def reassign(number: int) -> Any:
    sheli = _sheli()
    role = request.form.get("role", "")
    if role not in sheli.policy.role_names:
        flash("请选择要转派的角色。", "error")
        return redirect(url_for("dashboard.ticket", number=number))
    with sheli.uow() as uow:
        found = uow.tickets.get(number)
        if found is None:
            abort(404)
        try:
            transfer_ticket(
                uow, sheli.policy, board.operator_actor(g.operator), found, role, sheli.clock.now()
            )
        except TicketError as refusal:
            flash(str(refusal), "error")
        else:
            uow.commit()
            who = found.assignee.name if found.assignee else "（暂无在岗人员，待分派）"
            flash(f"#{number} 已转派给{sheli.policy.role_name(found.role)}{who}。", "ok")
    return redirect(url_for("dashboard.ticket", number=number))


@bp.post("/tickets/<int:number>/note")
def note(number: int) -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        try:
            add_note(
                uow,
                sheli.policy,
                None,
                number,
                request.form.get("text", ""),
                sheli.clock.now(),
                actor=board.operator_actor(g.operator),
            )
        except TicketError as refusal:
            flash(str(refusal), "error")
        else:
            uow.commit()
            flash("备注已记录。", "ok")
    return redirect(url_for("dashboard.ticket", number=number))


# --- staff -----------------------------------------------------------------------------------


@bp.get("/staff")
def staff() -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        return render_template(
            "dashboard/staff.html", groups=board.staff_by_role(uow, sheli.policy), added=None
        )


@bp.post("/staff")
def staff_add() -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        try:
            member, code = add_staff(
                uow,
                sheli.policy,
                role=request.form.get("role", ""),
                name=request.form.get("name", ""),
                openid=request.form.get("openid", "").strip() or None,
                now=sheli.clock.now(),
            )
        except ValueError as refusal:
            flash(f"没有添加：{refusal}", "error")
            return redirect(url_for("dashboard.staff"))
        uow.commit()
        current_app.logger.info("dashboard: %s added staff #%s", g.operator, member.id)
        # The bind code is shown once, on this response, and never stored in clear.
        return render_template(
            "dashboard/staff.html",
            groups=board.staff_by_role(uow, sheli.policy),
            added={"staff": member, "code": code},
        )


@bp.post("/staff/<int:staff_id>/code")
def staff_code(staff_id: int) -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        member = uow.staff.get(staff_id)
        if member is None:
            abort(404)
        code = new_bind_code(uow, member, sheli.policy, sheli.clock.now())
        uow.commit()
        return render_template(
            "dashboard/staff.html",
            groups=board.staff_by_role(uow, sheli.policy),
            added={"staff": member, "code": code},
        )


def _set_active(staff_id: int, active: bool) -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        try:
            member = set_active(uow, staff_id, active)
        except ValueError:
            abort(404)
        uow.commit()
        load = uow.staff.open_load().get(staff_id, 0)
    if active:
        flash(f"{member.name} 已恢复接单。", "ok")
    else:
        extra = f"，仍有{load}件在办工单，请到工单页转派" if load else ""
        flash(f"{member.name} 已停用，不再分派新工单{extra}。", "ok")
    current_app.logger.info("dashboard: %s set staff #%s active=%s", g.operator, staff_id, active)
    return redirect(url_for("dashboard.staff"))


@bp.post("/staff/<int:staff_id>/deactivate")
def staff_deactivate(staff_id: int) -> Any:
    return _set_active(staff_id, False)


@bp.post("/staff/<int:staff_id>/reactivate")
def staff_reactivate(staff_id: int) -> Any:
    return _set_active(staff_id, True)


@bp.get("/api/staff")
def staff_list_json() -> Any:
    sheli = _sheli()
    with sheli.uow() as uow:
        load = uow.staff.open_load()
        return jsonify(
            staff=[staff_json(s, sheli.policy, load.get(s.id, 0)) for s in uow.staff.list()]
        )


# --- weekly summary --------------------------------------------------------------------------


def _week(label: str | None) -> Any:
    sheli = _sheli()
    try:
        return week_of(label or None, sheli.clock.now(), sheli.policy.timezone)
    except ValueError:
        return None


@bp.get("/summary")
def summary() -> Any:
    """The weekly summary as a page; the WeChat summary links here (`?week=2026-W47`)."""
    sheli = _sheli()
    week = _week(request.args.get("week"))
    if week is None:
        return render_template("dashboard/error.html", message="周次格式应为 2026-W47"), 400
    with sheli.uow() as uow:
        figures = compute_summary(uow, sheli.policy, week, sheli.clock.now())
    previous = (week.local_start - timedelta(weeks=1)).isocalendar()
    following = (week.local_start + timedelta(weeks=1)).isocalendar()
    return render_template(
        "dashboard/summary.html",
        week=week,
        s=figures,
        text=render_summary(figures, sheli.policy),
        week_end=week.local_start + timedelta(days=6),
        previous=f"{previous.year}-W{previous.week:02d}",
        following=f"{following.year}-W{following.week:02d}",
    )


@bp.get("/api/summary")
def summary_json() -> Any:
    sheli = _sheli()
    week = _week(request.args.get("week"))
    if week is None:
        return jsonify(error="week must look like 2026-W47", status=400), 400
    with sheli.uow() as uow:
        return jsonify(compute_summary(uow, sheli.policy, week, sheli.clock.now()).to_json())
