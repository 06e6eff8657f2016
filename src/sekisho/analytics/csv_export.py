"""CSV downloads of the analytics reports.

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return) get a leading apostrophe: group names and e-mail addresses come from users and
identity providers, and a report opened in Excel must not execute them (OWASP "CSV injection").
Numbers are written as numbers, so negative values are never mistaken for formulas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date

from starlette.responses import Response

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | bool | date | None


def _cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = value.isoformat() if isinstance(value, date) else value
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def render(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """The CSV text: a header row, then one line per row (CRLF line ends, as RFC 4180 has them)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def csv_response(columns: Sequence[str], rows: Iterable[Sequence[Cell]], filename: str) -> Response:
    """A download of the rows as ``filename``."""
    return Response(
        render(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
