"""PostgreSQL's planner statistics brought up to date after a bulk load, before it is read.

PostgreSQL plans each statement from statistics about each table (how many rows, the common
values of each column) that autovacuum refreshes in the background, at most once a minute and
once a tenth of a table has changed. The cleaning rules and the reports read a batch straight
after it commits. Over a table whose statistics were taken before the load (the first census
of a year, the first KS4 results, or never: autovacuum off) PostgreSQL plans for a handful of
rows and probes one table once per row of another: LA 831's reports took 7-9 s so, and 1.8 s
with the statistics taken. PostgreSQL's manual says the same of bulk loads ("Populating a
Database": run ANALYZE afterwards).

The bulk writers (core.bulk) count the rows they write per table; refresh_statistics, called
once a batch has committed, analyses those of them that changed by more than autovacuum's own
threshold since their last ANALYZE (50 rows and a tenth of the table), so a national batch
analyses a table often while it is small and rarely once it is large. SQLite plans without
such statistics: nothing to do there.
"""

from __future__ import annotations

import threading

from django.db import connection

# autovacuum_analyze_threshold and autovacuum_analyze_scale_factor's defaults.
ROWS_THRESHOLD = 50
SHARE_THRESHOLD = 0.1

_written = threading.local()


def note_written(table: str, rows: int) -> None:
    """Count rows a bulk write put into (or changed in) a table, for refresh_statistics."""
    if rows > 0 and connection.vendor == "postgresql":
        tally = _written.__dict__.setdefault("tables", {})
        tally[table] = tally.get(table, 0) + rows


def written_tables() -> dict[str, int]:
    """The rows counted per table since statistics were last refreshed (this thread's)."""
    return dict(_written.__dict__.get("tables", {}))


def refresh_statistics() -> list[str]:
    """ANALYZE the tables the bulk writes changed by more than autovacuum's threshold since
    their statistics were taken; the tables analysed (none on SQLite)."""
    tally = _written.__dict__.pop("tables", {})
    if not tally or connection.vendor != "postgresql":
        return []
    names = sorted(tally)
    with connection.cursor() as cursor:
        # reltuples is what the last ANALYZE (or VACUUM) counted, -1 for never analysed;
        # n_mod_since_analyze the changes every connection has reported since (each reports
        # within a second or so of its commits, so this thread's may be counted twice: a
        # table is analysed a little early, never late).
        cursor.execute(
            "SELECT t.name, GREATEST(c.reltuples, 0), COALESCE(s.n_mod_since_analyze, 0) "
            "FROM unnest(%s::text[]) AS t(name) JOIN pg_class c ON c.oid = to_regclass(t.name) "
            "LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid", [names])
        stale = [name for name, counted, changed in cursor.fetchall()
                 if tally[name] + changed > ROWS_THRESHOLD + SHARE_THRESHOLD * counted]
        if stale:
            # SKIP_LOCKED: a table another process is analysing right now is left to it.
            cursor.execute("ANALYZE (SKIP_LOCKED) "
                           + ", ".join(connection.ops.quote_name(n) for n in stale))
    return stale
