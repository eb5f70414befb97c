"""Pages every role sees: home and navigation, GOV.UK error summaries, error pages, national."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from keystage.accounts.models import Role, User
from keystage.schools.models import Establishment, LocalAuthority


def _user(world, role: str) -> User:
    if role == Role.AGENCY_USER:
        return world.a.agency_user
    return world.national if role == Role.NATIONAL_ANALYST else world.a.users[role]


def _navigation(html: str) -> list[str]:
    menu = re.search(r'<ul class="govuk-service-navigation__list" id="navigation">(.*?)</ul>',
                     html, re.S)
    assert menu, "the page has no navigation menu"
    return re.findall(r'class="govuk-service-navigation__link" href="[^"]*"[^>]*>'
                      r'(?:<strong[^>]*>)?([^<]+)', menu.group(1))


def _organisation(html: str) -> str:
    match = re.search(r'data-testid="organisation">\s*([^·<]+?)\s*·', html)
    assert match, "the header names no organisation"
    return match.group(1)


# -- Home pages and navigation ---------------------------------------------------------------

EVERYONE = ["Home", "Settings"]
NAVIGATION = {
    Role.LA_ADMIN: ["Home", "Collections", "Cleaning", "Pupils", "Messages", "Agencies",
                    "Reports", "Schools", "Users", "Audit log", "Settings"],
    Role.LA_DATA_OFFICER: ["Home", "Collections", "Cleaning", "Pupils", "Social care",
                           "Messages", "Agencies", "Reports", "Returns", "Schools", "Settings"],
    Role.LA_ANALYST: ["Home", "Collections", "Cleaning", "Pupils", "Reports", "Schools",
                      "Settings"],
    Role.VIRTUAL_SCHOOL: ["Home", "Social care", "Messages", "Schools", "Settings"],
    Role.TRANSFER_OFFICER: ["Home", "Transfers", "Messages", "Schools", "Settings"],
    Role.LOST_PUPILS_OFFICER: ["Home", "Lost pupils", "Messages", "Schools", "Settings"],
    Role.SCHOOL_USER: ["Home", "Collections", "Cleaning", "Transfers", "Messages", "Reports",
                       "Schools", "Settings"],
    Role.NATIONAL_ANALYST: ["Home", "National figures", "Settings"],
    Role.AGENCY_USER: ["Home", "Extracts", "Settings"],
}
ORGANISATION = {role: "Birmingham" for role in NAVIGATION} | {
    Role.SCHOOL_USER: "Birmingham Primary School",
    Role.NATIONAL_ANALYST: "National",
    Role.AGENCY_USER: "Health Service 330",
}
# Links to pages a role may not open must not be offered anywhere on its home page.
ADMIN_LINKS = ["/accounts/users/", "/audit/", "/schools/import/", "/schools/add-pvi/",
               "/schools/academic-year/"]


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_home_page_shows_the_organisation_and_only_the_roles_navigation(world, login, role):
    user = _user(world, role)

    response = login(user).get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert _organisation(html) == ORGANISATION[role]
    assert _navigation(html) == NAVIGATION[role]
    assert 'aria-current="true"><strong class="govuk-service-navigation__active-fallback">Home' \
        in html
    offered = ADMIN_LINKS if role == Role.LA_ADMIN else []
    for link in ADMIN_LINKS:
        assert (f'href="{link}"' in html) == (link in offered), link
    assert ('href="/national/"' in html) == (role == Role.NATIONAL_ANALYST)
    assert ('href="/schools/"' in html) == (role not in (Role.NATIONAL_ANALYST, Role.AGENCY_USER))


def test_home_page_counts_the_las_open_establishments_when_an_la_user_opens_it(world, login):
    response = login(world.a.users[Role.LA_ANALYST]).get("/")

    assert response.context["counts"] == {"open": 4, "closed": 0, "pvi": 1}
    assert b'data-testid="open-schools">4<' in response.content


def test_home_page_links_to_its_own_school_when_a_school_user_opens_it(world, login):
    school = world.a.schools[0]

    response = login(world.a.users[Role.SCHOOL_USER]).get("/")

    assert response.context["counts"]["open"] == 1
    assert f'href="/schools/{school.urn}/"'.encode() in response.content
    assert b"<h1 class=\"govuk-heading-l\">Birmingham Primary School</h1>" in response.content


def test_navigation_marks_the_current_section_when_a_page_in_it_is_open(world, login):
    response = login(world.a.users[Role.LA_ADMIN]).get(f"/schools/{world.a.schools[0].urn}/")

    html = response.content.decode()
    assert re.search(r'href="/schools/" aria-current="true"><strong[^>]*>Schools', html)
    assert 'href="/" aria-current' not in html


def test_login_page_shows_no_navigation_when_nobody_is_logged_in(client):
    response = client.get("/accounts/login/")

    html = response.content.decode()
    assert 'id="navigation"' not in html
    assert 'data-testid="organisation"' not in html
    assert "Sign in to Keystage" in html


# -- Error summaries ------------------------------------------------------------------------


def _reset_confirm_url(world) -> str:
    user = world.a.users[Role.LA_ANALYST]
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/accounts/password-reset/{uid}/{default_token_generator.make_token(user)}/"


# (who is logged in, url builder, the fields whose errors the summary must link to)
FORMS = {
    "login": (None, lambda w: "/accounts/login/", ["username", "password"]),
    "password-reset": (None, lambda w: "/accounts/password-reset/", ["email"]),
    "password-reset-confirm": (None, _reset_confirm_url, ["new_password1", "new_password2"]),
    "settings": (Role.SCHOOL_USER, lambda w: "/accounts/settings/", ["page_size"]),
    "password-change": (Role.LA_ANALYST, lambda w: "/accounts/settings/password/",
                        ["old_password", "new_password1", "new_password2"]),
    "user-add": (Role.LA_ADMIN, lambda w: "/accounts/users/add/",
                 ["username", "email", "role"]),
    "user-edit": (Role.LA_ADMIN,
                  lambda w: f"/accounts/users/{w.a.users[Role.LA_ANALYST].pk}/",
                  ["role", "reason"]),
    "school-edit": (Role.LA_ADMIN, lambda w: f"/schools/{w.a.schools[0].urn}/edit/",
                    ["name", "status", "reason"]),
    "pvi-add": (Role.LA_ADMIN, lambda w: "/schools/add-pvi/", ["urn", "name"]),
    "gias-import": (Role.LA_ADMIN, lambda w: "/schools/import/", ["extract"]),
    "academic-year": (Role.LA_ADMIN, lambda w: "/schools/academic-year/", ["start_year"]),
}


@pytest.mark.parametrize("name", FORMS)
def test_form_page_shows_an_error_summary_linked_to_each_field_when_submitted_empty(
    world, client, name
):
    role, url_for, fields = FORMS[name]
    if role is not None:
        client.force_login(_user(world, role))
    url = url_for(world)
    page = client.get(url, follow=True)  # the reset link moves its token to the session first
    url = page.redirect_chain[-1][0] if page.redirect_chain else url
    # What a browser sends for an empty form: every text field and select, each empty.
    empty = {f.html_name: "" for f in page.context["form"]
             if getattr(f.field.widget, "input_type", "") != "checkbox"}

    response = client.post(url, empty)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 class="govuk-error-summary__title">There is a problem</h2>' in html
    assert "<title>Error: " in html
    summary = re.search(r'govuk-error-summary__list">(.*?)</ul>', html, re.S).group(1)
    linked = re.findall(r'href="#id_([a-z0-9_]+)"', summary)
    assert sorted(set(linked)) == sorted(fields)
    for field in fields:
        # Each link lands on the field, which shows its own message and error style.
        assert f'id="id_{field}"' in html
        assert f'id="id_{field}-error"' in html
    assert "govuk-form-group--error" in html


def test_form_page_shows_no_error_summary_when_first_opened(world, login):
    response = login(world.a.users[Role.LA_ADMIN]).get("/accounts/users/add/")

    assert b"There is a problem" not in response.content
    assert b"<title>Add a user" in response.content


# -- Error pages ----------------------------------------------------------------------------


def _assert_govuk_page(response, heading: str) -> str:
    html = response.content.decode()
    assert 'class="govuk-template' in html
    assert "govuk-frontend.min.css" in html
    assert f'<h1 class="govuk-heading-l">{heading}</h1>' in html
    assert 'class="govuk-footer"' in html
    assert 'href="/">Go to the home page' in html
    return html


def test_404_page_is_govuk_styled_when_the_address_is_unknown(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    _assert_govuk_page(response, "Page not found")


def test_404_page_keeps_the_users_header_when_the_object_is_not_theirs(world, login):
    response = login(world.a.users[Role.LA_ADMIN]).get(f"/schools/{world.b.schools[0].urn}/")

    assert response.status_code == 404
    html = _assert_govuk_page(response, "Page not found")
    assert "may belong to another organisation" in html
    assert _organisation(html) == "Birmingham"
    assert world.b.schools[0].name not in html


def test_403_page_is_govuk_styled_and_says_whom_to_ask_when_the_role_forbids(world, login):
    response = login(world.a.users[Role.LA_ANALYST]).get("/audit/")

    assert response.status_code == 403
    html = _assert_govuk_page(response, "You do not have access to this page")
    assert "Ask your LA administrator" in html
    assert _navigation(html) == NAVIGATION[Role.LA_ANALYST]


# -- National figures -----------------------------------------------------------------------


def test_national_page_shows_only_aggregates_when_the_national_analyst_opens_it(world, login):
    response = login(world.national).get("/national/")

    assert response.status_code == 200
    assert response.context["la_count"] == 2
    assert response.context["school_count"] == 8
    assert {row["phase"]: row["n"] for row in response.context["by_phase"]} == {
        "Primary": 4, "Secondary": 2, "Nursery": 2,
    }
    html = response.content.decode()
    assert 'data-testid="la-count">2<' in html
    # No row of any LA: no school, setting, LA or LA user is named.
    for school in Establishment.objects.all():
        assert school.name not in html
        assert school.urn not in html
    for la in LocalAuthority.objects.all():
        assert la.name not in html
    for user in User.objects.exclude(pk=world.national.pk):
        assert user.username not in html


@pytest.mark.parametrize("role", [r.value for r in Role if r != Role.NATIONAL_ANALYST])
def test_national_page_answers_403_when_an_la_or_school_user_opens_it(world, login, role):
    assert login(_user(world, role)).get("/national/").status_code == 403
