"""Fast bulk inserts for whole files: COPY on PostgreSQL, executemany on SQLite.

The ORM's bulk_create prepares every value through every field, which costs more than the
database itself for tens of thousands of rows. Callers here pass plain values (str, int,
date, datetime, bool, None, and dicts or lists for JSON fields) in column order.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence

import polars as pl
from django.db import connection, models

from keystage.core.statistics import note_written


class RawJson(str):
    """JSON text already encoded (by polars, for a whole frame at once): stored as it is."""


def _json(value):
    if value is None or isinstance(value, RawJson):
        return value
    return json.dumps(value, default=str)


def _column_plan(model: type[models.Model], fields: Sequence[str]):
    """Column names, and for each column the function (or None) that makes its value DB-ready."""
    ops = connection.ops
    columns, adapters = [], []
    for name in fields:
        field = model._meta.get_field(name)
        columns.append(field.column)
        if isinstance(field, models.JSONField):
            adapters.append(_json)
        elif isinstance(field, models.DateTimeField):
            adapters.append(ops.adapt_datetimefield_value)
        elif isinstance(field, models.DateField):
            adapters.append(ops.adapt_datefield_value)
        else:
            adapters.append(None)
    return columns, adapters


def bulk_insert(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence],
    *,
    batch_size: int = 5000,
) -> int:
    """Insert rows of plain values into a model's table; returns the count (no ids come back)."""
    columns, adapters = _column_plan(model, fields)
    adapted = [(i, adapt) for i, adapt in enumerate(adapters) if adapt is not None]
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)

    def prepared(row: Sequence) -> Sequence:
        if not adapted:
            return row
        row = list(row)
        for i, adapt in adapted:
            if row[i] is not None:
                row[i] = adapt(row[i])
        return row

    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY streams rows in one command: the fastest way into PostgreSQL.
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(prepared(row))
                    count += 1
            note_written(model._meta.db_table, count)
            return count
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"  # noqa: S608
        return _executemany_in_batches(cursor, sql, map(prepared, rows), batch_size)


def bulk_insert_frame(model: type[models.Model], fields: Sequence[str],
                      frame: pl.DataFrame) -> int:
    """Insert a frame's rows (its columns in `fields` order, JSON fields as JSON text) at once:
    one COPY (text format) written by polars on PostgreSQL, executemany on SQLite."""
    if not frame.height:
        return 0
    if connection.vendor != "postgresql":
        # The frame's own rows, with no Python per value: JSON fields are JSON text already,
        # dates go as ISO text (as Django stores them), booleans as 0 and 1.
        for name, dtype in frame.schema.items():
            if dtype == pl.Date:
                frame = frame.with_columns(pl.col(name).dt.strftime("%Y-%m-%d"))
            elif dtype.is_temporal():
                return _insert_rows_of(model, fields, frame)
        columns, _ = _column_plan(model, fields)
        table = connection.ops.quote_name(model._meta.db_table)
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        with connection.cursor() as cursor:
            return _insert_many_rows(
                cursor, f"INSERT INTO {table} ({quoted}) VALUES ", frame)  # noqa: S608
    columns, _ = _column_plan(model, fields)
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    # COPY's text format (cheaper for PostgreSQL to parse than CSV's quoting): every backslash,
    # tab and line break of a text value escaped, so only a null is written as \N and no text
    # (not even a hostile one) can read as NULL or spill into another field or row.
    schema = frame.schema  # made afresh on each reading of frame.schema
    texts = [name for name, dtype in schema.items()
             if not (dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean)]
    if texts:
        if any(schema[name] != pl.String for name in texts):
            frame = frame.with_columns(pl.col(texts).cast(pl.String))
        # Only the columns holding one of them are escaped (few do: escaping costs more).
        special = frame.select(pl.col(texts).str.contains(r"[\\\t\n\r]").any()).row(0)
        needing = [name for name, found in zip(texts, special, strict=True) if found]
        if needing:
            frame = frame.with_columns(
                pl.col(needing).str.replace_many(_COPY_SPECIAL, _COPY_ESCAPED))
    data = io.BytesIO()
    frame.write_csv(data, include_header=False, separator="\t", quote_style="never",
                    null_value="\\N", date_format="%Y-%m-%d")
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {table} ({quoted}) FROM STDIN") as copy:
        copy.write(data.getbuffer())
    note_written(model._meta.db_table, frame.height)
    return frame.height


_COPY_SPECIAL = ["\\", "\t", "\n", "\r"]
_COPY_ESCAPED = ["\\\\", "\\t", "\\n", "\\r"]


def _insert_rows_of(model: type[models.Model], fields: Sequence[str],
                    frame: pl.DataFrame) -> int:
    """bulk_insert of a frame's rows, its JSON fields' values being JSON text already."""
    json_fields = {i for i, name in enumerate(fields)
                   if isinstance(model._meta.get_field(name), models.JSONField)}
    rows = frame.iter_rows()
    if json_fields:
        rows = (tuple(RawJson(v) if i in json_fields and v is not None else v
                      for i, v in enumerate(row)) for row in rows)
    return bulk_insert(model, fields, rows)


