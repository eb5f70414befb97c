"""Table downloads as CSV (streamed) or XLSX (written in one pass).

Every export goes through these writers (or `keystage.core.cells.SafeCsvWriter` on the command
line), so every cell is neutralised against formula injection in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse

from keystage.core.cells import SafeCsvWriter, safe_row

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Exports are the heaviest thing a page does (a second of Python per 5,000-pupil XLSX). Built
# several at once in one server process they take the interpreter from everyone browsing, so a
# process builds KEYSTAGE_EXPORTS_AT_ONCE at a time and the next download waits its turn.
_export_slots = threading.BoundedSemaphore(max(1, settings.KEYSTAGE_EXPORTS_AT_ONCE))


@contextmanager
def export_slot():
    """Hold one of the process's export slots while an export is built."""
    _export_slots.acquire()
    try:
        yield
    finally:
        _export_slots.release()


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
    """A streamed CSV download: header, then rows, sent in chunks as they are read."""
    writer = SafeCsvWriter(_Echo())

    def lines():
        # Chunks of about 64 KB, not a line each: the server handles every chunk it is given,
        # and 5,000 one-line chunks cost more than writing them.
        with export_slot():
            chunk = [writer.writerow(header)]
            size = 0
            for row in rows:
                line = writer.writerow(row)
                chunk.append(line)
                size += len(line)
                if size >= 65536:
                    yield "".join(chunk)
                    chunk, size = [], 0
            if chunk:
                yield "".join(chunk)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _xlsx_row(row) -> list:
    """A row for openpyxl: safe text with the characters XML cannot hold taken out."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # openpyxl refuses control characters with an exception, which would turn a hostile name
    # into a server error; they carry no meaning in a name or a mark, so they are dropped.
    return [ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
            for value in safe_row(row)]


def xlsx_response(filename: str, sheet_name: str, header: Sequence[str],
                  rows: Iterable[Sequence]) -> HttpResponse:
    """An XLSX download of one sheet: header, then rows."""
    return xlsx_sheets_response(filename, [(sheet_name, header, rows)])


def xlsx_sheets_response(filename: str, sheets) -> HttpResponse:
    """An XLSX download of several sheets, each (name, header, rows)."""
    from openpyxl import Workbook

    response = HttpResponse(content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    with export_slot():
        workbook = Workbook(write_only=True)
        for sheet_name, header, rows in sheets:
            sheet = workbook.create_sheet(sheet_name[:31])
            # Text stays text: safe_row leaves no cell starting with "=", so openpyxl never
            # writes a formula; numbers stay numbers.
            sheet.append(_xlsx_row(header))
            for row in rows:
                sheet.append(_xlsx_row(row))
        workbook.save(response)
    return response
