"""Model fields shared by the apps."""

from __future__ import annotations

from django.db import models


class JSONTextField(models.JSONField):
    """A JSONField kept on PostgreSQL as `json` (the text as written, checked as JSON when
    stored) rather than `jsonb` (parsed into a binary tree on the way in).

    For values written in bulk and read back whole, never searched by key in SQL: storing
    `json` costs PostgreSQL about half what `jsonb` does, and keeps the keys in the order
    written. Key lookups in the database (`data__key`) are not for this field; in SQL, cast
    with `::jsonb` first. On SQLite it is JSON text with no JSON_VALID check of every value
    (a fifth of the cost of writing the rows): the values are written by Django's encoder or
    polars' (bulk_insert_frame), which write nothing else.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def db_check(self, connection):
        if connection.vendor == "sqlite":
            return None
        return super().db_check(connection)

    def from_db_value(self, value, expression, connection):
        # psycopg reads a `json` column into Python values itself (Django hands it `jsonb` as
        # text, for JSONField to decode).
        if value is not None and not isinstance(value, str):
            return value
        return super().from_db_value(value, expression, connection)
