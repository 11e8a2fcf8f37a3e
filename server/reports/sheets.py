"""Tables as the files spreadsheets open: CSV (with its header even when empty; an Excel flavour
with a byte-order mark), JSON, and .xlsx with typed cells (dates as dates, numbers as numbers,
identifiers as text). Each table names its columns and their types once (`columns`).

CSV cells that a spreadsheet would run as a formula (starting with = + - @ or a tab/CR) are
prefixed with an apostrophe, so a name like "=HYPERLINK(…)" stays text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "csv-excel", "json", "xlsx")


class Kind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOL = "bool"
    DATE = "date"  # an ISO date, "2026-05-15"
    INSTANT = "instant"  # a UTC instant, "2026-05-15T14:00:00Z"


Columns = tuple[tuple[str, Kind], ...]


def columns(spec: str) -> Columns:
    """Columns from "name name:number when:date …" (text unless a type is given)."""
    out = []
    for word in spec.split():
        name, _, kind = word.partition(":")
        out.append((name, Kind(kind or "text")))
    return tuple(out)


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv(rows: Sequence[dict[str, Any]], cols: Columns, excel: bool) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n" if excel else "\n")
    w.writerow([name for name, _ in cols])
    for row in rows:
        cells = []
        for name, kind in cols:
            v = row.get(name)
            if v is None:
                cells.append("")
            elif excel and kind is Kind.TEXT and isinstance(v, str) and v.isdigit():
                # An id like ABP 000123 would open as the number 123; Excel keeps this as text.
                cells.append(f'="{v}"')
            else:
                cells.append(safe_cell(v))
        w.writerow(cells)
    return ("\ufeff" if excel else "") + out.getvalue()


def _typed(value: Any, kind: Kind) -> Any:
    if value is None or value == "":
        return None
    if kind is Kind.NUMBER:
        return value if isinstance(value, int | float) else float(value)
    if kind is Kind.BOOL:
        return bool(value)
    if kind is Kind.DATE:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if kind is Kind.INSTANT:
        t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return t.astimezone(UTC).replace(tzinfo=None)  # a spreadsheet has no zones: UTC
    return str(value)


def _xlsx(rows: Sequence[dict[str, Any]], cols: Columns, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31] or "export"
    ws.append([f"{n} (UTC)" if k is Kind.INSTANT else n for n, k in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in rows:
        ws.append([_typed(row.get(n), k) for n, k in cols])
        for cell, (_, kind) in zip(ws[ws.max_row], cols, strict=True):
            if kind is Kind.TEXT and cell.value is not None:
                cell.number_format = "@"
            elif kind is Kind.DATE:
                cell.number_format = "yyyy-mm-dd"
            elif kind is Kind.INSTANT:
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    for i, (name, _) in enumerate(cols, start=1):
        width = max([len(name), *(len(str(r.get(name) or "")) for r in rows[:200])])
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, width + 2)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render(rows: Sequence[dict[str, Any]], fmt: str, cols: Columns, title: str = "") -> str | bytes:
    """`rows` (dicts with the keys of `cols`) in `fmt`: csv, csv-excel, json (str) or xlsx
    (bytes)."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2, ensure_ascii=False)
    if fmt in ("csv", "csv-excel"):
        return _csv(rows, cols, excel=fmt == "csv-excel")
    if fmt == "xlsx":
        return _xlsx(rows, cols, title)
    raise ValueError(f"unknown format {fmt!r} ({', '.join(FORMATS)})")
