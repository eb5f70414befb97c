"""The school census reader: header, every frame, year checks, and hostile files refused."""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keystage.formats.census import SCHEMAS, looks_like_census, read_census, read_censuses
from keystage.formats.errors import FormatError
from keystage.formats.kinds import kind_of
from keystage.formats.tests.census_builder import census_leaver, census_pupil, census_xml


def read(data: bytes, **options):
    return read_census(data, filename="census.xml", **options)


def test_the_header_gives_school_term_reference_date_and_year():
    file = read(census_xml(pupils=[census_pupil()]))
    assert (file.kind, file.dataset, file.laestab, file.la_code) == (
        "census_xml", "census", "3302001", "330")
    assert (file.term, file.reference_date, file.year) == ("SPR", dt.date(2026, 1, 15), 2026)
    assert file.school_name == "Test Primary School" and file.software == "TESTMIS 1.0"
    assert file.warnings == []


def test_every_frame_is_there_with_its_declared_columns_even_when_empty():
    file = read(census_xml())
    for name, schema in SCHEMAS.items():
        assert file.frames[name].schema == schema
        assert file.frames[name].height == 0


def test_a_pupil_on_roll_reads_with_identifiers_characteristics_status_fsm_and_sen():
    pupil = census_pupil(former_upn="a330200199999", fsm=[("2024-09-01", None),
                                                          ("2020-01-01", "2021-01-01")],
                         sen_provision="K", sen_needs=[("SLCN", 1), ("ASD", 2)], adopted="A",
                         enrol="M")
    file = read(census_xml(pupils=[pupil]))
    [row] = file.frames["pupils"].to_dicts()
    assert row["line"] == 9 and row["upn"] == "A330200121001"
    assert row["former_upn"] == "A330200199999"
    assert (row["surname"], row["forename"], row["dob"], row["sex"]) == (
        "Lee", "Sam", dt.date(2015, 1, 2), "M")
    assert (row["ethnicity"], row["first_language"], row["ncyear"], row["enrol_status"]) == (
        "WBRI", "ENG", "5", "M")
    assert (row["entry_date"], row["part_time"], row["adopted_from_care"]) == (
        dt.date(2021, 9, 1), False, "A")
    assert (row["sen_provision"], row["fsm_eligible"]) == ("K", True)
    assert file.frames["fsm"].select("line", "start", "end").rows() == [
        (9, dt.date(2024, 9, 1), None), (9, dt.date(2020, 1, 1), dt.date(2021, 1, 1))]
    assert file.frames["sen_needs"].select("sen_type", "rank").rows() == [("SLCN", 1), ("ASD", 2)]


@pytest.mark.parametrize(("periods", "eligible"), [
    ([], False),
    ([("2026-01-15", None)], True),  # starts on the reference date
    ([("2025-09-01", "2026-01-15")], True),  # ends on it
    ([("2025-09-01", "2026-01-14")], False),  # ended the day before
    ([("2026-01-16", None)], False),  # starts after it
])
def test_fsm_on_census_day_is_a_period_covering_the_reference_date(periods, eligible):
    file = read(census_xml(pupils=[census_pupil(fsm=periods)]))
    assert file.frames["pupils"]["fsm_eligible"].to_list() == [eligible]


def test_older_files_say_gender_and_the_reader_takes_it_as_sex():
    file = read(census_xml(pupils=[census_pupil(sex="f", sex_tag="Gender")]))
    assert file.frames["pupils"]["sex"].to_list() == ["F"]


def test_pupils_no_longer_on_roll_are_kept_apart_with_their_leaving_date():
    file = read(census_xml(pupils=[census_pupil()], leavers=[census_leaver()]))
    [leaver] = file.frames["leavers"].to_dicts()
    assert (leaver["upn"], leaver["leaving_date"], leaver["ncyear_leaving"]) == (
        "A330200121009", dt.date(2025, 12, 19), "5")
    assert file.frames["pupils"].height == 1


