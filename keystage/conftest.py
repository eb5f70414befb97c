"""Fixtures shared by every app's tests: two LAs with schools and a user of every role."""

from __future__ import annotations

import os

import pytest

from keystage.core.testing import World, build_test_world

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Processes the tests start (`keystage serve`, the CLI) may use the test-only SECRET_KEY too.
os.environ.setdefault("KEYSTAGE_TESTS", "1")


@pytest.fixture
def world(db) -> World:
    """LA 330 and LA 331, each with schools, a PVI setting and one user of every role."""
    return build_test_world()


@pytest.fixture
def login(client):
    """Log the test client in as a user (by object)."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture(autouse=True)
def media_in_a_temporary_folder(settings, tmp_path_factory):
    """Each test keeps uploads and return files in a folder of its own, never under var/."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests hash many passwords; a fast hasher keeps the suite quick (never used outside tests)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: rendered pages are keyed on audit ids, which a
    rolled-back test may hand out again."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
