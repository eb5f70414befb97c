"""Safe reading of the ZIP archives schools and LAs upload (folders of CTFs, exports).

A ZIP is checked as a whole from its central directory before any member is decompressed:
unsafe paths, too many entries, compression ratios of a "zip bomb", too much data in total and
encrypted members are refused. While members are read, the bytes actually decompressed are
counted as well, because the sizes in the directory are written by the sender and may lie.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from keystage.formats.errors import FormatError

__all__ = [
    "ZipMemberFile", "count_zip_members", "is_zip", "iter_zip_member_files", "iter_zip_members",
]

_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# Below this many uncompressed bytes the ratio is not checked: a small, repetitive text file can
# compress far better than 100:1 and can do no harm; a bomb is large by definition.
_RATIO_FLOOR = 1024 * 1024
_READ_CHUNK = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_REZIP = "Ask the sender to zip the files again (or send them unzipped)."
# What zipfile and the decompressors raise for a damaged archive or member.
_DAMAGE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


def is_zip(head: bytes) -> bool:
    """True when the first bytes of a file are a ZIP signature."""
    return head[:4] in _MAGIC


def _size_text(size: int) -> str:
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GB"
    if size >= 1024**2:
        return f"{size / 1024**2:.0f} MB"
    return f"{size:,} bytes"


def _open(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO,
    filename: str,
    limit: int,
) -> tuple[BinaryIO, bool]:
    """A seekable binary stream over the source, and whether this module must close it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, (str, os.PathLike)):
        try:
            return open(source, "rb"), True  # closed by iter_zip_members
        except OSError as error:
            raise FormatError(
                f"the file could not be opened ({error.strerror or error}). Upload it again.",
                filename=filename,
            ) from error
    if hasattr(source, "read"):
        seekable = getattr(source, "seekable", None)
        if seekable is not None and seekable():
            return source, False
        # zipfile needs to seek to the central directory at the end: buffer, within the limit.
        data = source.read(limit + 1)
        if len(data) > limit:
            raise FormatError(
                f"the ZIP file is larger than {_size_text(limit)}. {_REZIP}", filename=filename
            )
        return io.BytesIO(data), True
    raise TypeError(f"source must be bytes, a path or a binary file, not {type(source).__name__}")


def _safe_name(info: zipfile.ZipInfo, filename: str) -> str:
    """The member's path with forward slashes, or FormatError if it could escape its folder."""
    raw = info.orig_filename
    if "\x00" in raw:
        raise FormatError(
            f"the ZIP member {raw!r} has a NUL character in its name: the ZIP is unsafe and "
            f"was not opened. {_REZIP}",
            filename=filename,
        )
    # Windows tools write backslashes; treat them as separators so that "..\\x" is caught.
    name = raw.replace("\\", "/")
    segments = name.split("/")
    if name.startswith("/") or _DRIVE.match(name) or ".." in segments:
        raise FormatError(
            f"the ZIP member '{raw}' has a path that leads outside the archive's folder "
            f"(absolute, a drive letter or '..'): the ZIP is unsafe and was not opened. {_REZIP}",
            filename=filename,
        )
    return "/".join(segment for segment in segments if segment not in ("", "."))


def _is_skipped(info: zipfile.ZipInfo, name: str) -> bool:
    """Folders, links, and the clutter macOS and others add (__MACOSX/, dot-files)."""
    if info.is_dir() or info.orig_filename.endswith("\\") or not name:
        return True
    mode = info.external_attr >> 16
    if mode and not stat.S_ISREG(mode) and stat.S_IFMT(mode):
        return True  # a symbolic link or other special file: not a regular file
    return any(segment == "__MACOSX" or segment.startswith(".") for segment in name.split("/"))