def test_comments_and_empty_elements_are_read_as_nothing():
    data = census_xml(pupils=[census_pupil()]).replace(
        b"<PupilIdentifiers>", b"<PupilIdentifiers><!-- from the MIS --><FormerUPN/>")
    [row] = read(data).frames["pupils"].to_dicts()
    assert row["former_upn"] == "" and row["upn"] == "A330200121001"


def test_a_term_that_disagrees_with_the_reference_date_is_a_warning_and_the_date_wins():
    file = read(census_xml(term="AUT", reference="2026-01-15"))
    assert file.term == "SPR" and "reference date 2026-01-15" in file.warnings[0]


@pytest.mark.parametrize(("reference", "term", "year"), [
    ("2025-10-02", "AUT", 2026), ("2026-05-21", "SUM", 2026), ("2026-10-01", "AUT", 2027),
])
def test_each_term_belongs_to_the_assessment_year_of_its_reference_date(reference, term, year):
    file = read(census_xml(term=term, reference=reference))
    assert (file.term, file.year) == (term, year)


def test_a_census_of_another_year_is_refused_saying_which_year_it_is():
    with pytest.raises(FormatError) as caught:
        read(census_xml(reference="2025-01-16"), year=2026)
    assert "belongs to the 2025 assessment year, not 2026" in caught.value.message


REFUSALS = [
    (b"", "the file is empty", None),
    (b'<?xml version="1.0"?><!DOCTYPE Message [<!ENTITY x "y">]><Message/>',
     "document type declaration", 1),
    (b'<?xml version="1.0"?>\n<!DOCTYPE Message SYSTEM "http://example.org/x.dtd">\n<Message/>',
     "document type declaration", 2),
    (b"<CTfile><Header/></CTfile>", "not <Message>", 1),
    (census_xml(pupils=[census_pupil()])[:-40], "not well-formed XML", None),
    (census_xml(pupils=[census_pupil()]).replace(b"</Surname>", b"</Surnam>"),
     "not well-formed XML at line 10", 10),
    (census_xml(reference="15/01/2026"), "ReferenceDate '15/01/2026' is not a date", None),
    (census_xml(term="XXX"), "Term is 'XXX'", None),
    (census_xml().replace(b"<LEA>330</LEA>", b""), "the header has no LEA", None),
    (census_xml(estab="20x1"), "not a 3-digit LA number and a 4-digit", None),
    (census_xml(pupils=[census_pupil(dob="2015-02-30")]), "<DOB> '2015-02-30' is not a date", 9),
    (census_xml(pupils=[census_pupil(fsm=[("yesterday", None)])]), "<FSMstartDate>", 9),
    (census_xml(pupils=[census_pupil(sen_needs=[("ASD", "first")])]), "<SENtypeRank>", 9),
    (b"\xff\xfe\x00\x00<\x00\x00\x00", "UTF-32", 1),
    (census_xml().replace(b"<Collection>SC", b"<Collection>CIN"), "not SC", None),
]


@pytest.mark.parametrize(("data", "message", "line"), REFUSALS)
def test_a_bad_file_is_refused_naming_where_and_what_to_do(data, message, line):
    with pytest.raises(FormatError) as caught:
        read(data)
    assert message in caught.value.message
    assert caught.value.filename == "census.xml"
    if line is not None:
        assert caught.value.line == line


def test_a_billion_laughs_file_is_refused_before_any_entity_is_expanded():
    lol = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1
                                                 else b"&lol;" * 10) for i in range(1, 10))
           + b"]><Message>&lol9;</Message>")
    with pytest.raises(FormatError, match="document type declaration"):
        read(lol)


def test_a_census_is_recognised_by_its_content_and_a_cin_census_is_not():
    data = census_xml(pupils=[census_pupil()])
    assert looks_like_census(data) and kind_of(data).code == "census_xml"
    cin = data.replace(b"<Collection>SC</Collection>", b"<Collection>CIN</Collection>")
    assert not looks_like_census(cin)


