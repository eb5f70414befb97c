"""The files of an upload or a command-line import, one at a time and on disk, never all in memory.

A ZIP of 23 MB may expand to 2 GB of XML: its members are decompressed one at a time into
temporary files under MEDIA_ROOT/tmp (so that an original can be moved into place on commit
without copying), read from there by streaming readers, and deleted when their batch has done
with them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from keystage.formats.archive import count_zip_members, is_zip, iter_zip_member_files
from keystage.formats.errors import FormatError

_HASH_CHUNK = 1024 * 1024


def scratch_folder() -> Path:
    """The folder for temporary files of imports, on the same disk as the stored originals."""
    folder = Path(settings.MEDIA_ROOT) / "tmp"
    if not folder.is_dir():  # (a failed mkdir of one that exists costs ten times the look)
        folder.mkdir(parents=True, exist_ok=True)
    return folder


class InputFile:
    """One file to import: on disk (a path) or, from tests and small callers, in memory."""

    def __init__(
        self,
        name: str,
        *,
        path: Path | None = None,
        data: bytes | None = None,
        owned: bool = False,
        size: int | None = None,
        sha256: str | None = None,
        origin: Path | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.data = data
        # An owned file is a temporary copy (a ZIP member) that close() deletes.
        self.owned = owned
        self.origin = origin
        self._size = size
        self._sha256 = sha256
        self._head = b""  # the first bytes read so far, kept: a batch looks at them twice

    @classmethod
    def of(cls, name: str, data: bytes | InputFile) -> InputFile:
        """An InputFile for bytes, or the InputFile itself."""
        return data if isinstance(data, InputFile) else cls(name, data=bytes(data))

    @property
    def size(self) -> int:
        if self._size is None:
            self._size = len(self.data) if self.data is not None else self.path.stat().st_size
        return self._size

    @property
    def sha256(self) -> str:
        """The SHA-256 of the content, read in chunks."""
        if self._sha256 is None:
            if self.data is not None:
                self._sha256 = hashlib.sha256(self.data).hexdigest()
            else:
                digest = hashlib.sha256()
                with open(self.path, "rb") as stream:
                    while chunk := stream.read(_HASH_CHUNK):
                        digest.update(chunk)
                self._sha256 = digest.hexdigest()
        return self._sha256

    def head(self, size: int = 4096) -> bytes:
        """The first bytes, to recognise the kind of file."""
        if self.data is not None:
            return self.data[:size]
        if len(self._head) < size and len(self._head) < self.size:
            with open(self.path, "rb") as stream:
                self._head = stream.read(size)
        return self._head[:size]

    def read_bytes(self) -> bytes:
        """The whole content: only for files known to be small."""
        return self.data if self.data is not None else self.path.read_bytes()

    def reader_source(self) -> bytes | Path:
        """What a streaming reader (CtfReader) is given: the path, so it reads in chunks."""
        return self.data if self.data is not None else self.path

    def open(self) -> BinaryIO:
        """A binary stream over the content."""
        if self.data is not None:
            import io

            return io.BytesIO(self.data)
        return open(self.path, "rb")

    def copy_to(self, folder: Path) -> Path:
        """A new file in folder with the same content (a hard link when the file is ours)."""
        target = folder / f"original-{uuid.uuid4().hex}.part"
        if self.data is not None:
            target.write_bytes(self.data)
            return target
        if self.owned:
            try:
                os.link(self.path, target)
                return target
            except OSError:
                pass  # another disk, or links not supported: copy instead
        shutil.copyfile(self.path, target)
        return target

    def close(self) -> None:
        """Delete the temporary copy, when this is one."""
        if self.owned and self.path is not None:
            self.path.unlink(missing_ok=True)


def iter_input_files(paths: Iterable[Path]) -> Iterator[tuple[str, InputFile | FormatError]]:
    """Every file named, in folders (recursively) and in ZIPs, as (name, file or the error).

    ZIP members are decompressed one at a time, as the caller asks for them; the caller closes
    each InputFile when done with it.
    """
    for path in paths:
        if path.is_dir():
            yield from iter_input_files(sorted(p for p in path.rglob("*") if p.is_file()))
            continue
        with open(path, "rb") as stream:
            head = stream.read(4)
        if is_zip(head):
            try:
                for member in iter_zip_member_files(path, filename=path.name,
                                                    folder=scratch_folder()):
                    yield f"{path.name}/{member.name}", InputFile(
                        f"{path.name}/{member.name}", path=member.path, owned=True,
                        size=member.size, sha256=member.sha256, origin=path,
                    )
            except FormatError as error:
                yield path.name, error
            continue
        yield path.name, InputFile(path.name, path=path, origin=path)


def count_input_files(paths: Iterable[Path]) -> int:
    """How many files iter_input_files will give, from ZIP directories alone (for progress)."""
    total = 0
    for path in paths:
        if path.is_dir():
            total += count_input_files(sorted(p for p in path.rglob("*") if p.is_file()))
            continue
        with open(path, "rb") as stream:
            head = stream.read(4)
        total += max(count_zip_members(path, filename=path.name), 1) if is_zip(head) else 1
    return total


def close_all(items: Iterable[tuple[str, InputFile | FormatError]]) -> None:
    """Delete the temporary copies among items."""
    for _name, item in items:
        if isinstance(item, InputFile):
            item.close()
