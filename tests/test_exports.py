"""Exports an office can open: `sheli tickets export`, the dashboard's export buttons and the
week's summary as an xlsx. The files are opened with openpyxl (and csv) and read row by row."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import event

from bot.cli import cli
from handlers import read_models
from handlers.tickets import open_ticket
from storage.models import Ticket
from storage.states import FollowUpState
from tests.helpers import hire
from tests.test_dashboard import PASSWORD_HASH, login
from tests.test_summary import Week47

HEADER = [
    "编号",
    "登记时间（UTC+08:00）",
    "类型",
    "紧急",
    "状态",
    "负责岗位",
    "负责人",
    "地点",
    "楼栋",
    "电话（已打码）",
    "内容（电话已打码）",
    "时限",
    "接单时间（UTC+08:00）",
    "办结时间（UTC+08:00）",
    "结单/取消时间（UTC+08:00）",
    "处理说明",
    "评分",
    "回访",
]


@pytest.fixture
def sheli(make_sheli: Any) -> Any:
    return make_sheli(dashboard__password_hash=PASSWORD_HASH)


def file_tickets(sheli: Any, *texts: tuple[str, str, str | None]) -> None:
    """Open tickets directly: (intent, text, location)."""
    with sheli.uow() as uow:
        resident = uow.residents.get_or_create("o_res", sheli.clock.now())
        for intent, text, location in texts:
            open_ticket(
                uow,
                sheli.context(),
                resident,
                intent=intent,
                text=text,
                location=location,
                phone="13812345678",
            )
        uow.commit()


@pytest.fixture
def three(sheli: Any, clock: Any) -> Any:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    file_tickets(
        sheli,
        ("repair", '=HYPERLINK("http://x") 3栋502热水器坏了，电话13812345678', "3栋502"),
        ("mediation", "@室友半夜吵闹", "7栋301"),
        ("repair", "-12栋水管漏水", "12栋"),
    )
    return sheli


def cli_env(sheli: Any) -> dict[str, str]:
    return {"SHELI_DATABASE__URL": str(sheli.engine.url.render_as_string(hide_password=False))}


def run(sheli: Any, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=cli_env(sheli), obj={}, catch_exceptions=False)


# --- sheli tickets export --------------------------------------------------------------------


def test_csv_goes_to_stdout_with_chinese_headers_masked_phones_and_no_formulas(three: Any) -> None:
    result = run(three, "tickets", "export", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("\ufeff")  # Excel reads the Chinese
    rows = list(csv.reader(io.StringIO(result.output.lstrip("\ufeff"))))
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == ["3", "2", "1"]  # newest first
    by_number = {r[0]: dict(zip(HEADER, r, strict=True)) for r in rows[1:]}
    first = by_number["1"]
    assert first["内容（电话已打码）"].startswith("'=HYPERLINK(")  # never a formula
    assert "13812345678" not in result.output and first["电话（已打码）"] == "138****5678"
    assert first["登记时间（UTC+08:00）"] == "2026-11-23 09:00"  # local, not UTC
    assert (first["类型"], first["状态"], first["负责人"]) == ("物业报修", "已派单", "张师傅")
    # The command line runs on the real clock: the ticket is days past its deadline by now.
    # Whole units (finding 24): "6天20小时", "1小时25分", "35分钟", never a decimal.
    assert re.fullmatch(
        r"(距接单时限还剩|接单已超时) \d+(分钟|小时|天)(\d+(分|小时))?", first["时限"]
    )
    assert by_number["2"]["内容（电话已打码）"] == "'@室友半夜吵闹"
    assert by_number["3"]["内容（电话已打码）"] == "'-12栋水管漏水"
    # Nobody is on duty for mediation yet: the grid workers' ticket waits, unassigned.
    assert (by_number["2"]["负责岗位"], by_number["2"]["状态"]) == ("网格员", "待分派")


def test_the_export_takes_the_lists_filters(three: Any) -> None:
    repairs = run(three, "tickets", "export", "--intent", "repair", "--building", "12栋")
    assert [r[0] for r in csv.reader(io.StringIO(repairs.output.lstrip("\ufeff")))] == ["编号", "3"]
    listed = run(three, "tickets", "list", "--intent", "repair", "--building", "12栋")
    assert "#3" in listed.output and "#1 " not in listed.output
    none = run(three, "tickets", "export", "--since", "2026-11-24")
    assert len(list(csv.reader(io.StringIO(none.output)))) == 1  # the header only
    bad = run(three, "tickets", "export", "--status", "done")
    assert bad.exit_code == 2 and "没有「done」这个状态" in bad.output


def test_xlsx_to_a_file_with_text_as_text_and_local_times(three: Any, tmp_path: Path) -> None:
    target = tmp_path / "工单.xlsx"
    result = run(three, "tickets", "export", "--format", "xlsx", "--output", str(target))
    assert result.exit_code == 0 and "已导出 3 件工单" in result.output
    sheet = load_workbook(target)["工单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert [r[0] for r in rows[1:]] == [3, 2, 1]
    first = dict(zip(HEADER, rows[3], strict=True))
    assert first["登记时间（UTC+08:00）"] == datetime(2026, 11, 23, 9, 0)
    assert first["电话（已打码）"] == "138****5678"
    text_cell = sheet.cell(row=4, column=HEADER.index("内容（电话已打码）") + 1)
    assert text_cell.value.startswith('=HYPERLINK("http://x")') and text_cell.data_type == "s"
    assert sheet.freeze_panes == "A2"


def test_xlsx_never_goes_to_a_terminal(three: Any, monkeypatch: Any) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["tickets", "export", "--format", "xlsx"], env=cli_env(three), obj={}
    )
    # CliRunner's stdout is not a terminal: the workbook's bytes come out.
    assert result.exit_code == 0 and result.stdout_bytes.startswith(b"PK")


def test_an_export_reads_in_batches_so_its_cost_follows_the_rows_it_writes(
    make_sheli: Any, db_url: str, clock: Any
) -> None:
    """1,200 tickets of history: a day's export reads one batch, the whole history three."""
    sheli = make_sheli(db_url)
    start = clock.now() - timedelta(days=60)
    with sheli.uow() as uow:
        resident = uow.residents.get_or_create("o_many", start)
        for n in range(1, 1201):
            uow.session.add(
                Ticket(
                    id=n,
                    intent="repair",
                    status="closed",
                    urgent=False,
                    role="property_steward",
                    resident_id=resident.id,
                    text=f"第{n}件",
                    created_at=start + timedelta(hours=n),
                    closed_at=start + timedelta(hours=n + 5),
                    followup_state=FollowUpState.NONE,
                    accept_breach_level=0,
                    resolve_breach_level=0,
                )
            )
        uow.commit()
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM tickets" in statement:
            statements.append(statement)

    event.listen(sheli.engine, "before_cursor_execute", count)
    try:
        last_day = (start + timedelta(hours=1200)).date()
        wanted = read_models.TicketFilter(since=last_day, until=last_day)
        day = list(sheli.stream(read_models.ticket_export, wanted))
        day_statements = len(statements)
        statements.clear()
        everything = list(sheli.stream(read_models.ticket_export, read_models.TicketFilter()))
    finally:
        event.remove(sheli.engine, "before_cursor_execute", count)
    assert 0 < len(day) < 30 and day_statements == 1
    assert len(everything) == 1200 and [r["number"] for r in everything[:2]] == [1200, 1199]
    assert len(statements) == 3  # 500 + 500 + 200, one query each


