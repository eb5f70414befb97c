"""A walk through the main pages in headless Chromium, as an LA administrator and a school user.

Runs Debian's Chromium (/usr/bin/chromium) through Playwright's sync API against pytest-django's
live server. Without Chromium the test is skipped on a developer's machine and fails on CI
(the CI environment variable is set), so a missing browser never passes silently there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.db import connections

from keystage.accounts.models import User
from keystage.core.testing import PASSWORD, build_test_world, gias_csv
from keystage.jobs.actions import run_pending_jobs
from keystage.jobs.models import Job, JobStatus
from keystage.schools.models import Establishment

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; the browser test must run on CI")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright's event loop runs, Django keeps this thread's database connections
            # apart from the ones it had before (asgiref's Local follows the running loop).
            # Close them now, or they outlive the test and hold the test database open.
            connections.close_all()


@pytest.fixture
def fast_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


def _sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def _nav(page, label: str) -> None:
    """Follow a navigation link and wait until the new page has loaded (no race with reads)."""
    link = page.locator(".govuk-service-navigation__list").get_by_role("link", name=label)
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(re.compile(re.escape(href) + "$"))


def _table_urns(page) -> list[str]:
    links = page.get_by_test_id("schools-table").locator("tbody a")
    return [re.search(r"/schools/(\d{6})/", h).group(1) for h in
            links.evaluate_all("els => els.map(e => e.getAttribute('href'))")]


def test_walk_the_main_pages(live_server, transactional_db, fast_settings, browser, tmp_path):
    from playwright.sync_api import expect

    build_test_world()
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    responses: list[tuple[str, int]] = []
    page.on("response", lambda response: responses.append((response.url, response.status)))
    # The Content Security Policy must block nothing of ours.
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)

    # Sign in as the LA 330 administrator: the header names the organisation.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    _sign_in(page, "la_admin_330")
    expect(page.get_by_test_id("organisation")).to_contain_text("Birmingham")
    expect(page.get_by_test_id("organisation")).to_contain_text("la_admin_330")
    expect(page.locator("h1")).to_have_text("Birmingham")
    expect(page.get_by_test_id("open-schools")).to_have_text("4")
    # govuk-frontend's inline script ran under the CSP (it carries the page's nonce).
    expect(page.locator("body")).to_have_class(re.compile(r"\bjs-enabled\b"))

    # Schools: the LA's schools and none of LA 331's.
    _nav(page, "Schools")
    expect(page).to_have_url(re.compile(r"/schools/$"))
    expect(page.locator("h1")).to_have_text("Schools register")
    assert _table_urns(page) == ["100003", "100002", "100001", "512345"]
    expect(page.get_by_test_id("schools-table")).not_to_contain_text("Coventry")

    # The GOV.UK stylesheet and its fonts loaded.
    screenshot = tmp_path / "schools.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000
    expect(page.locator("html")).to_have_class(re.compile(r"\bgovuk-template\b"))
    heading_font = page.evaluate(
        "getComputedStyle(document.querySelector('h1.govuk-heading-l')).fontFamily"
    )
    assert "GDS Transport" in heading_font
    assert page.evaluate("getComputedStyle(document.body).marginTop") == "0px"  # default is 8px
    loaded = page.evaluate(
        "document.fonts.ready.then(() => [...document.fonts]"
        ".filter(f => f.status === 'loaded').map(f => f.family))"
    )
    assert any("GDS Transport" in family for family in loaded), loaded

    # A school's page.
    page.get_by_role("link", name="Birmingham Academy").click()
    expect(page).to_have_url(re.compile(r"/schools/100003/$"))
    expect(page.locator("h1")).to_have_text("Birmingham Academy")
    expect(page.locator(".govuk-summary-list")).to_contain_text("3304001")

    # Users: the LA's users only.
    _nav(page, "Users")
    expect(page.locator("h1")).to_have_text("Users")
    expect(page.locator("table")).to_contain_text("la_data_officer_330")
    expect(page.locator("table")).not_to_contain_text("_331")

    # Audit log.
    _nav(page, "Audit log")
    expect(page.locator("h1")).to_have_text("Audit log")
    expect(page.get_by_test_id("audit-table")).to_contain_text("Establishment added")
    expect(page.get_by_test_id("audit-table")).not_to_contain_text("Coventry")

    # Settings: change the page size.
    _nav(page, "Settings")
    page.select_option("#id_page_size", "10")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Your settings have been saved.")
    assert User.objects.get(username="la_admin_330").page_size == 10

    # Upload a GIAS extract; the worker (run here) loads it; the job page reaches "Finished".
    page.goto("/schools/import/")
    extract = gias_csv([
        {"URN": "100009", "LA (code)": "330", "LA (name)": "Birmingham",
         "EstablishmentNumber": "2009", "EstablishmentName": "Browser Test Primary School"},
        {"URN": "110009", "LA (code)": "331", "LA (name)": "Coventry",
         "EstablishmentNumber": "2009", "EstablishmentName": "Not My LA Primary School"},
    ])
    page.set_input_files(
        "#id_extract",
        files=[{"name": "edubase.csv", "mimeType": "text/csv", "buffer": extract}],
    )
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    job_url = page.url
    expect(page.locator("h1")).to_have_text("Import edubase.csv")
    # Leave the page while the worker runs, so that its polling and the worker never share
    # the test database connection (SQLite's in-memory database is shared with the server).
    page.goto("about:blank")
    assert run_pending_jobs() == 1
    assert Job.objects.get().status == JobStatus.SUCCEEDED
    page.goto(job_url)
    expect(page.locator("#job-status")).to_have_text("Finished")
    page.get_by_role("link", name="See what was done").click()
    expect(page).to_have_url(re.compile(r"/schools/import/\d+/$"))
    expect(page.get_by_test_id("added-count")).to_have_text("1")
    expect(page.locator("main")).to_contain_text("Browser Test Primary School")
    expect(page.locator("main")).not_to_contain_text("Not My LA")
    assert not Establishment.objects.filter(urn="110009").exists()

    # Sign out.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_test_id("organisation")).to_have_count(0)

    # A school user sees only their own school.
    _sign_in(page, "school_user_330")
    expect(page.get_by_test_id("organisation")).to_contain_text("Birmingham Primary School")
    expect(page.locator("h1")).to_have_text("Birmingham Primary School")
    _nav(page, "Schools")
    assert _table_urns(page) == ["100001"]
    expect(page.locator(".govuk-service-navigation__list")).not_to_contain_text("Users")
    page.goto("/schools/100002/")
    expect(page.locator("h1")).to_have_text("Page not found")
    assert refused == []

    context.close()

    failures = [(url, status) for url, status in responses if status >= 400
                and not url.endswith("/schools/100002/")]
    assert failures == []
    fonts = [(url, status) for url, status in responses if "/assets/fonts/" in url]
    assert fonts and all(status in (200, 304) for _, status in fonts), fonts
    assert any(url.endswith("/static/govuk/govuk-frontend.min.css") and status in (200, 304)
               for url, status in responses)


def test_clean_a_pupil_and_make_the_return(live_server, transactional_db, fast_settings,
                                           browser):
    """An LA data officer finds an error, edits it away with a reason, and makes the return."""
    from playwright.sync_api import expect

    from keystage.cleaning.actions import do_run_cleaning
    from keystage.collection.actions import import_ctf
    from keystage.collection.models import PupilRecord
    from keystage.collection.tests.ctf_builder import eyfsp_file
    from keystage.returns.models import ReturnFile

    world = build_test_world()
    data, upns = eyfsp_file("330", world.a.schools[0].estab, 3)
    data = data.replace(b"<Sex>M</Sex>", b"<Sex>X</Sex>", 1)
    import_ctf("eyfsp.xml", data, la=world.a.la, year=2026, acting_user=None)
    do_run_cleaning(world.a.la, "eyfsp", 2026, acting_user=None)
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    _sign_in(page, "la_data_officer_330")

    # The overview names the rule; the grid leads to the pupil.
    page.goto("/cleaning/?collection=eyfsp&year=2026")
    expect(page.get_by_test_id("by-rule")).to_contain_text("GEN015")
    expect(page.get_by_test_id("errors")).to_have_text("1")
    page.get_by_role("link", name="Every error and query").click()
    page.get_by_role("link", name=upns[0]).click()
    expect(page.get_by_test_id("pupil-issues")).to_contain_text("M or F")
    expect(page.locator("main")).to_contain_text("overwritten")

    # An edit without a reason is refused; with one it is saved and the error goes.
    page.get_by_role("button", name="Edit this pupil").click()
    page.fill("#f_Sex", "F")
    page.get_by_role("button", name="Save the change").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason")
    page.fill("#reason", "The school confirmed the pupil's sex by phone")
    page.get_by_role("button", name="Save the change").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("0 errors")
    expect(page.get_by_test_id("pupil-edits")).to_contain_text("confirmed the pupil's sex")
    assert PupilRecord.objects.get(upn=upns[0]).sex == "F"

    # The return: no errors now, so it can be made; the worker writes it.
    page.goto("/returns/?collection=eyfsp&year=2026")
    expect(page.get_by_test_id("no-errors")).to_be_visible()
    page.get_by_role("button", name="Make the return").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    job_url = page.url
    page.goto("about:blank")
    assert run_pending_jobs() == 1
    page.goto(job_url)
    page.get_by_role("link", name="See what was done").click()
    expect(page.locator("h1")).to_have_text("330_EYFSP_2026_001.xml")
    assert ReturnFile.objects.get().pupils == 3
    context.close()