def test_a_path_is_read_as_well_as_bytes(tmp_path):
    path = tmp_path / "c.xml"
    path.write_bytes(census_xml(pupils=[census_pupil()]))
    assert read_census(path, filename="c.xml").frames["pupils"].height == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_damaged_census_is_read_or_refused_never_another_error(data):
    original = census_xml(pupils=[census_pupil(fsm=[("2025-09-01", None)],
                                               sen_needs=[("ASD", 1)])],
                          leavers=[census_leaver()])
    start = data.draw(st.integers(0, len(original)))
    end = data.draw(st.integers(start, min(len(original), start + 20)))
    junk = data.draw(st.binary(max_size=20))
    try:
        read(original[:start] + junk + original[end:])
    except FormatError:
        pass


names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                min_size=1, max_size=20).map(str.strip).filter(bool)


@settings(max_examples=60, deadline=None)
@given(surname=names, forename=names, dob=st.dates(dt.date(2005, 1, 1), dt.date(2022, 1, 1)),
       sex=st.sampled_from(["M", "F"]))
def test_any_pupil_written_is_read_back_as_written(surname, forename, dob, sex):
    file = read(census_xml(pupils=[census_pupil(surname=surname, forename=forename,
                                                dob=dob.isoformat(), sex=sex)]))
    row = file.frames["pupils"].row(0, named=True)
    assert (row["surname"], row["forename"], row["dob"], row["sex"]) == (
        surname, forename, dob, sex)


def test_termly_attendance_and_exclusions_are_read_per_pupil():
    from keystage.formats.tests.census_builder import census_pupil, census_xml

    data = census_xml(pupils=[census_pupil(attendance=[("140", "6", "4"), ("x", "", "")],
                                           exclusions=[("FIXD", "2")])])

    file = read_census(data, filename="census.xml")

    attendance = file.frames["attendance"]
    assert attendance.select("sessions_possible", "sessions_authorised",
                             "sessions_unauthorised").rows() == [(140, 6, 4), (None, None, None)]
    assert file.frames["exclusions"].select("category", "sessions").rows() == [("FIXD", 2)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), max_size=4),
       st.integers(min_value=0, max_value=2))
def test_every_frame_keeps_its_declared_types_whichever_groups_a_file_has(shapes, leavers):
    pupils = [census_pupil(upn=f"A3302001{21001 + i}", fsm=[("2025-09-01", None)] if fsm else (),
                           sen_needs=[("ASD", 1)] if sen else (),
                           exclusions=[("FIXD", "2")] if excluded else ())
              for i, (fsm, sen, excluded) in enumerate(shapes)]
    file = read(census_xml(pupils=pupils, leavers=[census_leaver()] * leavers))
    for name, schema in SCHEMAS.items():
        assert file.frames[name].schema == schema
    assert file.frames["pupils"]["fsm_eligible"].to_list() == [s[0] for s in shapes]
    assert file.frames["sen_needs"].height == sum(s[1] for s in shapes)
    assert file.frames["exclusions"]["sessions"].to_list() == [2] * sum(s[2] for s in shapes)
    assert file.frames["leavers"]["leaving_date"].to_list() == [dt.date(2025, 12, 19)] * leavers


def test_a_bad_date_is_refused_naming_its_line_among_good_pupils():
    pupils = [census_pupil(upn="A330200121001"), census_pupil(upn="A330200121002",
                                                              entry="2021-13-01")]
    with pytest.raises(FormatError) as refused:
        read(census_xml(pupils=pupils))
    assert refused.value.line is not None and refused.value.line > 9
    assert "<EntryDate> '2021-13-01' is not a date" in str(refused.value)


def _same(read_together, read_alone) -> None:
    assert type(read_together) is type(read_alone)
    if isinstance(read_alone, FormatError):
        assert (read_together.message, read_together.filename, read_together.line) == (
            read_alone.message, read_alone.filename, read_alone.line)
        return
    for name, frame in read_alone.frames.items():
        assert read_together.frames[name].equals(frame), name
    assert (read_together.laestab, read_together.reference_date, read_together.term,
            read_together.warnings) == (read_alone.laestab, read_alone.reference_date,
                                        read_alone.term, read_alone.warnings)


