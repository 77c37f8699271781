"""Files an operator imports (events, rooms, resources): read, validate every row, then apply.

A file with any bad row imports nothing: ImportRejected reports every problem as 「第N行：问题」
and, raised inside the command's transaction, rolls everything back. The CLI and the dashboard
both read the file with `read_file` and send `commands.ImportData` to `import_data`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from handlers import commands as cmd
from handlers import messages as msg
from handlers.errors import Invalid
from handlers.importing.common import ImportRejected, ImportResult
from handlers.importing.events import import_events
from handlers.importing.resources import import_resources
from handlers.importing.rooms import import_rooms
from handlers.ports import Context
from storage.uow import AbstractUnitOfWork

__all__ = ["IMPORTERS", "ImportRejected", "ImportResult", "import_data", "read_file"]


def read_file(path: str | Path) -> Any:
    """A YAML document, or a CSV file as a list of {header: value} rows (values stripped)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise ImportRejected([msg.IMPORT_CANNOT_READ.format(name=path.name)]) from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise ImportRejected([msg.IMPORT_CSV_NO_HEADER.format(name=path.name)])
        return [
            {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            for row in reader
        ]
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ImportRejected([msg.IMPORT_BAD_YAML.format(name=path.name, line=line)]) from None


# What each kind of file becomes: (unit of work, data, Context, csv_file) → result.
IMPORTERS: dict[str, Callable[[AbstractUnitOfWork, Any, Context, bool], ImportResult]] = {
    "events": lambda uow, data, ctx, csv_file: import_events(
        uow, data, ctx.policy.timezone, ctx.now, csv_file
    ),
    "rooms": lambda uow, data, ctx, csv_file: import_rooms(uow, data, csv_file),
    "resources": lambda uow, data, ctx, csv_file: import_resources(uow, data),
}


def import_data(command: cmd.ImportData, uow: AbstractUnitOfWork, ctx: Context) -> ImportResult:
    """Import a file's content as events, rooms or resources; ImportRejected on any bad row."""
    importer = IMPORTERS.get(command.what)
    if importer is None:
        raise Invalid(msg.IMPORT_UNKNOWN_KIND.format(what=command.what, kinds="、".join(IMPORTERS)))
    return importer(uow, command.data, ctx, command.csv_file)
