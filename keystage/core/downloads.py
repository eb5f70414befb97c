"""Table downloads as CSV (streamed) or XLSX (written in one pass)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import HttpResponse, StreamingHttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Echo:
    """A file-like object whose write hands the line back, for streaming csv.writer output."""

    def write(self, value):
        return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]):
    """A streamed CSV download: header, then rows."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(filename: str, sheet_name: str, header: Sequence[str],
                  rows: Iterable[Sequence]) -> HttpResponse:
    """An XLSX download of one sheet: header, then rows."""
    return xlsx_sheets_response(filename, [(sheet_name, header, rows)])


def xlsx_sheets_response(filename: str, sheets) -> HttpResponse:
    """An XLSX download of several sheets, each (name, header, rows)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for sheet_name, header, rows in sheets:
        sheet = workbook.create_sheet(sheet_name[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
    response = HttpResponse(content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    workbook.save(response)
    return response
