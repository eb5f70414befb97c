"""Deployment safety: no built-in secret key, HSTS, the Content Security Policy, no-store."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from keystage.accounts.models import Role

ROOT = Path(__file__).resolve().parents[3]


def _start(tmp_path, code: str = "", **env: str) -> subprocess.CompletedProcess:
    """Run `keystage check` (or Python code after setup) as a deployment would, outside tests."""
    clean = {k: v for k, v in os.environ.items()
             if k not in {"SECRET_KEY", "DEBUG", "KEYSTAGE_TESTS", "SECURE_COOKIES",
                          "HSTS_SECONDS", "CSP_REPORT_ONLY"}}
    clean.update(KEYSTAGE_VAR_DIR=str(tmp_path), PYTHONPATH=str(ROOT),
                 DJANGO_SETTINGS_MODULE="keystage.settings", **env)
    args = ["-c", "import django; django.setup(); from django.conf import settings; " + code] \
        if code else ["-m", "keystage.cli", "check"]
    return subprocess.run([sys.executable, *args], env=clean, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)


def test_keystage_refuses_to_start_with_a_clear_message_when_no_secret_key_is_set(tmp_path):
    result = _start(tmp_path)

    assert result.returncode == 2
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_keystage_starts_with_a_built_in_key_only_when_debug_is_on(tmp_path):
    assert _start(tmp_path, DEBUG="1").returncode == 0


def test_keystage_uses_the_secret_key_file_in_its_var_folder(tmp_path):
    (tmp_path / "secret_key").write_text("a-long-random-key-written-by-make-run-0123456789\n")

    result = _start(tmp_path, "print(settings.SECRET_KEY)")

    assert result.stdout.strip() == "a-long-random-key-written-by-make-run-0123456789"


def test_hsts_is_on_for_a_year_when_cookies_are_https_only_and_off_otherwise(tmp_path):
    show = "print(settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS)"

    assert _start(tmp_path, show, SECRET_KEY="k" * 50).stdout.split() == ["0", "False"]
    assert _start(tmp_path, show, SECRET_KEY="k" * 50, SECURE_COOKIES="1").stdout.split() == [
        "31536000", "False"]
    assert _start(tmp_path, show, SECRET_KEY="k" * 50, HSTS_SECONDS="600",
                  HSTS_INCLUDE_SUBDOMAINS="1").stdout.split() == ["600", "True"]


def test_https_responses_carry_hsts_when_it_is_on(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000

    response = client.get("/accounts/login/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000"


def test_csp_can_be_sent_report_only(tmp_path):
    result = _start(tmp_path, "print(hasattr(settings, 'CONTENT_SECURITY_POLICY'), "
                    "hasattr(settings, 'CONTENT_SECURITY_POLICY_REPORT_ONLY'))",
                    SECRET_KEY="k" * 50, CSP_REPORT_ONLY="1")

    assert result.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("url", ["/accounts/login/", "/"])
def test_pages_allow_only_our_own_scripts_and_the_inline_one_carrying_the_nonce(
    world, client, url
):
    if url == "/":
        client.force_login(world.a.users[Role.LA_ADMIN])

    response = client.get(url)

    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "unsafe-inline" not in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    html = response.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
    assert " style=" not in html


def test_signed_in_pages_and_downloads_are_private_and_never_stored(world, client):
    client.force_login(world.a.users[Role.LA_DATA_OFFICER])

    for url in ["/", "/accounts/settings/",
                "/cleaning/issues/?collection=eyfsp&year=2026&format=csv"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert set(response["Cache-Control"].replace(" ", "").split(",")) == {
            "private", "no-store"}, url
