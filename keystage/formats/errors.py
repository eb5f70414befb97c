"""The one error type every reader raises for input it cannot accept."""

from __future__ import annotations


class FormatError(ValueError):
    """A file could not be read: says which file, where, and what the user should do."""

    def __init__(
        self,
        message: str,
        *,
        filename: str,
        line: int | None = None,
        column: str | int | None = None,
    ) -> None:
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.filename]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            label = "column" if isinstance(self.column, int) else "column"
            where.append(f"{label} {self.column}")
        return f"{', '.join(where)}: {self.message}"


class DataFileError(ValueError):
    """One of Keystage's own data files (rules, layouts) is not valid: names the line and why."""

    def __init__(self, path, line: int, problem: str) -> None:
        from pathlib import Path

        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{Path(path).name}, line {line}: {problem}")