# Rows a statement on SQLite: each statement is parsed once and stepped once for all of them,
# which halves the cost a row of a statement a row (SQLite's work is the same).
_ROWS_A_STATEMENT = 100


def _insert_many_rows(cursor, insert: str, frame: pl.DataFrame, chunk: int = 50_000) -> int:
    """SQLite: insert a frame's rows (plain values, in its column order) with `insert` ("INSERT
    INTO t (columns) VALUES ") taking many rows a statement; returns the row count."""
    width = frame.width
    per = max(1, min(_ROWS_A_STATEMENT, connection.features.max_query_params // width))
    one = "(" + ", ".join(["%s"] * width) + ")"
    for start in range(0, frame.height, chunk):
        part = frame.slice(start, chunk)
        # Every value of the chunk in row order, laid out column by column (no Python per row).
        values: list = [None] * (part.height * width)
        for at, column in enumerate(part.get_columns()):
            values[at::width] = column.to_list()
        step = per * width
        # The full statements but the last, then the rest in one: always these two calls
        # (executemany of none is a no-op), so a chunk's statement count never depends on
        # its row count (the pages' and imports' query-count tests rely on it).
        groups = (part.height - 1) // per
        cursor.executemany(insert + ", ".join([one] * per),
                           [values[i * step:(i + 1) * step] for i in range(groups)])
        rest = values[groups * step:]
        cursor.execute(insert + ", ".join([one] * (len(rest) // width)), rest)
    return frame.height


def _executemany_in_batches(cursor, sql: str, rows: Iterable[Sequence], batch_size: int) -> int:
    """Run one statement for every row, a batch at a time; returns the row count."""
    count = 0
    batch: list[Sequence] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            cursor.executemany(sql, batch)
            count += len(batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)
        count += len(batch)
    return count


def bulk_update_by_pk(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence],
    *,
    batch_size: int = 5000,
) -> int:
    """Update many rows by primary key; each row is (pk, *values in field order).

    PostgreSQL: the rows are COPYed into a temporary table and applied with one UPDATE ... FROM
    (an executemany costs a round trip a row); SQLite: executemany, which is fast in-process.
    """
    columns, adapters = _column_plan(model, fields)
    table = connection.ops.quote_name(model._meta.db_table)
    pk_column = connection.ops.quote_name(model._meta.pk.column)

    def prepared(row: Sequence) -> list:
        pk, *values = row
        for i, adapt in enumerate(adapters):
            if adapt is not None and values[i] is not None:
                values[i] = adapt(values[i])
        return [*values, pk]

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            quoted = [connection.ops.quote_name(c) for c in columns]
            cursor.execute("DROP TABLE IF EXISTS _bulk_update")
            cursor.execute(
                f"CREATE TEMPORARY TABLE _bulk_update AS "  # noqa: S608
                f"SELECT {', '.join(quoted)}, {pk_column} FROM {table} WITH NO DATA")
            count = 0
            with cursor.cursor.copy(f"COPY _bulk_update ({', '.join(quoted)}, {pk_column}) "
                                    "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(prepared(row))
                    count += 1
            assignments = ", ".join(f"{c} = u.{c}" for c in quoted)
            cursor.execute(f"UPDATE {table} t SET {assignments} FROM _bulk_update u "  # noqa: S608
                           f"WHERE t.{pk_column} = u.{pk_column}")
            cursor.execute("DROP TABLE _bulk_update")
            note_written(model._meta.db_table, count)
            return count
        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
        sql = f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s"  # noqa: S608
        return _executemany_in_batches(cursor, sql, map(prepared, rows), batch_size)


def read_frame(sql: str, params: Sequence, schema: dict) -> pl.DataFrame:
    """Rows of a SELECT as a polars frame with the given schema: COPY out on PostgreSQL.

    Write booleans as 0/1 integers and dates as CAST(d AS TEXT) in the SELECT; they are cast
    here, so the same statement serves both databases.
    """
    names = list(schema)
    text_schema = {name: _wire_type(dtype) for name, dtype in schema.items()}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            import psycopg

            raw = cursor.cursor
            # COPY takes no bound parameters; psycopg's client-side quoting makes the literal.
            query = psycopg.ClientCursor(raw.connection).mogrify(sql, params)
            buffer = io.BytesIO()
            with raw.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
                for block in copy:
                    buffer.write(block)
            if buffer.tell() == 0:
                frame = pl.DataFrame(schema=text_schema)
            else:
                buffer.seek(0)
                # PostgreSQL writes NULL as an empty field and '' as "": polars reads them
                # back as null and as the empty string.
                frame = pl.read_csv(buffer, has_header=False, new_columns=names,
                                    schema=text_schema)
        else:
            cursor.execute(sql, params)
            chunks = []
            while rows := cursor.fetchmany(50_000):
                chunks.append(pl.DataFrame(rows, schema=text_schema, orient="row"))
            frame = pl.concat(chunks) if chunks else pl.DataFrame(schema=text_schema)
    return frame.with_columns(
        _cast(name, dtype) for name, dtype in schema.items() if text_schema[name] != dtype
    ).rechunk()


def _wire_type(dtype):
    """How a column travels from the database: dates as text, booleans as integers."""
    if dtype == pl.Date:
        return pl.String
    if dtype == pl.Boolean:
        return pl.Int8
    return dtype


def _cast(name: str, dtype) -> pl.Expr:
    if dtype == pl.Date:
        return pl.col(name).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    return pl.col(name).cast(dtype)


def iter_frames(sql: str, params: Sequence, schema: dict, *, chunk_rows: int = 50_000):
    """Rows of a SELECT as a stream of polars frames of at most chunk_rows rows each.

    Memory stays flat whatever the result's size: PostgreSQL COPYs the rows out to a temporary
    file that polars reads back a batch at a time; SQLite hands them over a batch at a time.
    Booleans and dates travel as in read_frame.
    """
    names = list(schema)
    text_schema = {name: _wire_type(dtype) for name, dtype in schema.items()}
    casts = [_cast(name, dtype) for name, dtype in schema.items()
             if text_schema[name] != dtype]

    def typed(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(casts) if casts else frame

    if connection.vendor == "postgresql":
        import tempfile

        import psycopg

        with tempfile.NamedTemporaryFile(suffix=".csv") as spool:
            with connection.cursor() as cursor:
                raw = cursor.cursor
                query = psycopg.ClientCursor(raw.connection).mogrify(sql, params)
                with raw.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
                    for block in copy:
                        spool.write(block)
            spool.flush()
            if spool.tell() == 0:
                return
            lazy = pl.scan_csv(spool.name, has_header=False, new_columns=names,
                               schema=text_schema)
            for frame in lazy.collect_batches(chunk_size=chunk_rows):
                yield typed(frame)
        return
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_rows):
            yield typed(pl.DataFrame(rows, schema=text_schema, orient="row"))


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Primary keys for `count` new rows, taken before they are inserted with bulk_insert.

    PostgreSQL hands them out from the table's sequence, so concurrent writers never collide;
    SQLite allows one writer at a time, so the ids after the current largest are free until
    this transaction ends.
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence named once, in the same statement (one round trip): its one-row
            # subquery is read once, as pg_get_serial_sequence for every id cost more than
            # taking them. The ids come back as runs of consecutive values (one run unless
            # another writer took some meanwhile), not a row each.
            cursor.execute(
                "SELECT min(id), max(id) FROM (SELECT id, id - row_number() OVER (ORDER BY id) "
                "AS run FROM (SELECT nextval(s.seq) AS id FROM (SELECT "
                "pg_get_serial_sequence(%s, %s)::regclass AS seq OFFSET 0) s, "
                "generate_series(1, %s)) taken) runs GROUP BY run ORDER BY 1",
                [table, pk, count])
            return [i for low, high in cursor.fetchall() for i in range(low, high + 1)]
        quoted = connection.ops.quote_name(table)
        # Django's SQLite tables use AUTOINCREMENT, so ids are never reused: start after the
        # highest ever handed out (sqlite_sequence), not only the highest still present.
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        cursor.execute(f"SELECT MAX({connection.ops.quote_name(pk)}) FROM {quoted}")  # noqa: S608
        top = max(row[0] if row else 0, cursor.fetchone()[0] or 0)
        return list(range(top + 1, top + 1 + count))


IN_CHUNK = 900  # values per IN list: under SQLite's oldest limit of 999 parameters


def one_of(column: str) -> str:
    """SQL that is true when `column` is one of the ids given as one parameter by ids_param.

    A short list of ids read first, rather than a subquery joined in, keeps PostgreSQL's plan
    sound over tables with no statistics yet (straight after an import): a subquery it thinks
    returns one row becomes the inner side of a nested loop, probed once per outer row."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)"
    return f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608


def ids_param(ids: Iterable[int]):
    """The parameter one_of reads: an array on PostgreSQL, a JSON list on SQLite."""
    ids = [int(i) for i in ids]
    return ids if connection.vendor == "postgresql" else json.dumps(ids)


def read_frame_in(sql: str, values: Sequence, schema: dict, *, params: Sequence = ()
                  ) -> pl.DataFrame:
    """read_frame for a SELECT whose `{values}` is an IN list, run over `values` in chunks
    (after `params`, the statement's other parameters); one frame of every chunk's rows."""
    parts = [pl.DataFrame(schema=schema)]
    values = list(values)
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start:start + IN_CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        parts.append(read_frame(sql.replace("{values}", marks), [*params, *chunk], schema))
    return pl.concat(parts)
