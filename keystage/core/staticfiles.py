"""Serving GOV.UK Frontend: only the built files the pages use, not its whole npm package.

Scanning all ~1,800 files of the package made every new WSGI handler (each test client,
each server start) slow; the pages need the compiled stylesheet and script and the assets.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Warning as CheckWarning
from django.core.files.storage import FileSystemStorage
from whitenoise.middleware import WhiteNoiseMiddleware

BUILT_FILES = (
    "govuk-frontend.min.css",
    "govuk-frontend.min.css.map",
    "govuk-frontend.min.js",
    "govuk-frontend.min.js.map",
)
PREFIX = "govuk"


def govuk_files(root: Path) -> list[str]:
    """The files, relative to the package's dist/govuk folder, that Keystage serves."""
    if not root.is_dir():
        return []
    assets = sorted(
        str(path.relative_to(root)) for path in (root / "assets").rglob("*") if path.is_file()
    )
    return [name for name in BUILT_FILES if (root / name).is_file()] + assets


class _PackageFinder(BaseFinder):
    """Finds a front-end package's built files (npm, pinned in package.json) under a prefix."""

    prefix = ""
    label = ""
    check_id = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.root = self.package_root()
        self.files = set(self.served(self.root))

    def package_root(self) -> Path:
        raise NotImplementedError

    def served(self, root: Path) -> list[str]:
        raise NotImplementedError

    def check(self, **kwargs):
        if not self.files:
            return [CheckWarning(
                f"{self.label} is not installed at {self.root}.",
                hint="Run `npm ci` (make setup does).", id=self.check_id,
            )]
        return []

    def find(self, path, find_all=False, **kwargs):
        relative = path.removeprefix(f"{self.prefix}/")
        if path.startswith(f"{self.prefix}/") and relative in self.files:
            found = str(self.root / relative)
            return [found] if find_all else found
        return [] if find_all else None

    def list(self, ignore_patterns):
        storage = FileSystemStorage(location=str(self.root))
        storage.prefix = self.prefix
        for name in sorted(self.files):
            yield name, storage


class GovukFrontendFinder(_PackageFinder):
    """Finds govuk-frontend's built files under the static prefix govuk/ (without it pages are
    unstyled)."""

    prefix, label, check_id = PREFIX, "GOV.UK Frontend", "keystage.W001"

    def package_root(self) -> Path:
        return Path(settings.GOVUK_FRONTEND_DIR)

    def served(self, root: Path) -> list[str]:
        return govuk_files(root)


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, plus govuk-frontend's assets at /assets/, where its stylesheet looks."""

    def __init__(self, get_response=None, settings=settings):
        super().__init__(get_response, settings=settings)
        assets = Path(settings.GOVUK_FRONTEND_DIR) / "assets"
        if assets.is_dir():
            self.add_files(str(assets), prefix="assets/")


CHARTJS_FILES = ("chart.umd.min.js", "chart.umd.min.js.map")
CHARTJS_PREFIX = "chartjs"


class ChartJsFinder(_PackageFinder):
    """Finds Chart.js's built file under the static prefix chartjs/ (without it reports show
    their tables only; docs/adr/0007-charts-with-chartjs.md)."""

    prefix, label, check_id = CHARTJS_PREFIX, "Chart.js", "keystage.W002"

    def package_root(self) -> Path:
        return Path(settings.CHARTJS_DIR)

    def served(self, root: Path) -> list[str]:
        return [name for name in CHARTJS_FILES if (root / name).is_file()]
