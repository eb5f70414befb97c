"""The report charts draw in headless Chromium under the page's Content Security Policy."""

from __future__ import annotations

import pytest

from keystage.analysis.tests.test_ks4_report import _load
from keystage.core.testing import build_test_world
from keystage.core.tests.test_browser import _sign_in, browser, fast_settings  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_report_chart_and_the_ks4_scatter_are_drawn_with_no_errors(
        live_server, transactional_db, fast_settings, browser, tmp_path):  # noqa: F811
    world = build_test_world()
    academy = _load(world, tmp_path)
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    errors = []
    # Script errors, policy violations and any file that did not load (the browser's own
    # favicon request aside).
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            and not r.url.endswith("/favicon.ico") else None)
    _sign_in(page, world.a.users["la_analyst"].username)

    for url in ("/reports/?dataset=ks4&year=2024&by=school&measure=a8&scatter=disadvantage",
                f"/reports/ks4/{world.a.schools[2].urn}/?year=2024"):
        page.goto(url)
        page.locator("canvas[data-chart]").first.wait_for()
        # Chart.js sizes every canvas to its figure once it has drawn.
        page.wait_for_function(
            "() => [...document.querySelectorAll('canvas[data-chart]')].every("
            "c => c.width > 0 && c.height > 0 && c.style.height !== '')")
    assert academy
    assert not errors, errors
    context.close()