# --- the dashboard's buttons -----------------------------------------------------------------


@pytest.fixture
def operator(client: Any) -> Any:
    login(client)
    return client


def test_the_tickets_page_exports_what_it_shows(operator: Any, three: Any) -> None:
    page = operator.get("/dashboard/tickets?intent=repair").get_data(as_text=True)
    assert 'href="/dashboard/tickets/export?format=xlsx&amp;intent=repair"' in page
    response = operator.get("/dashboard/tickets/export?format=xlsx&intent=repair")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert (
        "filename*=UTF-8''%E5%B7%A5%E5%8D%95-20261123-0900.xlsx"
        in response.headers["Content-Disposition"]
    )
    rows = list(load_workbook(io.BytesIO(response.data))["工单"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [3, 1]
    as_csv = operator.get("/dashboard/tickets/export?format=csv&intent=mediation")
    assert as_csv.mimetype == "text/csv" and as_csv.is_streamed
    lines = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[0] for r in lines] == ["编号", "2"] and lines[1][10] == "'@室友半夜吵闹"
    refused = operator.get("/dashboard/tickets/export?format=pdf")
    assert refused.status_code == 400 and "只能导出 xlsx 或 csv" in refused.get_data(as_text=True)


def test_the_export_needs_a_login(client: Any, three: Any) -> None:
    response = client.get("/dashboard/tickets/export?format=csv")
    assert response.status_code == 302 and "/dashboard/login" in response.headers["Location"]


# --- the week's summary ----------------------------------------------------------------------


def test_the_summary_xlsx_has_its_figures_its_tickets_and_its_text(
    make_sheli: Any, clock: Any, tmp_path: Path
) -> None:
    sheli = make_sheli(dashboard__password_hash=PASSWORD_HASH)
    Week47(sheli, clock).play()
    from bot.app import create_app

    client = create_app(sheli=sheli).test_client()
    login(client)
    response = client.get("/dashboard/summary/export?week=2026-W47")
    assert response.status_code == 200
    assert "%E5%91%A8%E6%8A%A5-2026-W47.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["周报数据", "工单", "周报原文"]
    figures = {row[0]: row[1] for row in book["周报数据"].iter_rows(min_row=2, values_only=True)}
    text = "\n".join(row[0] for row in book["周报原文"].iter_rows(min_row=2, values_only=True))
    # The same figures, worded the same way as the text the secretary reads.
    assert (figures["新收诉求"], figures["其中取消"], figures["本周共办结"]) == (6, 1, 4)
    assert (figures["办结率"], figures["满意率"], figures["平均评分"]) == ("40%", "67%", "3.7")
    assert figures["首次响应中位"] == "3小时" and figures["办结用时中位"] == "38.5小时"
    assert figures["新收·物业报修"] == 3 and figures["在办·物业管家"] == 2
    assert figures["统计时间"] == "2026-11-23 09:00 (+08:00)"  # local, with the offset
    for shown in ("办结率40%（新收5件已办结2件）", "首次响应中位3小时", "办结用时中位38.5小时"):
        assert shown in text
    tickets = list(book["工单"].iter_rows(min_row=2, values_only=True))
    assert sorted(r[0] for r in tickets) == list(range(3, 9))  # the week's six new tickets
    assert all(r[1].isocalendar().week == 47 for r in tickets)
    cli_target = tmp_path / "week.xlsx"
    result = CliRunner().invoke(
        cli,
        ["summary", "--week", "2026-W47", "--format", "xlsx", "--output", str(cli_target)],
        env=cli_env(sheli),
        obj={},
    )
    assert result.exit_code == 0 and "已把 2026-W47 的周报保存到" in result.output
    assert load_workbook(cli_target).sheetnames == ["周报数据", "工单", "周报原文"]
    needs_file = CliRunner().invoke(cli, ["summary", "--format", "xlsx"], env=cli_env(sheli))
    assert needs_file.exit_code == 2 and "--format xlsx 需要 --output 文件名" in needs_file.output
