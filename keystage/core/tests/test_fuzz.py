"""Hostile input on every page: each GET parameter a page reads and each field of each form it
shows gets NUL bytes, huge strings and numbers, and odd text; no answer is ever a 500.

Pages are enumerated from Django's URL resolver, so a new page must be declared in PAGES (its
object ids and the GET parameters it reads) or `test_every_page_is_declared_for_the_fuzz_test`
fails. Form fields are found by reading the page's own <form>s, so new fields are fuzzed
without a change here.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from keystage.accounts.models import Role
from keystage.cleaning.actions import do_run_cleaning
from keystage.collection.actions import do_import_expected_cohorts, import_ctf
from keystage.collection.models import PupilRecord, ReceivedFile, Submission
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.core.testing import gias_csv
from keystage.formats.errors import FormatError
from keystage.jobs.actions import do_queue_job
from keystage.schools.actions import do_import_establishments
from keystage.schools.models import Establishment

pytestmark = pytest.mark.django_db

HOSTILE = [
    "nul\x00byte",
    "x" * 10_000,
    str(10**20),
    "-1",
    "not-a-number",
    "\u202e\ufeff\U0001f600\u0301\ud7ff",
    "../../etc/passwd",
    "' OR '1'='1\"; --",
]

# Per URL name: how to fill its path arguments (from the world built below) and which GET
# parameters the page reads. The integrator extends this as pages are added.
COLLECTION_GET = ("collection", "year", "page", "format")
PAGES: dict[str, tuple[str, ...]] = {
    "core:home": (),
    "core:national": ("year",),
    "accounts:login": ("next",),
    "accounts:logout": (),
    "accounts:password-reset": (),
    "accounts:password-reset-done": (),
    "accounts:password-reset-confirm": (),
    "accounts:password-reset-complete": (),
    "accounts:settings": (),
    "accounts:password-change": (),
    "accounts:user-list": ("q", "role", "page"),
    "accounts:user-add": (),
    "accounts:user-edit": (),
    "schools:list": ("q", "phase", "status", "pvi", "sort", "page"),
    "schools:pvi-add": (),
    "schools:import": (),
    "schools:import-detail": (),
    "schools:academic-year": (),
    "schools:detail": (),
    "schools:edit": (),
    "audit:log": ("q", "type", "actor", "from", "to", "page"),
    "jobs:detail": (),
    "jobs:status": (),
    "collection:completeness": COLLECTION_GET,
    "collection:upload": (),
    "collection:batch": (),
    "collection:batch-confirm": (),
    "collection:notice-dismiss": (),
    "collection:submissions": COLLECTION_GET,
    "collection:submission": (),
    "collection:download": (),
    "collection:export": COLLECTION_GET,
    "cleaning:overview": COLLECTION_GET,
    "cleaning:run": COLLECTION_GET,
    "cleaning:issues": (*COLLECTION_GET, "rule", "severity", "school", "upn", "sort"),
    "cleaning:school": (*COLLECTION_GET, "rule", "severity", "upn", "sort"),
    "cleaning:pupil": (),
    "cleaning:pupil-edit": (),
    "cleaning:pupil-at": (),
    "cleaning:rules": ("collection", "year"),
    "pupils:search": ("q", "page"),
    "collection:indicators": ("format",),
    "pupils:detail": (),
    "pupils:reviews": ("page",),
    "pupils:decide": ("decision", "reason"),
    "pupils:merge": ("other", "reason"),
    "returns:list": COLLECTION_GET,
    # POST-only pages (405 on GET) get these fields posted instead.
    "returns:make": ("collection", "year", "accept_queries"),
    "returns:detail": (),
    "returns:download": (),
    "returns:moderation": COLLECTION_GET,
    "returns:moderation-school": ("year", "format", "table"),
    "socialcare:home": (),
    "analysis:report": ("dataset", "year", "by", "national", "format", "share", "query",
                        "measure", "cross", "extra", "scatter"),
    "analysis:ks4-school": ("year",),
    "analysis:ks5-school": ("year",),
    "analysis:national": ("dataset", "year", "format"),
    "analysis:group": ("dataset", "year", "group", "value", "measure"),
    "analysis:school-pdf": ("dataset", "year"),
    "analysis:school": ("dataset", "year"),
    "socialcare:return": ("format", "page"),
    "socialcare:children": ("unlinked", "q", "page"),
    "socialcare:child": ("match-pupil", "match-reason", "leave-reason"),
    "socialcare:cohort": ("format", "child_id", "change", "on", "pupil", "reason"),
    "transfer:home": ("status", "page", "school"),
    "transfer:download": (),
    "transfer:file": ("reject-reason", "route-laestab", "route-reason"),
    "transfer:notice-dismiss": (),
    "transfer:lost": ("q", "status", "destination", "format", "page"),
    "transfer:lost-pupil": ("laestab", "note"),
    "transfer:lost-match": ("decision", "reason"),
    "transfer:messages": ("page",),
    "transfer:message-new": ("upn", "to", "subject", "body"),
    "transfer:thread": ("body",),
    "transfer:agencies": ("agency-name", "agency-kind", "link-reference", "extract-upns",
                          "extract-school", "extract-purpose"),
    "transfer:extracts": ("page",),
    "transfer:extract-download": (),
}
ROLES = (Role.LA_ADMIN, Role.LA_DATA_OFFICER, Role.SCHOOL_USER)


def _url_names(resolver=None, prefix="") -> list[tuple[str, URLPattern]]:
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            space = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            found += _url_names(entry, space)
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((f"{prefix}{entry.name}", entry))
    return found


def test_every_page_is_declared_for_the_fuzz_test():
    names = {name for name, _ in _url_names()}
    assert names - PAGES.keys() == set(), "declare the new pages' GET parameters in PAGES"


class _Forms(HTMLParser):
    """The POST forms of a page: their action and their fields with the page's values."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (a.get("method") or "get").lower(),
                               "action": a.get("action") or "", "fields": {}})
        elif not self.forms:
            return
        elif tag in ("input", "textarea") and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind == "file" or (kind in ("checkbox", "radio") and "checked" not in a):
                self.forms[-1]["fields"].setdefault(a["name"], None)
            else:
                self.forms[-1]["fields"][a["name"]] = a.get("value") or ""
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.forms[-1]["fields"].setdefault(a["name"], "")
        elif tag == "option" and self._select and "selected" in a:
            self.forms[-1]["fields"][self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def _forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


@pytest.fixture
def fuzz_world(world):
    """The test world with an EYFSP file loaded and checked, and an upload job, for ids."""
    part = world.a
    school = part.schools[0]
    data, _ = eyfsp_file(part.la.code, school.estab, 2)
    outcome = import_ctf("school.xml", data, la=part.la, year=2026, acting_user=None,
                         confirm_replacements=True)
    assert outcome.status == "committed", outcome.message
    do_run_cleaning(part.la, "eyfsp", 2026, acting_user=None, trigger="import")
    return world


def _care_child(part):
    from keystage.socialcare.models import CareChild, CareReturn

    care_return, _ = CareReturn.objects.get_or_create(
        la=part.la, dataset="ssda903", year=2026, status="current",
        defaults={"digest": "0" * 64, "submitted_by_name": "fuzz"})
    child, _ = CareChild.objects.get_or_create(care_return=care_return, la=part.la,
                                               child_id="F1")
    return child


def _transfer(part):
    """A file from the LA's second school to its first (the school user's inbox)."""
    from keystage.transfer.actions import send_transfer_files
    from keystage.transfer.models import TransferFile
    from keystage.transfer.tests.builder import full_pupil, transfer_ctf

    found = TransferFile.objects.filter(to_school=part.schools[0]).first()
    if found is None:
        sender = part.schools[1]
        [outcome] = send_transfer_files(
            [("fuzz.xml", transfer_ctf(part.la.code, sender.estab, part.la.code,
                                       part.schools[0].estab,
                                       [full_pupil("A330200221001", "Fuzz", "Ed", "2016-01-01")]))],
            from_school=sender, acting_user=None)
        found = outcome.transfer
    return found


def _thread(part):
    from keystage.transfer.models import MessageThread

    found = MessageThread.objects.filter(school=part.schools[0]).first()
    return found or MessageThread.objects.create(la=part.la, school=part.schools[0],
                                                 subject="fuzz")


def _path_args(world, name: str, pattern: URLPattern) -> dict:
    part = world.a
    school = part.schools[0]
    job = do_queue_job("run-cleaning", "Fuzz", la=part.la, acting_user=None,
                       params={"la_code": part.la.code, "collection": "eyfsp", "year": 2026})
    pupil = PupilRecord.objects.filter(la=part.la, school=school).first()
    values = {
        "urn": school.urn,
        "user_id": part.users[Role.LA_ANALYST].pk,
        "pupil_id": pupil.pk,
        "collection": pupil.collection,
        "year": pupil.year,
        "upn": pupil.upn,
        "job_id": job.pk,
        "submission_id": Submission.objects.filter(la=part.la).first().pk,
        "file_id": ReceivedFile.objects.first().pk,
        "notice_id": 1,
        "return_id": 1,
        "import_id": 1,
        "review_id": 1,
        "child_id": _care_child(part).pk,
        "transfer_id": _transfer(part).pk,
        "lost_id": 1,
        "match_id": 1,
        "thread_id": _thread(part).pk,
        "extract_id": 1,
        "uidb64": "MQ",
        "token": "set-password",
    }
    return {arg: values[arg] for arg in pattern.pattern.converters}


def _assert_not_a_crash(response, what: str):
    assert response.status_code < 500, f"{what}: {response.status_code}"
    if response.get("Content-Type", "").startswith("text/html"):
        assert b"Traceback" not in response.content, what


def _fuzz_page(client, world, name, pattern, seen: set) -> set[str]:
    """Fuzz one page's GET parameters and POST forms; the names of the fields posted.

    A form that posts to another page (a "Make the return" button on the returns list) is
    fuzzed against that page, once per walk (`seen`)."""
    url = reverse(name, kwargs=_path_args(world, name, pattern))
    for param in PAGES[name]:
        for value in HOSTILE:
            _assert_not_a_crash(client.get(url, {param: value}),
                                f"GET {name} {param}={value[:20]!r}")
    response = client.get(url)
    _assert_not_a_crash(response, f"GET {name}")
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        if response.status_code == 405:
            return _fuzz_post(client, name, url, {p: "" for p in PAGES[name]})
        return set()
    posted = set()
    for form in _forms(response.content.decode()):
        target = form["action"].split("?")[0] or url
        key = (target, tuple(sorted(form["fields"])))
        if form["method"] != "post" or "logout" in target or key in seen:
            continue
        seen.add(key)
        target_name = resolve(target).view_name
        posted |= _fuzz_post(client, target_name, target, form["fields"])
    return posted


def _fuzz_post(client, name, url, fields) -> set[str]:
    posted = set()
    for field in fields:
        if field == "csrfmiddlewaretoken":
            continue
        for value in HOSTILE:
            data = {k: v for k, v in fields.items() if v is not None}
            data[field] = value
            _assert_not_a_crash(client.post(url, data),
                                f"POST {name} {field}={value[:20]!r}")
        posted.add(f"{name} {field}")
    return posted


# Forms the walk must reach for each role, so a page that stops rendering its form (or a
# parser that stops finding fields) cannot pass unnoticed.
MUST_POST = {
    Role.LA_ADMIN: {"schools:edit postcode", "schools:pvi-add name", "accounts:user-add username",
                    "accounts:settings page_size", "schools:academic-year start_year"},
    Role.LA_DATA_OFFICER: {"cleaning:pupil-edit f_Surname", "cleaning:pupil-edit reason",
                           "collection:upload year", "cleaning:run year", "returns:make year"},
    Role.SCHOOL_USER: {"collection:upload year"},
}


@pytest.mark.parametrize("role", ROLES)
def test_no_page_answers_hostile_input_with_a_server_error(fuzz_world, client, role):
    client.raise_request_exception = False
    posted, seen = set(), set()
    for name, pattern in _url_names():
        if name in ("accounts:logout",):
            continue
        client.force_login(fuzz_world.a.users[role])
        posted |= _fuzz_page(client, fuzz_world, name, pattern, seen)
    assert MUST_POST[role] <= posted


def test_a_nul_byte_in_a_search_box_is_refused_with_a_clear_message(world, login):
    client = login(world.a.users[Role.LA_ADMIN])

    response = client.get("/schools/", {"q": "Birmingham\x00"})

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


@pytest.mark.parametrize("query", ["year=99999999999999999999", "year=abc", "collection=nope",
                                   "year=1999"])
def test_an_unknown_collection_or_year_is_not_found(world, login, query):
    client = login(world.a.users[Role.LA_DATA_OFFICER])

    assert client.get(f"/cleaning/?{query}").status_code == 404
    assert client.get(f"/collection/?{query}").status_code == 404


# -- Values from files and forms that would not fit their columns ---------------------------


def test_a_cohort_count_of_ten_to_the_twenty_is_a_row_error_not_a_database_error(world):
    school = world.a.schools[0]
    data = (f"LAESTAB,Collection,AcademicYear,ExpectedCount\n{school.laestab},EYFSP,2025/26,"
            f"{10**20}\n").encode()

    with pytest.raises(FormatError) as error:
        do_import_expected_cohorts(data, filename="cohorts.csv", la=world.a.la, acting_user=None)

    assert error.value.line == 2 and error.value.column == "ExpectedCount"
    assert "whole number of pupils" in str(error.value)


def test_a_gias_row_with_an_over_long_postcode_is_refused_by_line(world):
    row = {"URN": "100009", "LA (code)": "330", "LA (name)": "Birmingham",
           "EstablishmentNumber": "2009", "EstablishmentName": "Long Postcode School",
           "Postcode": "AB1 2CD" * 20}

    with pytest.raises(FormatError) as error:
        do_import_establishments(gias_csv([row]), filename="gias.csv", la_code="330",
                                 acting_user=None)

    assert error.value.line == 2 and "at most 10 fit" in str(error.value)
    assert not Establishment.objects.filter(urn="100009").exists()


def test_a_ctf_pupil_with_an_over_long_surname_is_refused_naming_the_line(world):
    part = world.a
    data, _ = eyfsp_file(part.la.code, part.schools[0].estab, 2, surname="S" * 300)

    outcome = import_ctf("long.xml", data, la=part.la, year=2026, acting_user=None,
                         confirm_replacements=True)

    assert outcome.status == "refused"
    assert "<Surname>" in outcome.message and "at most 100 fit" in outcome.message
    assert not PupilRecord.objects.exists()


def test_an_over_long_postcode_or_huge_age_in_the_school_edit_form_is_a_form_error(world, login):
    client = login(world.a.users[Role.LA_ADMIN])
    school = world.a.schools[0]
    fields = {"name": school.name, "type_name": "x", "phase": "Primary", "status": "Open",
              "low_age": "4", "high_age": str(10**20), "postcode": "AB1 2CD" * 20,
              "reason": "fuzz"}

    response = client.post(f"/schools/{school.urn}/edit/", fields)

    assert response.status_code in (200, 400)
    errors = response.context["form"].errors
    assert "postcode" in errors and "high_age" in errors


@pytest.mark.parametrize("url", ["/accounts/users/?role=emperor", "/audit/?type=nope",
                                 "/schools/?status=sideways", "/collection/?format=pdf"])
def test_an_unknown_choice_in_a_query_is_not_found(world, login, url):
    client = login(world.a.users[Role.LA_ADMIN])

    assert client.get(url.split("?")[0]).status_code == 200
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("command", [
    ["clean", "--la", "330", "--year", str(10**20)],
    ["export", "results", "--la", "330", "--year", "-1", "--collection", "eyfsp",
     "--out", "x.csv"],
    ["import", "nothing.xml", "--la", "330", "--year", "20x6"],
])
def test_a_command_with_an_impossible_year_exits_2_saying_what_a_year_is(world, capsys, command):
    from keystage.cli import main

    status = main(command)

    assert status == 2
    assert "is not an assessment year" in capsys.readouterr().err


def test_every_form_of_the_app_uses_the_shared_validation_mixin():
    import importlib
    import inspect
    import pkgutil

    from django import forms

    import keystage
    from keystage.core.forms import GovukFormMixin

    missing = []
    for app in pkgutil.iter_modules(keystage.__path__):
        try:
            module = importlib.import_module(f"keystage.{app.name}.forms")
        except ModuleNotFoundError:
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ == module.__name__ and issubclass(cls, forms.BaseForm)
                    and not issubclass(cls, GovukFormMixin)):
                missing.append(f"{module.__name__}.{name}")
    assert missing == [], "give these forms GovukFormMixin (lengths, ranges, NUL)"
