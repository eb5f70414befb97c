"""WCAG 2.2 AA on the report pages with charts and the transfer pages, checked with axe-core
(pinned in package.json) in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from keystage.analysis.tests.test_ks4_report import _load
from keystage.analysis.tests.test_ks5_report import _load as _load_ks5
from keystage.core.testing import build_test_world
from keystage.core.tests.test_browser import _sign_in, browser, fast_settings  # noqa: F401

pytestmark = pytest.mark.browser
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _violations(page) -> list[str]:
    # axe is injected as an inline script: the test's browser context sets the page's policy
    # aside for it (the pages themselves are checked under it by the chart test).
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target).join(' ')))",
        TAGS)
    return list(found)


def test_report_transfer_and_lost_pupil_pages_meet_wcag_22_aa(
        live_server, transactional_db, fast_settings, browser, tmp_path):  # noqa: F811
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run npm ci (make setup does)")
    world = build_test_world()
    _load(world, tmp_path)
    _load_ks5(world, tmp_path)
    academy = world.a.schools[2]
    pages = {
        "la_analyst": ["/reports/?dataset=ks4&year=2024&by=school&measure=a8"
                       "&scatter=disadvantage",
                       f"/reports/ks4/{academy.urn}/?year=2024",
                       f"/reports/school/{academy.urn}/?dataset=ks4&year=2024",
                       "/reports/group/?dataset=ks4&year=2024&group=sex&value=M",
                       f"/reports/ks5/{academy.urn}/?year=2025"],
        "school_user": ["/transfer/", "/transfer/messages/new/"],
        "lost_pupils_officer": ["/transfer/lost/"],
        "la_data_officer": ["/transfer/agencies/"],
    }
    problems = {}
    for role, urls in pages.items():
        context = browser.new_context(base_url=live_server.url, bypass_csp=True)
        page = context.new_page()
        _sign_in(page, world.a.users[role].username)
        for url in urls:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            found = _violations(page)
            if found:
                problems[url] = found
        context.close()
    assert not problems, json.dumps(problems, indent=1)