def test_returns_read_together_are_each_what_it_is_read_alone():
    # FSM on census day is each file's own reference date: the same period covers one and not
    # the other.
    files = [
        census_xml(estab="2001", pupils=[census_pupil(fsm=[("2025-09-01", "2026-01-10")],
                                                      sen_needs=[("ASD", 1)],
                                                      attendance=[("140", "6", "4")])]),
        census_xml(estab="2002", reference="2026-01-08",
                   pupils=[census_pupil(fsm=[("2025-09-01", "2026-01-10")],
                                        exclusions=[("FIXD", "2")])],
                   leavers=[census_leaver()]),
        census_xml(estab="2003"),
    ]
    together = read_censuses([(f"c{i}.xml", data) for i, data in enumerate(files)])
    for i, data in enumerate(files):
        _same(together[i], read_census(data, filename=f"c{i}.xml"))
    assert [f.frames["pupils"]["fsm_eligible"].to_list() for f in together] == [[False], [True],
                                                                                 []]


def test_returns_read_in_parts_of_a_few_bytes_are_each_what_they_are_read_at_once(
        monkeypatch):
    import keystage.formats.census as census

    files = [census_xml(estab=f"20{i:02d}", pupils=[
        census_pupil(upn=f"A3302001210{i:02d}", fsm=[("2025-09-01", None)],
                     sen_needs=[("ASD", 1)], surname="O'Neil & Sons" if i == 2 else "Smith")],
        leavers=[census_leaver()] if i == 1 else ()) for i in range(5)]
    odd = census_xml(estab="2099", pupils=[
        census_pupil(upn="A330200121099").replace("<UPN>", '<UPN note="x">')])
    files.insert(3, odd)
    named = [(f"c{i}.xml", data) for i, data in enumerate(files)]
    at_once = read_censuses(named)
    monkeypatch.setattr(census, "PLAIN_PART_BYTES", 1)  # a part a return
    in_parts = read_censuses(named)
    for whole, part in zip(at_once, in_parts, strict=True):
        _same(part, whole)
    assert in_parts[3].frames["pupils"]["upn"].to_list() == ["A330200121099"]


@pytest.mark.parametrize(("data", "message", "line"), REFUSALS)
def test_a_bad_return_read_with_good_ones_is_refused_alone_as_when_read_alone(data, message,
                                                                               line):
    good = census_xml(pupils=[census_pupil(fsm=[("2025-09-01", None)])])
    together = read_censuses([("a.xml", good), ("census.xml", data), ("b.xml", good)], year=2026)
    assert isinstance(together[1], FormatError) and message in together[1].message
    _same(together[0], read_census(good, filename="a.xml"))
    _same(together[2], read_census(good, filename="b.xml"))


# Element names a pupil's XML is made of in the tests below: the fields read, the repeated
# groups and their children, the containers MIS software writes around them, and one unknown.
_LEAVES = ["UPN", "FormerUPN", "Surname", "Forename", "Sex", "Gender", "DOB", "Ethnicity",
           "NCyearActual", "EntryDate", "PartTime", "SENprovision", "LeavingDate",
           "FSMstartDate", "FSMendDate", "UKcountry", "SENtype", "SENtypeRank",
           "SessionsPossible", "Category", "Sessions", "Unknown"]
_GROUPS = ["FSMperiod", "SENneed", "TermlyAttendance", "TermlyExclusion"]
_CONTAINERS = ["PupilIdentifiers", "PupilStatus", "SENneeds"]
_PLAIN_TEXTS = st.lists(st.sampled_from(list("AZaz09 -'é\n&<>\"")), max_size=8).map("".join)
_TEXTS = st.lists(st.sampled_from(list("AZaz09 -'é\t\n&<>\"=:") + ["\r\n"]),
                  max_size=8).map("".join)


