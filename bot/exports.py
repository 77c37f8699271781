"""Tickets and the weekly summary as files an office opens: CSV and xlsx.

The rows come from read models (handlers.read_models.ticket_export, summary_export); this module
only writes them. Both formats stream: CSV is written line by line as the rows are read, and the
xlsx is written with openpyxl's write-only workbook, which keeps one row in memory and spools
the sheet to disk, so an export's cost grows with the rows it writes, not with the history.

Text is never taken for a formula: a CSV cell that starts with `=`, `+`, `-` or `@` (or a tab
or carriage return) gets a leading `'`, and an xlsx cell holding text is written as a string.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell

from handlers import messages as msg
from handlers import read_models

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TIME_FORMAT = "%Y-%m-%d %H:%M"
XLSX_TIME_FORMAT = "yyyy-mm-dd hh:mm"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"  # Excel reads a UTF-8 CSV as Chinese only with it


def csv_safe(value: Any) -> Any:
    """A cell as CSV writes it: times as local text, text that could start a formula escaped."""
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV file line by line (the first carries the BOM), for a stream or a response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Sequence[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_safe(cell) for cell in cells])
        return buffer.getvalue()

    yield BOM + line(header)
    for row in rows:
        yield line(row)


@dataclass
class Sheet:
    """One worksheet: a title, a header and its rows (any iterable: read as it is written)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[int] = field(default_factory=list)  # column widths in characters
    written: int = 0  # rows written, set by write_xlsx


def _cell(sheet: Any, value: Any, bold: bool = False) -> WriteOnlyCell:
    xl = _openpyxl()
    if isinstance(value, str):
        cell = xl.WriteOnlyCell(sheet, value=xl.ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # text stays text, even "=1+1"
        if "\n" in value:
            cell.alignment = xl.Alignment(wrap_text=True, vertical="top")
    else:
        cell = xl.WriteOnlyCell(sheet, value=value)
        if isinstance(value, datetime):
            cell.number_format = XLSX_TIME_FORMAT
    if bold:
        cell.font = xl.Font(bold=True)
    return cell


@functools.cache
def _openpyxl() -> SimpleNamespace:
    """openpyxl, imported by the first xlsx written rather than when the dashboard starts: each
    gunicorn worker would otherwise carry it (about 5 MB) without ever exporting."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    return SimpleNamespace(
        Workbook=Workbook,
        WriteOnlyCell=WriteOnlyCell,
        ILLEGAL_CHARACTERS_RE=ILLEGAL_CHARACTERS_RE,
        Alignment=Alignment,
        Font=Font,
        get_column_letter=get_column_letter,
    )


def write_xlsx(target: str | IO[bytes], sheets: Sequence[Sheet]) -> None:
    """Write the sheets to a file name or a binary file, streaming each sheet's rows."""
    xl = _openpyxl()
    book = xl.Workbook(write_only=True)
    for spec in sheets:
        sheet = book.create_sheet(spec.title)
        for index, width in enumerate(spec.widths):
            sheet.column_dimensions[xl.get_column_letter(index + 1)].width = width
        sheet.freeze_panes = "A2"
        sheet.append([_cell(sheet, name, bold=True) for name in spec.header])
        for row in spec.rows:
            sheet.append([_cell(sheet, value) for value in row])
            spec.written += 1
    book.save(target)


# --- what Sheli exports ------------------------------------------------------------------------

# Column widths (characters) of the tickets sheet, in read_models.EXPORT_COLUMNS order.
TICKET_WIDTHS = (7, 17, 10, 5, 9, 12, 9, 14, 8, 13, 40, 18, 17, 17, 17, 30, 5, 10)


def ticket_rows(sheli: Any, wanted: read_models.TicketFilter) -> Iterator[list[Any]]:
    """The tickets matching the filter as export rows, read while they are written."""
    for row in sheli.stream(read_models.ticket_export, wanted):
        yield [row[key] for key in read_models.EXPORT_COLUMNS]


def tickets_sheet(sheli: Any, wanted: read_models.TicketFilter) -> Sheet:
    """The tickets sheet: the same columns in the xlsx and the CSV."""
    header = sheli.read(read_models.export_header)
    return Sheet(msg.EXPORT_SHEET_TICKETS, header, ticket_rows(sheli, wanted), TICKET_WIDTHS)


def write_summary(
    sheli: Any, label: str | None, target: str | IO[bytes], community: str | None = None
) -> str:
    """The week's summary as an xlsx: its figures (worded as the text words them), the tickets
    it counts as new, and the text the secretary receives (of one community, when given).
    Returns the week's label."""
    data = sheli.read(read_models.summary_export, label, community)
    write_xlsx(
        target,
        [
            Sheet(msg.EXPORT_SHEET_FIGURES, msg.EXPORT_FIGURE_HEADER, data.figures, (24, 18, 44)),
            tickets_sheet(sheli, data.tickets),
            Sheet(
                msg.EXPORT_SHEET_TEXT,
                [data.week.label],
                ([line] for line in data.text.splitlines()),
                (110,),
            ),
        ],
    )
    return str(data.week.label)
