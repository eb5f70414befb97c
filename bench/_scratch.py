"""A scratch database for a benchmark: made before Django starts, dropped when it ends."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_SERVER = "postgres://postgres@127.0.0.1:5432/test"


@contextmanager
def scratch_django(db: str, name: str) -> Iterator[Path]:
    """Django set up on a new database (PostgreSQL or SQLite) in a temporary folder, yielded;
    the PostgreSQL database is dropped and the folder removed afterwards, whatever happened."""
    folder = Path(tempfile.mkdtemp())
    scratch = f"keystage_bench_{name}_{os.getpid()}"
    if db == "postgres":
        import psycopg

        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {scratch}")
            conn.execute(f"CREATE DATABASE {scratch}")
        url = PG_SERVER.rsplit("/", 1)[0] + f"/{scratch}"
    else:
        url = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "keystage.settings"
    os.environ["KEYSTAGE_VAR_DIR"] = str(folder / "var")
    import django

    django.setup()
    try:
        yield folder
    finally:
        from django.db import connection

        connection.close()
        if db == "postgres":
            import psycopg

            with psycopg.connect(PG_SERVER, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {scratch}")
        shutil.rmtree(folder, ignore_errors=True)
