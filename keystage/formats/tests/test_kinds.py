"""The registry of file kinds: every function it names exists."""

from __future__ import annotations

import pytest

from keystage.formats.kinds import KINDS, _load


@pytest.mark.parametrize("kind", sorted(KINDS.values(), key=lambda k: k.code),
                         ids=lambda k: k.code)
def test_every_kind_names_a_sniffer_a_reader_and_any_reader_of_several_that_exist(kind):
    for dotted in filter(None, (kind.sniffer, kind.reader, kind.many)):
        assert callable(_load(dotted)), dotted


def test_a_kind_without_a_reader_of_several_reads_each_file_alone_returning_its_error():
    kind = KINDS["pp_csv"]
    good = (b"UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON\n"
            b"A330200121001,3302001,Lee,Sam,2015-01-02,Y,FSM6\n")
    read = kind.read_many([("a.csv", good), ("b.csv", b"UPN\n")], year=2026)
    assert read[0].frames and isinstance(read[1], Exception)