def _check_directory(
    archive: zipfile.ZipFile,
    filename: str,
    max_entries: int,
    max_ratio: float,
    max_total_bytes: int,
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Every check that the central directory allows; the members to read, with their names."""
    infos = archive.infolist()
    if len(infos) > max_entries:
        raise FormatError(
            f"the ZIP holds {len(infos):,} entries, more than the {max_entries:,} allowed. "
            "Send the files in several smaller ZIPs.",
            filename=filename,
        )
    members = []
    total = compressed = 0
    for info in infos:
        name = _safe_name(info, filename)
        if info.flag_bits & 0x1:
            raise FormatError(
                f"the ZIP member '{info.filename}' is encrypted (password-protected), so it "
                "cannot be read. Send the files in a ZIP without a password.",
                filename=filename,
            )
        size, packed = info.file_size, info.compress_size
        if size > _RATIO_FLOOR and (packed == 0 or size / packed > max_ratio):
            raise FormatError(
                f"the ZIP member '{info.filename}' would expand from {_size_text(packed)} to "
                f"{_size_text(size)}, more than {max_ratio:g} times: the ZIP looks like a "
                f"'zip bomb' and was not opened. {_REZIP}",
                filename=filename,
            )
        total += size
        compressed += packed
        if not _is_skipped(info, name):
            members.append((info, name))
    if total > max_total_bytes:
        raise FormatError(
            f"the ZIP would expand to {_size_text(total)}, more than the "
            f"{_size_text(max_total_bytes)} allowed. Send the files in several smaller ZIPs.",
            filename=filename,
        )
    if total > _RATIO_FLOOR and (compressed == 0 or total / compressed > max_ratio):
        raise FormatError(
            f"the ZIP would expand from {_size_text(compressed)} to {_size_text(total)}, more "
            f"than {max_ratio:g} times: it looks like a 'zip bomb' and was not opened. {_REZIP}",
            filename=filename,
        )
    return members


def _member_chunks(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, filename: str, allowance: int
) -> Iterator[bytes]:
    """The member's bytes in chunks, counting what is really decompressed against both limits."""
    got = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(_READ_CHUNK):
                got += len(chunk)
                if got > info.file_size or got > allowance:
                    raise FormatError(
                        f"the ZIP member '{info.filename}' holds more data than its entry says "
                        f"({_size_text(info.file_size)}): the ZIP is damaged or crafted and was "
                        f"not read further. {_REZIP}",
                        filename=filename,
                    )
                yield chunk
    except FormatError:
        raise
    except _DAMAGE as error:
        raise FormatError(
            f"the ZIP member '{info.filename}' is damaged and cannot be read "
            f"({error}). {_REZIP}",
            filename=filename,
        ) from error


@dataclass
class ZipMemberFile:
    """One member of a ZIP, decompressed to a temporary file that the caller must delete."""

    name: str
    path: Path
    size: int
    sha256: str


def _open_archive(stream: BinaryIO, filename: str) -> zipfile.ZipFile:
    head = stream.read(4)
    stream.seek(0)
    if not head:
        raise FormatError("the file is empty. Upload it again.", filename=filename)
    try:
        return zipfile.ZipFile(stream)
    except _DAMAGE as error:
        what = "damaged or incomplete (truncated)" if is_zip(head) else "not a ZIP archive"
        raise FormatError(
            f"the ZIP file is {what} ({error}). {_REZIP}", filename=filename
        ) from error


def count_zip_members(
    source: str | os.PathLike[str], *, filename: str, max_entries: int = 10_000
) -> int:
    """How many regular files a ZIP holds, from its directory alone (0 if it cannot be read)."""
    try:
        with open(source, "rb") as stream, _open_archive(stream, filename) as archive:
            infos = archive.infolist()
            if len(infos) > max_entries:
                return 0
            return sum(
                1 for info in infos if not _is_skipped(info, _safe_name(info, filename))
            )
    except (FormatError, OSError):
        return 0


def iter_zip_member_files(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO,
    *,
    filename: str,
    folder: str | os.PathLike[str] | None = None,
    max_entries: int = 10_000,
    max_ratio: float = 100,
    max_total_bytes: int = 2 * 1024**3,
) -> Iterator[ZipMemberFile]:
    """Yield each regular file of a ZIP decompressed to its own temporary file, one at a time.

    Only one member is decompressed at a time and never into memory: a ZIP of a few megabytes
    may expand to gigabytes. The caller owns (and deletes) each file it is given; a member
    whose reading fails is deleted here before the error is raised.
    """
    stream, owned = _open(source, filename, max_total_bytes)
    try:
        with _open_archive(stream, filename) as archive:
            members = _check_directory(archive, filename, max_entries, max_ratio, max_total_bytes)
            remaining = max_total_bytes
            for info, name in members:
                handle = tempfile.NamedTemporaryFile(
                    dir=folder, prefix="member-", suffix=".part", delete=False
                )
                path = Path(handle.name)
                digest = hashlib.sha256()
                size = 0
                try:
                    with handle:
                        for chunk in _member_chunks(archive, info, filename, remaining):
                            digest.update(chunk)
                            size += len(chunk)
                            handle.write(chunk)
                except BaseException:
                    path.unlink(missing_ok=True)
                    raise
                remaining -= size
                yield ZipMemberFile(name, path, size, digest.hexdigest())
    finally:
        if owned:
            stream.close()


def iter_zip_members(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO,
    *,
    filename: str,
    max_entries: int = 10_000,
    max_ratio: float = 100,
    max_total_bytes: int = 2 * 1024**3,
) -> Iterator[tuple[str, bytes]]:
    """Yield (path, bytes) of each regular file in a ZIP, after checking the archive is safe.

    For small archives and tests: each member is held in memory while it is yielded. Uploads
    use iter_zip_member_files, which keeps members on disk.
    """
    stream, owned = _open(source, filename, max_total_bytes)
    try:
        with _open_archive(stream, filename) as archive:
            members = _check_directory(archive, filename, max_entries, max_ratio, max_total_bytes)
            remaining = max_total_bytes
            for info, name in members:
                content = b"".join(_member_chunks(archive, info, filename, remaining))
                remaining -= len(content)
                yield name, content
    finally:
        if owned:
            stream.close()
