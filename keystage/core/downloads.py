"""Table downloads as CSV (streamed) or XLSX (written in one pass)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Echo:
    """A file-like object whose write hands the line back, for streaming csv.writer output."""

    def write(self, value):
        return value


def stored_file_response(relative_path: str, filename: str, content_type: str | None = None):
    """A file kept under MEDIA_ROOT, downloaded exactly as it was stored; 404 if it is gone."""
    path = Path(settings.MEDIA_ROOT) / relative_path
    if not path.is_file():
        raise Http404("The stored file is missing.")
    return FileResponse(path.open("rb"), as_attachment=True, filename=filename,
                        content_type=content_type)


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
