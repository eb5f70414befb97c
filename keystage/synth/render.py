"""Writers that render a synthetic world as the files Keystage reads (pure polars, no Django)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from keystage.formats import gias
from keystage.synth.world import World

# The columns of the GIAS "all establishments" extract that Keystage reads, in GIAS order.
GIAS_COLUMNS = gias.GIAS_COLUMNS
EXPECTED_COHORT_COLUMNS: tuple[str, ...] = (
    "LAESTAB",
    "Collection",
    "AcademicYear",
    "ExpectedCount",
)
GIAS_DATE_FORMAT = "%d-%m-%Y"


def write_gias_extract(world: World, path: Path | str) -> Path:
    """Write the schools (not PVI settings) as a GIAS-style all-establishments CSV."""
    return _write_establishments(world, pl.col("kind") != "pvi", path)


def write_pvi_settings(world: World, path: Path | str) -> Path:
    """Write the PVI early years settings, which GIAS lacks, in the GIAS extract's columns."""
    return _write_establishments(world, pl.col("kind") == "pvi", path)


def write_expected_cohorts(world: World, path: Path | str) -> Path:
    """Write the expected cohort sizes as LAESTAB,Collection,AcademicYear,ExpectedCount."""
    target = _prepare(path)
    world.expected_cohorts.select(EXPECTED_COHORT_COLUMNS).write_csv(target)
    return target


def write_truth(world: World, outdir: Path | str) -> list[Path]:
    """Write the ground truth (pupils, schools) under OUTDIR/truth/ with ISO dates."""
    folder = Path(outdir) / "truth"
    folder.mkdir(parents=True, exist_ok=True)
    pupils = folder / "pupils.csv"
    schools = folder / "schools.csv"
    world.pupils.write_csv(pupils, date_format="%Y-%m-%d")
    world.schools.write_csv(schools, date_format="%Y-%m-%d")
    return [pupils, schools]


def gias_frame(world: World, which: pl.Expr | None = None) -> pl.DataFrame:
    """The establishments picked by `which` (default: all) in GIAS columns, dates as text."""
    schools = world.schools if which is None else world.schools.filter(which)
    return (
        schools.join(world.las, on="la_code", how="left")
        .select(
            pl.col("urn").alias("URN"),
            pl.col("la_code").alias("LA (code)"),
            pl.col("la_name").alias("LA (name)"),
            pl.col("estab").alias("EstablishmentNumber"),
            pl.col("name").alias("EstablishmentName"),
            pl.col("type_name").alias("TypeOfEstablishment (name)"),
            pl.col("type_group").alias("EstablishmentTypeGroup (name)"),
            pl.col("status").alias("EstablishmentStatus (name)"),
            pl.col("phase").alias("PhaseOfEducation (name)"),
            pl.col("low_age").alias("StatutoryLowAge"),
            pl.col("high_age").alias("StatutoryHighAge"),
            pl.col("open_date").dt.strftime(GIAS_DATE_FORMAT).alias("OpenDate"),
            pl.col("close_date").dt.strftime(GIAS_DATE_FORMAT).alias("CloseDate"),
            pl.col("postcode").alias("Postcode"),
        )
        .sort("URN")
    )


def _write_establishments(world: World, which: pl.Expr, path: Path | str) -> Path:
    """Write the establishments picked by `which` in the GIAS columns."""
    target = _prepare(path)
    gias_frame(world, which).write_csv(target, null_value="")
    return target


def _prepare(path: Path | str) -> Path:
    """The path as a Path, with its folder created."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target