@st.composite
def _pupil_xml(draw, plain: bool, depth: int = 0, leaves_only: bool = False) -> str:
    """A pupil element's content as MIS software writes it (plain), or with what it should
    not write as well (attributes, comments, CDATA, character references, prefixes, nesting,
    tabs, carriage returns, a pupil inside a pupil)."""
    kinds = ["leaf"] * 6 + ["empty", "container", "group"]
    if not plain:
        kinds += ["comment", "cdata", "reference", "odd"]
    texts = _PLAIN_TEXTS if plain else _TEXTS
    parts = []
    for _ in range(draw(st.integers(0, 6 if depth < 2 else 3))):
        kind = "leaf" if leaves_only else draw(st.sampled_from(kinds))
        name = draw(st.sampled_from(_LEAVES))
        if kind == "leaf":
            parts.append(f"<{name}>{escape(draw(texts))}</{name}>")
        elif kind == "empty":
            parts.append(draw(st.sampled_from([f"<{name}/>", f"<{name}></{name}>"]
                                              + ([] if plain else [f"<{name} />"]))))
        elif kind in ("container", "group") and depth < 3:
            around = draw(st.sampled_from(
                _GROUPS if kind == "group" else _CONTAINERS + ([] if plain else ["PupilOnRoll"])))
            inside = draw(_pupil_xml(plain, depth + 1, leaves_only=plain and kind == "group"))
            parts.append(f"<{around}>{inside}</{around}>")
        elif kind == "comment":
            parts.append(f"<!-- {name} -->")
        elif kind == "cdata":
            parts.append(f"<{name}><![CDATA[{draw(_TEXTS).replace(']', '')}]]></{name}>")
        elif kind == "reference":
            parts.append(f"<{name}>&#233;&#x41;{escape(draw(_TEXTS))}</{name}>")
        elif kind == "odd":
            parts.append(draw(st.sampled_from([
                f'<{name} a="1">x</{name}>', f'<m:{name} xmlns:m="urn:m">y</m:{name}>',
                f"<{name}>a<Inner>b</Inner>c</{name}>", "<?mis note?>", f"<{name} >z</{name} >",
            ])))
    return draw(st.sampled_from(["", "\n", "  "])).join(parts)


def _walked(data: bytes):
    """A return read by walking its tree (the reader's way for returns that are not plain)."""
    from keystage.formats import census

    try:
        return census._dataset_files([census._read_raw(data, "census.xml", None, plain=False)])[0]
    except FormatError as error:
        return error


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans().flatmap(lambda plain: st.tuples(st.lists(_pupil_xml(plain), max_size=4),
                                                     st.lists(_pupil_xml(plain), max_size=2))))
def test_a_return_read_by_its_text_gives_what_walking_its_tree_gives(elements):
    pupils, leavers = elements
    data = census_xml(pupils=[f"<PupilOnRoll>{p}</PupilOnRoll>\n" for p in pupils],
                      leavers=[f"<PupilNoLongerOnRoll>{p}</PupilNoLongerOnRoll>\n"
                               for p in leavers])
    try:
        plain = read(data)
    except FormatError as error:
        plain = error
    _same(plain, _walked(data))


def test_returns_that_are_not_plain_are_walked_with_the_plain_ones_read_together():
    plain = census_xml(estab="2001", pupils=[census_pupil(fsm=[("2025-09-01", None)],
                                                          surname="O'Neil & Sons")])
    odd = census_xml(estab="2002", pupils=[
        census_pupil(upn="A330200121002").replace("<UPN>", '<UPN note="x">'),
        census_pupil(upn="A330200121003", sen_needs=[("ASD", 1)]).replace(
            "<SENneed>", "<SENneed><SENneed>").replace("</SENneed>", "</SENneed></SENneed>")])
    together = read_censuses([("a.xml", plain), ("b.xml", odd), ("c.xml", plain)])
    _same(together[0], _walked(plain))
    assert together[0].frames["pupils"]["surname"].to_list() == ["O'Neil & Sons"]
    assert together[1].frames["pupils"]["upn"].to_list() == ["A330200121002", "A330200121003"]
    _same(together[1], _walked(odd))
    _same(together[2], _walked(plain))
