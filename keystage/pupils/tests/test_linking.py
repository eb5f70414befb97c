"""Every stored row is linked to one pupil of its LA, through imports of any dataset."""

from __future__ import annotations

import pytest

from keystage.collection.actions import do_import_batch
from keystage.collection.models import PupilRecord
from keystage.collection.tests.ctf_builder import ctf, eyfsp_file, eyfsp_rows, pupil_xml
from keystage.pupils.linking import link_unlinked_records
from keystage.pupils.models import Pupil, PupilIdentifier

pytestmark = pytest.mark.django_db

PP_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON"


def load(world, *files, yes=False, la=None):
    return do_import_batch(list(files), la=la or world.a.la, year=2026, acting_user=None,
                           confirm_replacements=yes).outcomes


def pp(*rows) -> bytes:
    return ("\n".join([PP_HEADER, *rows]) + "\n").encode()


def test_records_of_one_upn_in_different_datasets_are_one_pupil(world):
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 2)
    load(world, ("eyfsp.xml", data))
    load(world, ("pp.csv", pp(f"{upns[0]},{school.laestab},Smith,Childa,2020-11-02,Y,FSM6")))
    records = PupilRecord.objects.filter(upn=upns[0])
    assert records.count() == 2
    assert len({r.pupil_id for r in records}) == 1 and records[0].pupil_id is not None
    assert {r.link_method for r in records} == {"new", "upn"}
    assert Pupil.objects.count() == 2
    assert set(PupilIdentifier.objects.values_list("kind", "value")) == {
        ("upn", upns[0]), ("upn", upns[1])}


def test_records_of_one_upn_in_one_batch_start_one_pupil(world):
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 1)
    load(world, ("eyfsp.xml", data),
         ("pp.csv", pp(f"{upns[0]},{school.laestab},Smith,Childa,2020-11-02,Y,FSM6")))
    assert Pupil.objects.count() == 1
    assert set(PupilRecord.objects.values_list("pupil_id", flat=True)) == {
        Pupil.objects.get().pk}


def test_a_replacement_file_keeps_each_pupils_id(world):
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 2)
    load(world, ("a.xml", data))
    before = dict(PupilRecord.objects.values_list("upn", "pupil_id"))
    newer, _ = eyfsp_file("330", school.estab, 2, expected=10)
    [outcome] = load(world, ("b.xml", newer), yes=True)
    assert outcome.status == "committed", outcome.message
    assert dict(PupilRecord.objects.values_list("upn", "pupil_id")) == before
    assert Pupil.objects.count() == 2


def test_a_pupil_known_by_a_former_upn_is_found_by_it(world):
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 1)
    load(world, ("a.xml", data))
    pupil = Pupil.objects.get()
    PupilIdentifier.objects.create(pupil=pupil, la=world.a.la, kind="former_upn",
                                   value="A330200199999")
    text = pupil_xml("A330200199999", "Smith", "Childa", "2020-11-02", "M", "R",
                     eyfsp_rows(["2"] * 17))
    other = world.a.schools[1]
    load(world, ("b.xml", ctf("330", other.estab, [text])))
    record = PupilRecord.objects.get(upn="A330200199999")
    assert (record.pupil_id, record.link_method) == (pupil.pk, "upn")


def test_a_record_without_a_sex_or_upn_keeps_the_pupils_own(world):
    """A pupil premium row has no sex column; a row found by details has no UPN."""
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 1)
    load(world, ("eyfsp.xml", data))
    before = Pupil.objects.get()
    load(world, ("pp.csv", pp(f"{upns[0]},{school.laestab},Smith,Childa,2020-11-02,Y,FSM6")))
    assert Pupil.objects.get().sex == before.sex and before.sex in ("M", "F")

    load(world, ("pp.csv", pp(f",{school.laestab},Smith,Childa,2020-11-02,Y,FSM6")), yes=True)

    pupil = Pupil.objects.get()
    assert PupilRecord.objects.get(upn="").pupil_id == pupil.pk
    assert (pupil.upn, pupil.sex) == (upns[0], before.sex)


def test_the_same_upn_in_two_las_is_two_pupils(world):
    a, b = world.a.schools[0], world.b.schools[0]
    upn = "A330200121001"
    load(world, ("pp.csv", pp(f"{upn},{a.laestab},Lee,Sam,2015-01-02,Y,FSM6")))
    load(world, ("pp.csv", pp(f"{upn},{b.laestab},Lee,Sam,2015-01-02,Y,FSM6")), la=world.b.la)
    assert sorted(Pupil.objects.values_list("la__code", flat=True)) == ["330", "331"]


