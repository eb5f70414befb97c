"""Files the command line writes (`--out`): whole or not at all, and safe to open in Excel."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from django.core.management.base import CommandError

from keystage.core.cells import SafeCsvWriter


def write_out(out: str | Path, write: Callable[[BinaryIO], None], *, binary: bool = False
              ) -> Path:
    """Write `out` through a temporary file beside it, renamed into place once complete; a
    failure leaves no half-written file and is bad usage (exit 2) naming the file."""
    path = Path(out)
    temporary = path.with_name(path.name + ".part")
    try:
        with temporary.open("wb" if binary else "w", **({} if binary else {
                "encoding": "utf-8", "newline": ""})) as handle:
            write(handle)
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise CommandError(f"{out}: could not be written ({error.strerror or error}). Choose a "
                           "folder you can write to.", returncode=2) from error
    return path


def write_csv(out: str | Path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """Write a CSV export (header, then rows) to `out` with every cell made safe for Excel."""

    def write(handle) -> None:
        writer = SafeCsvWriter(handle)
        writer.writerow(header)
        writer.writerows(rows)

    return write_out(out, write)
