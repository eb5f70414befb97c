"""Tests for safe ZIP reading; every archive is built here with zipfile."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from keystage.formats import archive as archive_module
from keystage.formats.archive import is_zip, iter_zip_members
from keystage.formats.errors import FormatError

FILENAME = "june-files.zip"
REZIP = "Ask the sender to zip the files again"


def make_zip(
    members: Iterable[tuple[str, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A ZIP of (name, content) members; a name ending in '/' is a folder entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return out.getvalue()


def members_of(data: bytes, **limits: int) -> list[tuple[str, bytes]]:
    return list(iter_zip_members(data, filename=FILENAME, **limits))


def error_of(data: bytes, **limits: int) -> FormatError:
    members = iter_zip_members(data, filename=FILENAME, **limits)
    with pytest.raises(FormatError) as caught:
        # The first step must already fail: nothing is yielded from an unsafe archive.
        next(members)
    error = caught.value
    assert error.filename == FILENAME
    assert str(error).startswith(FILENAME)
    return error


def set_flag_bits(data: bytes, bits: int) -> bytes:
    """The ZIP with general-purpose flag bits set in every local and central header."""
    patched = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := patched.find(signature, start)) >= 0:
            (flags,) = struct.unpack_from("<H", patched, start + offset)
            struct.pack_into("<H", patched, start + offset, flags | bits)
            start += 4
    return bytes(patched)


# Good archives


def test_a_good_zip_yields_each_file_with_its_content() -> None:
    data = make_zip([("a.xml", b"<CTfile/>"), ("b.xml", b"second"), ("empty.txt", b"")])
    assert members_of(data) == [("a.xml", b"<CTfile/>"), ("b.xml", b"second"), ("empty.txt", b"")]


def test_files_in_nested_folders_keep_their_path_and_folders_are_skipped() -> None:
    data = make_zip(
        [
            ("2026/", b""),
            ("2026/june/", b""),
            ("2026/june/9992000_FSP.xml", b"one"),
            ("2026\\july\\9992001_PHO.xml", b"two"),
            ("./top.xml", b"three"),
        ]
    )
    assert members_of(data) == [
        ("2026/june/9992000_FSP.xml", b"one"),
        ("2026/july/9992001_PHO.xml", b"two"),
        ("top.xml", b"three"),
    ]


def test_macos_clutter_and_dot_files_are_skipped() -> None:
    data = make_zip(
        [
            ("__MACOSX/._a.xml", b"resource fork"),
            ("files/__MACOSX/x.xml", b"resource fork"),
            (".DS_Store", b"finder"),
            ("files/._a.xml", b"apple double"),
            (".git/config", b"hidden folder"),
            ("files/a.xml", b"kept"),
        ]
    )
    assert members_of(data) == [("files/a.xml", b"kept")]


def test_a_nested_zip_is_yielded_as_an_ordinary_member() -> None:
    inner = make_zip([("inner.xml", b"deep")])
    ((name, content),) = members_of(make_zip([("inner.zip", inner)]))
    assert name == "inner.zip"
    assert is_zip(content)
    assert list(iter_zip_members(content, filename=name)) == [("inner.xml", b"deep")]


def test_symbolic_links_are_not_regular_files_and_are_skipped() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        link = zipfile.ZipInfo("link.xml")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        regular = zipfile.ZipInfo("real.xml")
        regular.create_system = 3
        regular.external_attr = (stat.S_IFREG | 0o644) << 16
        archive.writestr(regular, "real")
    assert members_of(out.getvalue()) == [("real.xml", b"real")]


def test_the_source_may_be_bytes_a_path_or_a_binary_file(tmp_path: Path) -> None:
    data = make_zip([("a.xml", b"one")])
    path = tmp_path / "files.zip"
    path.write_bytes(data)

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    for source in (data, bytearray(data), path, str(path), io.BytesIO(data), Unseekable()):
        assert list(iter_zip_members(source, filename=FILENAME)) == [("a.xml", b"one")]


def test_a_small_repetitive_member_is_not_taken_for_a_bomb() -> None:
    text = b"<Result/>" * 50_000  # compresses far better than 100:1, but is only 450 KB
    assert members_of(make_zip([("a.xml", text)])) == [("a.xml", text)]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"PK\x03\x04", True),
        (b"PK\x05\x06", True),
        (b"PK\x07\x08", True),
        (b"PK\x03\x04\x14\x00\x00", True),
        (b"PK", False),
        (b"", False),
        (b"<?xml", False),
        (b"MZ\x90\x00", False),
    ],
)
def test_is_zip_knows_a_zip_by_its_signature(head: bytes, expected: bool) -> None:
    assert is_zip(head) is expected


# Refusals


@pytest.mark.parametrize(
    "name",
    [
        "../evil.xml",
        "/abs.xml",
        "..\\evil.xml",
        "files/../../evil.xml",
        "files\\..\\..\\evil.xml",
        "C:/Windows/evil.xml",
        "c:evil.xml",
        "\\\\server\\share\\evil.xml",
        "//server/share/evil.xml",
    ],
)
def test_a_member_path_that_escapes_its_folder_is_refused(name: str) -> None:
    # The unsafe member comes last: the whole archive is refused before any member is read.
    data = make_zip([("good.xml", b"fine"), (name, b"evil")])
    error = error_of(data)
    assert "has a path that leads outside the archive's folder" in error.message
    assert "was not opened" in error.message
    assert REZIP in error.message


def test_a_member_name_with_a_nul_character_is_refused() -> None:
    data = make_zip([("good.xml", b"fine"), ("evil.xml", b"evil")])
    data = data.replace(b"evil.xml", b"ev\x00l.xml")
    assert "NUL character" in error_of(data).message


def test_more_entries_than_allowed_are_refused() -> None:
    data = make_zip(((f"{n}", b"") for n in range(10_001)), compression=zipfile.ZIP_STORED)
    error = error_of(data)
    assert error.message.startswith("the ZIP holds 10,001 entries, more than the 10,000 allowed")
    assert len(members_of(make_zip([("a", b""), ("b", b"")]), max_entries=2)) == 2
    assert (
        "more than the 1 allowed"
        in error_of(make_zip([("a", b""), ("b", b"")]), max_entries=1).message
    )


def test_a_member_that_expands_more_than_the_ratio_allows_is_refused_as_a_bomb() -> None:
    data = make_zip([("small.xml", b"fine"), ("zeros.xml", bytes(10 * 1024 * 1024))])
    error = error_of(data)
    assert "the ZIP member 'zeros.xml' would expand from" in error.message
    assert "to 10 MB, more than 100 times" in error.message
    assert "zip bomb" in error.message
    assert members_of(data, max_ratio=10_000)[1] == ("zeros.xml", bytes(10 * 1024 * 1024))


def test_an_archive_that_expands_more_than_the_ratio_allows_in_total_is_refused() -> None:
    # Each member stays under the size at which single members are checked; together they don't.
    data = make_zip((f"part{n}.xml", bytes(900 * 1024)) for n in range(12))
    error = error_of(data)
    assert error.message.startswith("the ZIP would expand from")
    assert "more than 100 times" in error.message


def test_an_archive_over_the_total_size_limit_is_refused() -> None:
    data = make_zip(
        [("a.xml", bytes(range(256)) * 400), ("b.xml", bytes(range(256)) * 400)],
        compression=zipfile.ZIP_STORED,
    )
    error = error_of(data, max_total_bytes=150_000)
    assert error.message.startswith("the ZIP would expand to 204,800 bytes, more than the")
    assert len(members_of(data, max_total_bytes=204_800)) == 2


def test_an_encrypted_member_is_refused() -> None:
    data = set_flag_bits(make_zip([("secret.xml", b"data")]), 0x1)
    error = error_of(data)
    assert error.message.startswith("the ZIP member 'secret.xml' is encrypted")


def test_a_member_with_a_damaged_crc_is_refused_when_read() -> None:
    data = bytearray(make_zip([("a.xml", b"hello world " * 100)], compression=zipfile.ZIP_STORED))
    at = data.index(b"hello world")
    data[at] ^= 0xFF
    error = error_of(bytes(data))
    assert "the ZIP member 'a.xml' is damaged and cannot be read" in error.message


def test_a_member_whose_entry_understates_its_size_is_refused() -> None:
    # The directory says 10 bytes; the deflated data really holds 1,000. zipfile stops at the
    # stated size, so the check value (CRC) no longer matches.
    content = b"x" * 1000
    data = bytearray(make_zip([("a.xml", content)]))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.index(signature)
        struct.pack_into("<I", data, start + offset, 10)
    with pytest.raises(FormatError) as caught:
        members_of(bytes(data))
    assert "a.xml" in caught.value.message


def test_bytes_are_counted_as_they_are_decompressed_not_taken_from_the_directory() -> None:
    data = make_zip([("a.xml", b"x" * 5000)])
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        (info,) = opened.infolist()
        read = archive_module._member_chunks  # noqa: SLF001
        assert b"".join(read(opened, info, FILENAME, 5000)) == b"x" * 5000
        with pytest.raises(FormatError, match="holds more data than its entry says"):
            b"".join(read(opened, info, FILENAME, 4999))


@pytest.mark.parametrize("cut", [10, 100, -10, -30])
def test_a_truncated_zip_is_refused(cut: int) -> None:
    data = make_zip([("a.xml", b"hello " * 200), ("b.xml", b"world " * 200)])
    error = error_of(data[:cut])
    assert "the ZIP file is damaged or incomplete (truncated)" in error.message
    assert REZIP in error.message


def test_a_file_that_is_not_a_zip_is_refused() -> None:
    error = error_of(b"<CTfile/>")
    assert error.message.startswith("the ZIP file is not a ZIP archive")


def test_a_zero_byte_file_is_refused(tmp_path: Path) -> None:
    assert error_of(b"").message == "the file is empty. Upload it again."
    path = tmp_path / "empty.zip"
    path.write_bytes(b"")
    with pytest.raises(FormatError, match="the file is empty"):
        list(iter_zip_members(path, filename=FILENAME))


def test_an_empty_archive_has_no_members() -> None:
    assert members_of(make_zip([])) == []


def test_members_are_decompressed_one_at_a_time_to_files_the_caller_deletes(tmp_path) -> None:
    from keystage.formats.archive import iter_zip_member_files

    data = make_zip([("a.xml", b"one"), ("b/c.xml", b"two" * 1000)])
    seen = []
    for member in iter_zip_member_files(data, filename=FILENAME, folder=tmp_path):
        # The previous member is gone (deleted by this caller) before the next is written.
        assert [p.name for p in tmp_path.iterdir()] == [member.path.name]
        seen.append((member.name, member.path.read_bytes(), member.size))
        member.path.unlink()
    assert seen == [("a.xml", b"one", 3), ("b/c.xml", b"two" * 1000, 3000)]


def test_a_member_that_fails_while_decompressing_leaves_no_temporary_file(tmp_path) -> None:
    from keystage.formats.archive import iter_zip_member_files

    data = bytearray(make_zip([("a.xml", b"x" * 1000)]))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        struct.pack_into("<I", data, data.index(signature) + offset, 10)
    with pytest.raises(FormatError):
        list(iter_zip_member_files(bytes(data), filename=FILENAME, folder=tmp_path))
    assert list(tmp_path.iterdir()) == []