def test_records_loaded_before_identity_are_linked_on_request(world):
    school = world.a.schools[0]
    data, _ = eyfsp_file("330", school.estab, 3)
    load(world, ("a.xml", data))
    PupilRecord.objects.update(pupil=None, link_method="")
    Pupil.objects.all().delete()
    assert link_unlinked_records(world.a.la) == 3
    assert not PupilRecord.objects.filter(pupil=None).exists()


def test_cleaning_compares_a_record_with_its_pupils_earlier_records_after_a_upn_change(world):
    from keystage.cleaning.loading import load_cleaning_data

    school = world.a.schools[0]
    rows = eyfsp_rows(["2"] * 17, year=2025)
    before = pupil_xml("A330200121001", "Okafor", "Chidi", "2019-10-05", "M", "R", rows)
    do_import_batch([("a.xml", ctf("330", school.estab, [before]))], la=world.a.la,
                    year=2025, acting_user=None)
    # A year later the same child arrives under a new UPN, with nothing else changed.
    after = pupil_xml("A330200199991", "Okafor", "Chidi", "2019-10-05", "M", "R",
                      eyfsp_rows(["2"] * 17))
    load(world, ("b.xml", ctf("330", school.estab, [after])))
    record = PupilRecord.objects.get(upn="A330200199991")
    assert record.link_method == "details"
    others = load_cleaning_data(world.a.la, "eyfsp", 2026).others
    assert others.filter(others["upn"] == "A330200199991")["year"].to_list() == [2025]


def test_a_record_with_another_childs_upn_keeps_its_own_pupil_and_is_flagged(world):
    from keystage.cleaning.actions import do_run_cleaning
    from keystage.cleaning.models import Issue

    a, b = world.a.schools[:2]
    earlier = pupil_xml("A330200121001", "Jackson", "Florence", "2019-10-05", "F", "R",
                        eyfsp_rows(["2"] * 17, year=2025))
    do_import_batch([("old.xml", ctf("330", a.estab, [earlier]))], la=world.a.la, year=2025,
                    acting_user=None)
    taylor = pupil_xml("A330200121009", "Taylor", "Mia", "2020-09-27", "F", "R",
                       eyfsp_rows(["2"] * 17))
    # Florence's school keyed Mia's UPN into Florence's record.
    florence = pupil_xml("A330200121009", "Jackson", "Florence", "2019-10-05", "F", "R",
                         eyfsp_rows(["2"] * 17))
    load(world, ("a.xml", ctf("330", a.estab, [taylor])),
         ("b.xml", ctf("330", b.estab, [florence])))
    record = PupilRecord.objects.get(surname="Jackson", year=2026)
    first = PupilRecord.objects.get(surname="Jackson", year=2025)
    assert (record.pupil_id, record.link_method) == (first.pupil_id, "details")
    assert not PupilIdentifier.objects.filter(pupil_id=record.pupil_id,
                                              value="A330200121009").exists()
    do_run_cleaning(world.a.la, "eyfsp", 2026, acting_user=None)
    assert Issue.objects.filter(rule_code="GEN025", pupil=record).exists()


@pytest.mark.parametrize("read_first", [False, True], ids=["after-scoring", "slots-read-first"])
def test_two_children_of_one_census_with_the_same_names_and_birthday_stay_two_pupils(
        world, monkeypatch, read_first):
    import keystage.identity.link as link
    from keystage.formats.tests.census_builder import census_pupil, census_xml

    if read_first:  # as for a large LA's census in several chunks: every pupil's slot records
        monkeypatch.setattr(link, "HELD_FIRST_FROM", 0)

    first, second = world.a.schools[:2]
    one = census_xml("330", first.estab, [census_pupil("A330200121001", "Smith", "Amelia",
                                                       "2019-05-05", "F", "1")])
    other = census_xml("330", second.estab, [census_pupil("B330200121002", "Smith", "Amelia",
                                                          "2019-05-05", "F", "1")])
    load(world, ("one.xml", one))
    load(world, ("other.xml", other))

    pupils = {r.upn: r.pupil_id for r in PupilRecord.objects.filter(collection="census")}
    assert pupils["A330200121001"] != pupils["B330200121002"]
