"""A file to import, on disk: its first bytes are read once for every look at them."""

from __future__ import annotations

from keystage.collection.inputs import InputFile


def test_the_head_of_a_file_on_disk_is_read_once_and_again_only_for_more(tmp_path,
                                                                         monkeypatch):
    path = tmp_path / "f.xml"
    path.write_bytes(b"0123456789" * 10)
    file = InputFile("f.xml", path=path)
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a) or real_open(*a, **k))

    assert file.head(4) == b"0123" and file.head(4) == b"0123" and file.head(2) == b"01"
    assert file.head(200) == path.read_bytes() and file.head(300) == path.read_bytes()
    assert len(opened) == 2  # the first 4 bytes, then the whole (shorter than 200) file
