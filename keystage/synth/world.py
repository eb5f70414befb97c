"""The synthetic world: LAs, their schools and pupils, with characteristics and outcomes.

Pure numpy and polars, no Django. Each LA's part of the world is drawn from its own random stream,
seeded from (seed, LA code), so an LA is the same alone as among others, and a seed always gives
the same frames. Outcomes come from a latent attainment per pupil; they are turned into marks,
scores and codes by ranking against a fixed reference population (its own fixed seed), so national
rates match the published figures whichever LAs are in the world.

Categorical pupil columns use polars Enum types (one byte a value) to keep the national world small;
they compare equal to plain strings in filters and write as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from keystage.datasets import COHORT_CODES, cohort_ncyear, dataset, threshold
from keystage.formats.la_codes import current_english_la_codes, la_codes
from keystage.formats.upn import CHECK_ALPHABET, make_upn
from keystage.synth import names as nm
from keystage.years import (
    academic_year_end,
    academic_year_label,
    academic_year_start,
    dob_window,
    ncyear_number,
)

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

KINDS: tuple[str, ...] = ("primary", "infant", "junior", "secondary", "special", "pvi")
PRIMARY, INFANT, JUNIOR, SECONDARY, SPECIAL, PVI = range(6)

YEAR_GROUPS: tuple[str, ...] = ("R", "1", "2", "4", "6", "11")
_YR, _Y1, _Y2, _Y4, _Y6, _Y11 = range(6)
# Years since Reception, for dates of birth and the year a UPN was issued.
_YEAR_OFFSET = np.array([ncyear_number(group) for group in YEAR_GROUPS])

# Which year groups each kind of school teaches (rows follow KINDS, columns YEAR_GROUPS).
_TEACHES = np.array(
    [
        [1, 1, 1, 1, 1, 0],  # primary
        [1, 1, 1, 0, 0, 0],  # infant
        [0, 0, 0, 1, 1, 0],  # junior
        [0, 0, 0, 0, 0, 1],  # secondary
        [1, 1, 1, 1, 1, 1],  # special
        [1, 0, 0, 0, 0, 0],  # pvi
    ],
    dtype=bool,
)

# fmt: off
ETHNICITIES: tuple[str, ...] = (
    "WBRI", "WIRI", "WIRT", "WROM", "WOTH", "MWBC", "MWBA", "MWAS", "MOTH", "AIND",
    "APKN", "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
)
# fmt: on
# Per code (after WBRI): national share, P(EAL), shift in the FSM log-odds, shift in attainment.
_ETHNIC_TRAITS = np.array(
    [
        [0.0, 0.005, 0.0, 0.0],  # WBRI (share set per LA)
        [0.0025, 0.03, -0.2, 0.15],  # WIRI
        [0.0015, 0.05, 1.3, -1.0],  # WIRT
        [0.0065, 0.85, 0.6, -0.6],  # WROM
        [0.075, 0.70, -0.3, 0.0],  # WOTH
        [0.019, 0.03, 0.8, -0.05],  # MWBC
        [0.009, 0.15, 0.4, 0.05],  # MWBA
        [0.018, 0.25, -0.1, 0.2],  # MWAS
        [0.026, 0.30, 0.4, 0.05],  # MOTH
        [0.037, 0.75, -0.9, 0.4],  # AIND
        [0.048, 0.85, 0.3, 0.0],  # APKN
        [0.019, 0.90, 0.4, 0.15],  # ABAN
        [0.022, 0.80, -0.2, 0.3],  # AOTH
        [0.010, 0.03, 0.8, -0.15],  # BCRB
        [0.037, 0.60, 0.5, 0.1],  # BAFR
        [0.007, 0.50, 0.6, 0.0],  # BOTH
        [0.006, 0.70, -0.8, 0.6],  # CHNE
        [0.022, 0.80, 0.6, 0.05],  # OOTH
        [0.008, 0.60, 0.2, -0.2],  # REFU
        [0.003, 0.15, 0.0, -0.1],  # NOBT
    ]
)
_NAME_GROUP_OF_ETHNICITY = np.array(
    [nm.NAME_GROUPS.index(nm.ETHNICITY_NAME_GROUP[code]) for code in ETHNICITIES]
)

ELG_COMPONENTS: tuple[str, ...] = tuple(f"E{i:02d}" for i in range(1, 18))

SEX = pl.Enum(["M", "F"])
ETHNICITY = pl.Enum(list(ETHNICITIES))
FIRST_LANGUAGE = pl.Enum(["ENG", "OTH", "ENB", "OTB"])
SEN = pl.Enum(["N", "K", "E"])
NCYEAR = pl.Enum(list(YEAR_GROUPS))
ELG_RESULT = pl.Enum(["1", "2", "A"])
PHONICS_CODE = pl.Enum(["A", "D", "L", "Q"])
KS1_TA = pl.Enum(["PK1", "PK2", "PK3", "PK4", "WTS", "EXS", "GDS", "A"])
KS2_WRITING_TA = pl.Enum(["PK1", "PK2", "PK3", "PK4", "PK5", "PK6", "WTS", "EXS", "GDS", "A"])
SCIENCE_TA = pl.Enum(["HNM", "EXS", "A"])
MTC_CODE = pl.Enum(["A", "B", "J", "L", "U", "Z", "X", "H", "Q"])
KS2_TEST_CODE = pl.Enum(["A", "B", "U"])

# Thresholds of the registry (keystage.datasets), named once here for the numpy code below.
_PASS_MARK = threshold("phonics", "pass_mark")
_MAX_MARK = threshold("phonics", "max_mark")
_MTC_MAX = threshold("mtc", "full_marks")
_KS2_MIN, _KS2_MAX = threshold("ks2", "min_score"), threshold("ks2", "max_score")

# ---------------------------------------------------------------------------------------------
# Model parameters (why: each number is set so national rates and gaps look like methods.md s.8)
# ---------------------------------------------------------------------------------------------

_FSM_BASE = -1.30  # log-odds; with the school and ethnicity spread gives ~25% FSM nationally
_SEN_K = np.array([0.08, 0.12, 0.135, 0.155, 0.165, 0.13])  # by year group, mainstream
_SEN_E = np.array([0.012, 0.017, 0.02, 0.024, 0.028, 0.025])
_SPECIAL_SHARE = np.array([0.006, 0.009, 0.011, 0.014, 0.016, 0.019])  # of each year group
_PVI_SHARE = 0.01  # of Reception-age EYFSP children

# Attainment: shifts on a standard-normal-ish scale, shared by every measure.
_ABILITY = {"dis": -0.45, "fsm": -0.15, "lac": -0.35, "cin": -0.25, "K": -1.0, "E": -2.4}
_ABILITY_NOISE = 0.85
# Per measure: boys' shift, shift from oldest to youngest in the year, EAL shift, own noise.
_MEASURES: dict[str, tuple[float, float, float, float]] = {
    "eyfsp": (-0.40, 1.3, -0.35, 0.45),
    "ph1": (-0.24, 0.8, -0.05, 0.50),
    "ks1_re": (-0.20, 0.5, -0.10, 0.50),
    "ks1_wr": (-0.35, 0.5, -0.10, 0.50),
    "ks1_mat": (0.0, 0.5, -0.05, 0.50),
    "ks1_sci": (-0.10, 0.5, -0.15, 0.55),
    "mtc": (0.12, 0.3, 0.10, 0.60),
    "ks2_read": (-0.15, 0.2, -0.15, 0.45),
    "ks2_wr": (-0.35, 0.2, 0.0, 0.45),
    "ks2_mat": (0.10, 0.2, 0.05, 0.45),
    "ks2_gps": (-0.20, 0.2, 0.10, 0.45),
    "ks2_sci": (0.0, 0.2, -0.15, 0.55),
    "att8": (-0.25, 0.05, 0.05, 0.45),
}
# Small for the GLD goals (children at expected in the hardest goals are nearly all at expected);
# larger for the five goals outside GLD, so a few children with a GLD miss one of them.
_ELG_ITEM_NOISE = np.array([0.25] * 12 + [0.45] * 5)
_RETAKE_NOISE = 0.6

# Published national rates (all pupils in the year group, codes counting as not met).
# fmt: off
_ELG_EXPECTED = np.array(  # sums to 14.1 goals at expected per child
    [0.83, 0.83, 0.84, 0.86, 0.88, 0.90, 0.84, 0.81, 0.77, 0.71, 0.80, 0.79,
     0.84, 0.83, 0.84, 0.87, 0.86]
)
# fmt: on
_PHONICS_Y1_MET = 0.80
_PHONICS_BY_Y2_MET = 0.89
# Overall shares, highest category first (the lowest category takes the rest).
_KS1_SHARES = {
    "ks1_re": {"GDS": 0.19, "EXS": 0.49, "WTS": 0.265, "PK4": 0.028, "PK3": 0.012, "PK2": 0.006},
    "ks1_wr": {"GDS": 0.08, "EXS": 0.52, "WTS": 0.345, "PK4": 0.03, "PK3": 0.013, "PK2": 0.007},
    "ks1_mat": {"GDS": 0.16, "EXS": 0.54, "WTS": 0.245, "PK4": 0.028, "PK3": 0.012, "PK2": 0.006},
}
_KS1_SCI_EXS = 0.79
_KS2_WR_SHARES = {
    "GDS": 0.13,
    "EXS": 0.59,
    "WTS": 0.235,
    "PK6": 0.015,
    "PK5": 0.012,
    "PK4": 0.008,
    "PK3": 0.005,
    "PK2": 0.003,
}
_KS2_SCI_EXS = 0.81
# KS2 tests: share at expected (100+), at the high standard (110+) and at 120.
_KS2_TESTS = {
    "ks2_read": (0.75, 0.33, 0.02),
    "ks2_mat": (0.74, 0.26, 0.02),
    "ks2_gps": (0.73, 0.30, 0.02),
}
_MTC_FULL = 0.34
_MTC_MEAN = 20.6
_ATT8_MEAN, _ATT8_SD = 46.0, 19.0

_REFERENCE_SEED = 20_250_731
_REFERENCE_REPLICATES = 4  # copies of every LA, so LA-level chance averages out
_REFERENCE_PRIMARIES = 6
_REFERENCE_YEAR = 2026
_RANK_GRID = np.linspace(0.0, 1.0, 4001)

# Default LA sizes for national worlds: primary-phase schools shared out over the current LAs.
_NATIONAL_PRIMARIES = 15_300
_DEFAULT_PRIMARIES = 60
# URNs are 6 digits: school URNs start 1 (100000-199999), early years URNs 5-7 (500000-799999).
# Each LA code that can hold a world owns one block of each range, so URNs never clash.
_SCHOOL_URNS = (100_000, 100_000)
_EY_URNS = (500_000, 300_000)
_MAX_PRIMARIES = 500  # keeps an LA's schools inside its URN block

# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldSpec:
    """What to generate: seed, LA codes, primary schools per LA (None: default) and year."""

    seed: int = 1
    la_codes: tuple[str, ...] = ("999",)
    primary_schools: int | None = None
    year: int = 2026

    def __post_init__(self) -> None:
        object.__setattr__(self, "la_codes", tuple(self.la_codes))  # accept lists too
        if self.seed < 0:
            raise ValueError("seed must be 0 or more")
        if not self.la_codes:
            raise ValueError("a world needs at least one LA")
        if len(set(self.la_codes)) != len(self.la_codes):
            raise ValueError("LA codes must not repeat")
        for code in self.la_codes:
            _urn_block_index(code)  # raises for codes we cannot place
        if self.primary_schools is not None and not 1 <= self.primary_schools <= _MAX_PRIMARIES:
            raise ValueError(f"primary_schools must be between 1 and {_MAX_PRIMARIES}")
        if not 2015 <= self.year <= 2100:
            raise ValueError("year must be an assessment year from 2015")


@dataclass(frozen=True, eq=False)
class World:
    """The generated frames: las, schools, pupils (with outcomes) and expected_cohorts."""

    spec: WorldSpec
    las: pl.DataFrame
    schools: pl.DataFrame
    pupils: pl.DataFrame
    expected_cohorts: pl.DataFrame

    @property
    def academic_year(self) -> str:
        """The academic year of the assessments, e.g. "2025/26"."""
        return academic_year_label(self.spec.year)

    def truth_frames(self) -> dict[str, pl.DataFrame]:
        """Every frame of the world by name."""
        return {
            "las": self.las,
            "schools": self.schools,
            "pupils": self.pupils,
            "expected_cohorts": self.expected_cohorts,
        }


def national_spec(seed: int = 1, year: int = 2026) -> WorldSpec:
    """A spec covering every current English LA at its default size."""
    return WorldSpec(seed=seed, la_codes=tuple(current_english_la_codes()), year=year)


def default_primary_schools(seed: int, la_code: str) -> int:
    """Primary-phase schools an LA gets when the spec leaves the number open."""
    # Why not "60 whenever the world has one LA": an LA must be the same alone as among others,
    # so a current English LA always keeps its national size and the demo LA always has 60.
    return _national_sizes(seed).get(la_code, _DEFAULT_PRIMARIES)


def build_world(spec: WorldSpec) -> World:
    """Build the world a spec describes; the same spec always gives identical frames."""
    names = la_codes()
    las = pl.DataFrame(
        {"la_code": list(spec.la_codes), "la_name": [names[c].name for c in spec.la_codes]}
    )
    school_frames: list[pl.DataFrame] = []
    parts: list[dict[str, np.ndarray]] = []
    for code in spec.la_codes:
        n_primary = spec.primary_schools or default_primary_schools(spec.seed, code)
        la_schools, arrays = _build_la(spec.seed, code, n_primary, spec.year)
        arrays["_n_schools"] = np.array([la_schools.height])
        school_frames.append(la_schools)
        parts.append(arrays)
    schools = pl.concat(school_frames, rechunk=True)
    pupils = _assemble_pupils(parts, schools)
    cohorts = _expected_cohorts(pupils, spec.year)
    return World(spec, las, schools, pupils, cohorts)


# ---------------------------------------------------------------------------------------------
# Sizes and identifiers
# ---------------------------------------------------------------------------------------------


def _la_rng(seed: int, la_code: str, stream: int = 0) -> np.random.Generator:
    """The random stream for one LA (stream 0: its world; others: side uses)."""
    entropy = [seed, int(la_code)] if stream == 0 else [seed, int(la_code), stream]
    return np.random.default_rng(np.random.SeedSequence(entropy))


@cache
def _national_sizes(seed: int) -> dict[str, int]:
    """Primary schools per current English LA, varied by LA and summing to the national total."""
    codes = current_english_la_codes()
    # Why over the fixed list: an LA's size must not depend on which other LAs are in a world.
    weights = np.array([_la_rng(seed, c, 1).lognormal(0.0, 0.6) for c in codes])
    sizes = np.clip(np.rint(weights / weights.sum() * _NATIONAL_PRIMARIES), 8, 420)
    out = {c: int(n) for c, n in zip(codes, sizes, strict=True)}
    for tiny in ("201", "420"):  # City of London and the Isles of Scilly have one school or so
        if tiny in out:
            out[tiny] = 1
    return out


@cache
def _urn_blocks() -> dict[str, int]:
    """Block number for every LA code that can hold a world (English and synthetic codes)."""
    codes = sorted(c for c, la in la_codes().items() if la.kind in ("england", "synthetic"))
    return {c: i for i, c in enumerate(codes)}


def _urn_block_index(la_code: str) -> int:
    """The URN block of an LA code; raises ValueError for codes outside England."""
    try:
        return _urn_blocks()[la_code]
    except KeyError:
        raise ValueError(f"LA code {la_code!r} is not an English or demo LA code") from None


@cache
def _serial_check_values() -> np.ndarray:
    """Check-sum contribution (mod 23) of each 3-digit UPN serial, taken from make_upn."""
    return np.array([CHECK_ALPHABET.index(make_upn("000", "0000", 0, s)[0]) for s in range(1000)])


def _is_london(la_code: str) -> bool:
    """Inner and outer London boroughs (201-213, 301-320)."""
    n = int(la_code)
    return 201 <= n <= 213 or 301 <= n <= 320


# ---------------------------------------------------------------------------------------------
# LA and school plans
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LaProfile:
    deprivation: float
    white_british: float
    other_mix: np.ndarray
    academy_primary: float
    academy_secondary: float
    effect: float


def _la_profile(rng: np.random.Generator, la_code: str) -> _LaProfile:
    """Draw an LA's deprivation, ethnic mix, academy shares and attainment effect."""
    london = _is_london(la_code)
    deprivation = rng.normal(0.25, 0.35) if london else rng.normal(0.0, 0.4)
    white_british = rng.beta(2.5, 6.0) if london else rng.beta(6.0, 2.2)
    base = _ETHNIC_TRAITS[1:, 0] / _ETHNIC_TRAITS[1:, 0].sum()
    other_mix = rng.dirichlet(base * 40.0 + 0.02)
    return _LaProfile(
        deprivation=float(deprivation),
        white_british=float(white_british),
        other_mix=other_mix,
        academy_primary=float(rng.beta(4.0, 6.0)),
        academy_secondary=float(rng.beta(8.0, 2.0)),
        effect=float(rng.normal(0.15 if london else 0.0, 0.08)),
    )


@dataclass
class _Plan:
    """Numeric plan of an LA's schools and how many pupils each has per year group."""

    kind: np.ndarray
    closed: np.ndarray
    forms: np.ndarray
    deprivation: np.ndarray
    white_british: np.ndarray
    effect: np.ndarray
    partner: np.ndarray  # a junior school's infant school, else -1
    counts: np.ndarray  # schools x year groups


def _plan_schools(rng: np.random.Generator, n_primary: int, profile: _LaProfile) -> _Plan:
    """Decide the kinds, sizes and pupil numbers of an LA's schools."""
    n_pairs = round(0.05 * n_primary)
    n_all_through = n_primary - 2 * n_pairs
    n_secondary = max(1, round(n_primary / 6))
    n_special = max(1, round(n_primary / 25))
    n_pvi = round(n_primary / 3)
    n_closed = max(1, round(n_primary / 30)) if n_primary >= 5 else 0

    kind = np.concatenate(
        [
            np.full(n_all_through, PRIMARY),
            np.tile([INFANT, JUNIOR], n_pairs),
            np.full(n_secondary, SECONDARY),
            np.full(n_special, SPECIAL),
            np.full(n_pvi, PVI),
            np.full(n_closed, PRIMARY),
        ]
    ).astype(np.int8)
    n = kind.size
    closed = np.zeros(n, dtype=bool)
    closed[n - n_closed :] = True
    partner = np.full(n, -1)
    juniors = np.flatnonzero(kind == JUNIOR)
    partner[juniors] = juniors - 1

    forms = np.zeros(n)
    primary_like = kind == PRIMARY
    forms[primary_like] = rng.choice(
        [0.5, 1.0, 1.5, 2.0, 3.0, 4.0],
        size=primary_like.sum(),
        p=[0.12, 0.38, 0.13, 0.27, 0.09, 0.01],
    )
    pair_forms = rng.choice([1.5, 2.0, 3.0, 4.0], size=n_pairs, p=[0.15, 0.45, 0.32, 0.08])
    forms[kind == INFANT] = pair_forms
    forms[kind == JUNIOR] = pair_forms
    forms[kind == SECONDARY] = rng.integers(4, 11, size=n_secondary)

    deprivation = profile.deprivation + rng.normal(0.0, 0.55, size=n)
    logit_wb = np.log(profile.white_british / (1.0 - profile.white_british))
    white_british = _expit(logit_wb + rng.normal(0.0, 0.9, size=n))
    effect = rng.normal(0.0, 0.22, size=n)

    counts = np.zeros((n, len(YEAR_GROUPS)), dtype=np.int64)
    mainstream = np.isin(kind, [PRIMARY, INFANT, JUNIOR]) & ~closed
    fill = rng.uniform(0.8, 1.0, size=n)
    lam = (forms * 30.0 * fill)[:, None] * np.ones(len(YEAR_GROUPS))
    counts[mainstream] = rng.poisson(lam[mainstream]) * _TEACHES[kind[mainstream]]
    per_year = counts[:, :_Y11].sum(axis=0)
    typical = per_year.mean()

    secondaries = np.flatnonzero(kind == SECONDARY)
    weights = forms[secondaries] * rng.uniform(0.85, 1.1, size=n_secondary)
    counts[secondaries, _Y11] = rng.multinomial(rng.poisson(typical), weights / weights.sum())
    forms[secondaries] = np.maximum(1.0, np.rint(counts[secondaries, _Y11] / 15.0) / 2.0)

    specials = np.flatnonzero(kind == SPECIAL)
    counts[specials] = rng.poisson(typical * _SPECIAL_SHARE / n_special, size=(n_special, 6))
    forms[specials] = np.round(counts[specials].mean(axis=1) / 30.0, 1)

    pvis = np.flatnonzero(kind == PVI)
    if n_pvi:
        weights = rng.uniform(0.3, 1.7, size=n_pvi)
        total = rng.poisson(per_year[_YR] * _PVI_SHARE)
        counts[pvis, _YR] = rng.multinomial(total, weights / weights.sum())
        forms[pvis] = np.round(counts[pvis, _YR] / 30.0, 2)
    return _Plan(kind, closed, forms, deprivation, white_british, effect, partner, counts)


_TYPE_GROUP = {
    "Community school": "Local authority maintained schools",
    "Voluntary aided school": "Local authority maintained schools",
    "Voluntary controlled school": "Local authority maintained schools",
    "Foundation school": "Local authority maintained schools",
    "Academy converter": "Academies",
    "Academy sponsor led": "Academies",
    "Academy special converter": "Academies",
    "Academy special sponsor led": "Academies",
    "Free schools": "Free Schools",
    "Free schools special": "Free Schools",
    "Community special school": "Special schools",
    "Foundation special school": "Special schools",
    "Private, voluntary or independent early years setting": "Other types",
}
_PRIMARY_MAINTAINED = (
    ("Community school", 0.62),
    ("Voluntary aided school", 0.18),
    ("Voluntary controlled school", 0.15),
    ("Foundation school", 0.05),
)
_PRIMARY_ACADEMY = (
    ("Academy converter", 0.68),
    ("Academy sponsor led", 0.27),
    ("Free schools", 0.05),
)
_SECONDARY_MAINTAINED = (
    ("Community school", 0.5),
    ("Voluntary aided school", 0.25),
    ("Foundation school", 0.25),
)
_SECONDARY_ACADEMY = (
    ("Academy converter", 0.6),
    ("Academy sponsor led", 0.3),
    ("Free schools", 0.1),
)
_SPECIAL_MAINTAINED = (("Community special school", 0.85), ("Foundation special school", 0.15))
_SPECIAL_ACADEMY = (
    ("Academy special converter", 0.65),
    ("Academy special sponsor led", 0.15),
    ("Free schools special", 0.2),
)
_PVI_TYPE = "Private, voluntary or independent early years setting"
_PHASE = ("Primary", "Primary", "Primary", "Secondary", "Not applicable", "Nursery")

_SCHOOL_COLUMNS: dict[str, pl.DataType] = {
    "urn": pl.String(),
    "la_code": pl.String(),
    "estab": pl.String(),
    "laestab": pl.String(),
    "name": pl.String(),
    "type_name": pl.String(),
    "type_group": pl.String(),
    "phase": pl.String(),
    "status": pl.String(),
    "low_age": pl.Int8(),
    "high_age": pl.Int8(),
    "open_date": pl.Date(),
    "close_date": pl.Date(),
    "postcode": pl.String(),
    "kind": pl.String(),
    "forms": pl.Float64(),
}


class _Pool:
    """Numbers drawn without replacement from ranges, in a random order."""

    def __init__(self, rng: np.random.Generator, ranges: dict[str, tuple[int, int]]) -> None:
        self._free = {
            key: list(rng.permutation(np.arange(lo, hi + 1))) for key, (lo, hi) in ranges.items()
        }

    def take(self, *keys: str) -> int:
        """The next free number from the first range of `keys` that has one left."""
        for key in keys:
            if self._free[key]:
                return int(self._free[key].pop())
        raise ValueError(f"no free numbers left in {keys}")


def _describe_schools(
    rng: np.random.Generator, la_code: str, plan: _Plan, profile: _LaProfile, year: int
) -> pl.DataFrame:
    """Names, types, numbers, dates and postcodes for an LA's planned schools."""
    n = plan.kind.size
    n_ey = int((plan.kind == PVI).sum())
    school_urns = _urns_in_block(rng, la_code, _SCHOOL_URNS, n - n_ey)
    ey_urns = _urns_in_block(rng, la_code, _EY_URNS, n_ey)
    estabs = _Pool(
        rng,
        {
            "primary": (2000, 2999),
            "church": (3000, 3999),
            "sec4": (4000, 4999),
            "sec5": (5000, 5999),
            "special": (7000, 7999),
        },
    )
    stems = _stems(rng, n)
    areas = nm.LONDON_POSTCODE_AREAS if _is_london(la_code) else nm.OTHER_POSTCODE_AREAS
    my_areas = [areas[i] for i in rng.choice(len(areas), size=2, replace=False)]
    districts = np.sort(rng.choice(np.arange(1, 31), size=10, replace=False))
    open_primaries = np.flatnonzero((plan.kind == PRIMARY) & ~plan.closed)
    proposed = -1
    if open_primaries.size >= 10 and rng.random() < 0.5:
        proposed = int(open_primaries[rng.integers(open_primaries.size)])
    # One row of uniform draws per school, one column per decision (see _Draw).
    draws = rng.random((n, _Draw.COUNT))

    rows: dict[str, list] = {key: [] for key in _SCHOOL_COLUMNS}
    used_names: set[str] = set()
    next_urn = {True: iter(ey_urns.tolist()), False: iter(school_urns.tolist())}
    pair_type: dict[int, tuple[str, str | None]] = {}
    for i in range(n):
        u = draws[i]
        kind = int(plan.kind[i])
        partner = int(plan.partner[i])
        stem = stems[i] if partner < 0 else stems[partner]
        if kind == JUNIOR:
            type_name, church = pair_type[partner]
        else:
            type_name, church = _school_type(u, kind, bool(plan.closed[i]), profile)
            pair_type[i] = (type_name, church)
        name = _school_name(u, kind, type_name, church, stem)
        place = i
        while name in used_names:
            # Why: real LAs tell same-named schools apart by adding the place.
            place += 1
            name = f"{name.split(', ')[0]}, {stems[(place * 7 + 3) % n]}"
            if place > i + n:
                name = f"{name} ({i})"
        used_names.add(name)

        estab = None if kind == PVI else f"{_estab_for(estabs, kind, type_name):04d}"
        low, high = _ages(u, kind)
        open_date, close_date, status = _dates(
            u, type_name, bool(plan.closed[i]), i == proposed, year
        )
        letters = nm.POSTCODE_UNIT_LETTERS
        postcode = (
            f"{my_areas[int(u[_Draw.AREA] < 0.3)]}{districts[int(u[_Draw.DISTRICT] * 10)]} "
            f"{1 + int(u[_Draw.SECTOR] * 9)}{letters[int(u[_Draw.UNIT1] * len(letters))]}"
            f"{letters[int(u[_Draw.UNIT2] * len(letters))]}"
        )
        rows["urn"].append(str(next(next_urn[kind == PVI])))
        rows["la_code"].append(la_code)
        rows["estab"].append(estab)
        rows["laestab"].append(None if estab is None else la_code + estab)
        rows["name"].append(name)
        rows["type_name"].append(type_name)
        rows["type_group"].append(_TYPE_GROUP[type_name])
        rows["phase"].append(_PHASE[kind])
        rows["status"].append(status)
        rows["low_age"].append(low)
        rows["high_age"].append(high)
        rows["open_date"].append(open_date)
        rows["close_date"].append(close_date)
        rows["postcode"].append(postcode)
        rows["kind"].append(KINDS[kind])
        rows["forms"].append(float(plan.forms[i]))
    return pl.DataFrame(rows, schema=_SCHOOL_COLUMNS)


class _Draw:
    """Columns of the per-school uniform draws, one per decision."""

    ACADEMY, TYPE, CHURCH, CATHOLIC, TEMPLATE, DEDICATION, BY_PLACE, FAITH = range(8)
    LOW_AGE, HIGH_AGE, HAS_OPEN_DATE, OPEN_DATE, CLOSE_STYLE, CLOSE_DATE = range(8, 14)
    AREA, DISTRICT, SECTOR, UNIT1, UNIT2, ENDING = range(14, 20)
    COUNT = 20


def _urns_in_block(
    rng: np.random.Generator, la_code: str, urn_range: tuple[int, int], count: int
) -> np.ndarray:
    """`count` distinct URNs from the LA's block of a URN range."""
    first, size = urn_range
    block = size // len(_urn_blocks())
    if count > block:
        raise ValueError(f"too many schools in LA {la_code} for its block of URNs")
    return first + _urn_block_index(la_code) * block + rng.choice(block, count, replace=False)


def _stems(rng: np.random.Generator, n: int) -> list[str]:
    """`n` invented place-name stems such as "Oakfield", distinct while the pool lasts."""
    pool = _stem_pool()
    order = rng.permutation(len(pool))
    return [pool[order[i % len(pool)]] for i in range(n)]


@cache
def _stem_pool() -> tuple[str, ...]:
    """Every stem that a prefix and a suffix make."""
    stems = []
    for prefix in nm.STEM_PREFIXES:
        for suffix in nm.STEM_SUFFIXES:
            head = prefix.lower()
            if suffix.startswith(head) or head.startswith(suffix):
                continue  # "Brookbrook", "Parkpark"
            stems.append(prefix + (suffix[1:] if prefix[-1] == suffix[0] else suffix))
    return tuple(stems)


def _weighted(u: float, options: tuple | list) -> str:
    """The option whose share of the total weight covers `u` (options: (value, weight) pairs)."""
    total = sum(weight for _, weight in options)
    running = 0.0
    for value, weight in options:
        running += weight / total
        if u < running:
            return value
    return next(value for value, weight in reversed(options) if weight > 0)


def _item(u: float, values: tuple[str, ...]) -> str:
    """One of `values`, evenly by `u`."""
    return values[min(int(u * len(values)), len(values) - 1)]


def _school_type(
    u: np.ndarray, kind: int, closed: bool, profile: _LaProfile
) -> tuple[str, str | None]:
    """GIAS type of establishment and church character ("ce", "rc" or None) of one school."""
    if kind == PVI:
        return _PVI_TYPE, None
    if kind == SPECIAL:
        table = _SPECIAL_ACADEMY if u[_Draw.ACADEMY] < 0.45 else _SPECIAL_MAINTAINED
        return _weighted(u[_Draw.TYPE], table), None
    if kind == SECONDARY:
        academy = u[_Draw.ACADEMY] < profile.academy_secondary
        type_name = _weighted(
            u[_Draw.TYPE], _SECONDARY_ACADEMY if academy else _SECONDARY_MAINTAINED
        )
        church_p = {"Voluntary aided school": 1.0, "Academy converter": 0.15}.get(type_name, 0.0)
        church = None
        if u[_Draw.CHURCH] < church_p:
            church = "rc" if u[_Draw.CATHOLIC] < 0.7 else "ce"
        return type_name, church
    # Closed schools are mostly maintained schools that closed on converting or merging.
    academy = not closed and u[_Draw.ACADEMY] < profile.academy_primary
    type_name = _weighted(u[_Draw.TYPE], _PRIMARY_ACADEMY if academy else _PRIMARY_MAINTAINED)
    church_p = {
        "Voluntary aided school": 1.0,
        "Voluntary controlled school": 1.0,
        "Academy converter": 0.25,
        "Foundation school": 0.1,
    }.get(type_name, 0.0)
    church = None
    if u[_Draw.CHURCH] < church_p:
        rc_p = {"Voluntary aided school": 0.55, "Voluntary controlled school": 0.0}.get(
            type_name, 0.4
        )
        church = "rc" if u[_Draw.CATHOLIC] < rc_p else "ce"
    return type_name, church


def _school_name(u: np.ndarray, kind: int, type_name: str, church: str | None, stem: str) -> str:
    """A plausible English school name for the kind, type and church character."""
    academy = type_name.startswith("Academy")
    free = type_name.startswith("Free")
    pick = u[_Draw.TEMPLATE]
    if kind == PVI:
        prefix = _item(u[_Draw.DEDICATION], nm.PVI_PREFIXES) if u[_Draw.BY_PLACE] < 0.7 else stem
        return f"{prefix} {_item(u[_Draw.ENDING], nm.PVI_SUFFIXES)}"
    if kind == SPECIAL:
        template = _weighted(
            pick,
            [
                ("{s} School", 4),
                ("{s} Special School", 1.5),
                ("The {s} School", 1),
                ("{s} Academy", 3 if academy or free else 0),
                ("{s} Community Special School", 1 if type_name.startswith("Community") else 0),
            ],
        )
        return template.format(s=stem)
    if church:
        dedications = nm.CATHOLIC_DEDICATIONS if church == "rc" else nm.COFE_DEDICATIONS
        dedication = _item(u[_Draw.DEDICATION], dedications)
        if church == "ce" and u[_Draw.BY_PLACE] < 0.35:
            dedication = stem  # many CofE schools are named after their village
        if kind == SECONDARY:
            if church == "rc":
                template = _weighted(
                    pick,
                    [
                        ("{d} Catholic High School", 2),
                        ("{d} Catholic School", 2),
                        ("{d} Catholic College", 1),
                        ("{d} Catholic Academy", 1 if academy else 0),
                    ],
                )
            else:
                template = _weighted(
                    pick,
                    [
                        ("{d} Church of England Academy", 2 if academy else 0),
                        ("{d} CofE High School", 2),
                        ("{d} Church of England School", 1),
                    ],
                )
            return template.format(d=dedication)
        label = {PRIMARY: "Primary", INFANT: "Infant", JUNIOR: "Junior"}[kind]
        if church == "rc":
            faith = "Catholic"
        else:
            faith = "CofE" if u[_Draw.FAITH] < 0.75 else "Church of England"
        ending = "Academy" if academy and u[_Draw.ENDING] < 0.4 else "School"
        return f"{dedication} {faith} {label} {ending}"
    if kind == SECONDARY:
        if academy or free:
            options = [
                ("{s} Academy", 6),
                ("{s} High School", 1.5),
                ("{s} School", 1.5),
                ("The {s} Academy", 1),
            ]
        else:
            options = [
                ("{s} High School", 3.5),
                ("{s} School", 2.5),
                ("{s} Community College", 1.5),
                ("{s} Secondary School", 1),
                ("{s} Community School", 1.5),
            ]
        return _weighted(pick, options).format(s=stem)
    label = {PRIMARY: "Primary", INFANT: "Infant", JUNIOR: "Junior"}[kind]
    if free:
        options = [("{s} Free School", 3), ("{s} {l} Academy", 7)]
    elif academy:
        # "Oakfield Academy" alone would hide that a school is an infant or junior school.
        plain = 1.5 if kind == PRIMARY else 0.0
        options = [("{s} {l} School", 4.5), ("{s} {l} Academy", 4), ("{s} Academy", plain)]
    else:
        options = [("{s} {l} School", 8.5), ("{s} Community {l} School", 1.5)]
    return _weighted(pick, options).format(s=stem, l=label)


def _estab_for(pool: _Pool, kind: int, type_name: str) -> int:
    """An establishment number in the usual range for the kind and type of school."""
    if kind == SPECIAL:
        return pool.take("special")
    if kind == SECONDARY:
        if type_name in ("Community school", "Academy sponsor led"):
            return pool.take("sec4", "sec5")
        return pool.take("sec5", "sec4")
    if type_name in ("Voluntary aided school", "Voluntary controlled school"):
        return pool.take("church", "primary")
    return pool.take("primary", "church")


def _ages(u: np.ndarray, kind: int) -> tuple[int, int]:
    """Statutory low and high ages for a kind of school."""
    low, high = u[_Draw.LOW_AGE], u[_Draw.HIGH_AGE]
    if kind == PRIMARY:
        return (3 if low < 0.3 else 4), 11
    if kind == INFANT:
        return (3 if low < 0.3 else 4), 7
    if kind == JUNIOR:
        return 7, 11
    if kind == SECONDARY:
        return 11, (18 if high < 0.55 else 16)
    if kind == SPECIAL:
        return (2 if low < 0.6 else 3 if low < 0.85 else 4), (19 if high < 0.8 else 18)
    return (0 if low < 0.7 else 2), 5


def _dates(
    u: np.ndarray, type_name: str, closed: bool, proposed: bool, year: int
) -> tuple[dt.date | None, dt.date | None, str]:
    """Open date, close date and GIAS status of one school."""

    def sept(lo: int, hi: int) -> dt.date:
        return academic_year_start(lo + int(u[_Draw.OPEN_DATE] * (hi - lo + 1)) + 1)

    if closed:
        open_date = None if u[_Draw.HAS_OPEN_DATE] < 0.6 else sept(1960, 2010)
        if u[_Draw.CLOSE_STYLE] < 0.6:
            close_date = academic_year_end(year - 1)
        else:
            close_date = academic_year_start(year - 1) + dt.timedelta(
                days=int(u[_Draw.CLOSE_DATE] * 365)
            )
        return open_date, close_date, "Closed"
    if type_name == _PVI_TYPE:
        start = dt.date(1995, 1, 1)
        span = (dt.date(year - 2, 12, 31) - start).days
        open_date = start + dt.timedelta(days=int(u[_Draw.OPEN_DATE] * span))
    elif type_name.startswith("Free"):
        open_date = sept(2012, year - 1)
    elif type_name.startswith("Academy"):
        month = int(u[_Draw.OPEN_DATE] * (year - 2011) * 12)
        open_date = dt.date(2010 + (month + 8) // 12, (month + 8) % 12 + 1, 1)
    else:
        open_date = None if u[_Draw.HAS_OPEN_DATE] < 0.65 else sept(1960, 2015)
    if proposed:
        return open_date, academic_year_end(year), "Open, but proposed to close"
    return open_date, None, "Open"


# ---------------------------------------------------------------------------------------------
# Pupils: characteristics
# ---------------------------------------------------------------------------------------------


@dataclass
class _Traits:
    """Characteristics of an LA's pupils, one array entry per pupil."""

    school: np.ndarray
    year_group: np.ndarray
    male: np.ndarray
    birth_day: np.ndarray  # days after 1 September of the birth cohort's start
    cohort_days: np.ndarray
    age_in_year: np.ndarray  # 1 oldest (born 1 Sept) .. 0 youngest (31 Aug)
    ethnicity: np.ndarray
    eal: np.ndarray
    first_language: np.ndarray
    fsm: np.ndarray
    disadvantaged: np.ndarray
    looked_after: np.ndarray
    child_in_need: np.ndarray
    sen: np.ndarray  # 0 none, 1 K, 2 E
    special: np.ndarray
    ability: np.ndarray


def _cohort_start(year: int, year_group: int) -> dt.date:
    """1 September that starts the birth cohort of a year group in an assessment year."""
    return dob_window(year, int(_YEAR_OFFSET[year_group]))[0]


def _draw_traits(rng: np.random.Generator, plan: _Plan, profile: _LaProfile, year: int) -> _Traits:
    """Draw every pupil's characteristics and latent attainment for an LA."""
    n_groups = len(YEAR_GROUPS)
    flat = plan.counts.ravel()
    school = np.repeat(np.repeat(np.arange(plan.kind.size), n_groups), flat)
    year_group = np.repeat(np.tile(np.arange(n_groups), plan.kind.size), flat)
    n = school.size

    male = rng.random(n) < 0.51
    cohort_days = np.array(
        [(_cohort_start(year + 1, g) - _cohort_start(year, g)).days for g in range(n_groups)]
    )[year_group]
    u_birth = rng.random(n)
    birth_day = np.floor(u_birth * cohort_days).astype(np.int64)
    # PVI settings report only funded Reception-age children, born 1 April to 31 August
    # (EYFSP return guide, 2024; formats.md section 2.1): the same draw, squeezed into that window.
    pvi = plan.kind[school] == PVI
    april = np.array(
        [(dt.date(_cohort_start(year, g).year + 1, 4, 1) - _cohort_start(year, g)).days
         for g in range(n_groups)]
    )[year_group]
    birth_day = np.where(
        pvi, april + np.floor(u_birth * (cohort_days - april)).astype(np.int64), birth_day
    )
    age_in_year = 1.0 - birth_day / (cohort_days - 1)

    shares = np.empty((plan.kind.size, len(ETHNICITIES)))
    shares[:, 0] = plan.white_british
    shares[:, 1:] = (1.0 - plan.white_british)[:, None] * profile.other_mix[None, :]
    cumulative = np.cumsum(shares, axis=1)
    ethnicity = np.minimum(
        (rng.random(n)[:, None] > cumulative[school]).sum(axis=1), len(ETHNICITIES) - 1
    )
    eal = rng.random(n) < _ETHNIC_TRAITS[ethnicity, 1]
    believed = rng.random(n) < 0.02
    first_language = np.where(eal, np.where(believed, 3, 1), np.where(believed, 2, 0))

    special = plan.kind[school] == SPECIAL
    fsm_logit = _FSM_BASE + plan.deprivation[school] + _ETHNIC_TRAITS[ethnicity, 2] + 0.6 * special
    fsm = rng.random(n) < _expit(fsm_logit)
    looked_after = rng.random(n) < np.where(fsm, 0.012, 0.004)
    extra = rng.random(n) < _expit(-2.75 + 0.5 * plan.deprivation[school])
    disadvantaged = fsm | looked_after | extra
    child_in_need = looked_after | (rng.random(n) < np.where(fsm, 0.075, 0.015))

    # Boys, FSM and looked-after children are more often identified with SEN; EAL less so early.
    factor = (
        np.where(male, 1.4, 0.58)
        * np.where(fsm, 1.7, 0.77)
        * np.where(looked_after, 2.5, 1.0)
        * np.where(eal & (year_group <= _Y2), 0.75, 1.0)
    )
    p_e = np.minimum(_SEN_E[year_group] * factor, 0.5)
    p_k = np.minimum(_SEN_K[year_group] * factor, 0.6)
    p_e = np.where(special, 0.97, np.where(plan.kind[school] == PVI, 0.01, p_e))
    p_k = np.where(special, 0.03, np.where(plan.kind[school] == PVI, 0.05, p_k))
    u = rng.random(n)
    sen = np.where(u < p_e, 2, np.where(u < p_e + p_k, 1, 0)).astype(np.int8)

    ability = (
        profile.effect
        + plan.effect[school]
        + _ABILITY["dis"] * disadvantaged
        + _ABILITY["fsm"] * fsm
        + _ABILITY["lac"] * looked_after
        + _ABILITY["cin"] * child_in_need
        + _ABILITY["K"] * (sen == 1)
        + _ABILITY["E"] * (sen == 2)
        + _ETHNIC_TRAITS[ethnicity, 3]
        + rng.normal(0.0, _ABILITY_NOISE, size=n)
    )
    return _Traits(
        school,
        year_group,
        male,
        birth_day,
        cohort_days,
        age_in_year,
        ethnicity,
        eal,
        first_language,
        fsm,
        disadvantaged,
        looked_after,
        child_in_need,
        sen,
        special,
        ability,
    )


def _latent(rng: np.random.Generator, measure: str, t: _Traits, ix: np.ndarray) -> np.ndarray:
    """A measure's latent score for the pupils at positions `ix`."""
    boys, age, eal, noise = _MEASURES[measure]
    return (
        t.ability[ix]
        + boys * t.male[ix]
        + age * (t.age_in_year[ix] - 0.5)
        + eal * t.eal[ix]
        + rng.normal(0.0, noise, size=ix.size)
    )


# ---------------------------------------------------------------------------------------------
# Pupils: codes (drawn from characteristics, never from attainment, so calibration is simple)
# ---------------------------------------------------------------------------------------------


def _random_codes(
    rng: np.random.Generator, n: int, shares: dict[int, np.ndarray | float]
) -> np.ndarray:
    """Code index per pupil (-1 none) given per-pupil probabilities of each code."""
    u = rng.random(n)
    out = np.full(n, -1, dtype=np.int64)
    low = np.zeros(n)
    for code, p in shares.items():
        high = low + p
        out[(u >= low) & (u < high) & (out < 0)] = code
        low = high
    return out


def _sen_rate(t: _Traits, ix: np.ndarray, special_e: float, e: float, k: float) -> np.ndarray:
    """Per-pupil probability that depends on SEN status and special school."""
    sen = t.sen[ix]
    return np.where(sen == 2, np.where(t.special[ix], special_e, e), np.where(sen == 1, k, 0.0))


def _eyfsp_absent(rng: np.random.Generator, t: _Traits, ix: np.ndarray) -> np.ndarray:
    """True where the whole profile is A (unable to assess)."""
    return rng.random(ix.size) < 0.002 + _sen_rate(t, ix, 0.05, 0.03, 0.003)


def _phonics_codes(rng: np.random.Generator, t: _Traits, ix: np.ndarray) -> np.ndarray:
    """Phonics check codes (A, D, L, Q by index) for pupils who took no check."""
    return _random_codes(
        rng,
        ix.size,
        {0: 0.006, 1: _sen_rate(t, ix, 0.55, 0.25, 0.01), 2: 0.003, 3: 0.0005},
    )


def _mtc_codes(rng: np.random.Generator, t: _Traits, ix: np.ndarray) -> np.ndarray:
    """MTC codes (A, B, J, L, U, Z, X, H, Q by index) for pupils with no score."""
    return _random_codes(
        rng,
        ix.size,
        {
            0: 0.012,
            1: _sen_rate(t, ix, 0.6, 0.35, 0.01),
            2: 0.002,
            3: 0.002,
            4: _sen_rate(t, ix, 0.1, 0.05, 0.005),
            5: 0.0005,
            6: 0.001,
            7: 0.0002,
            8: 0.0003,
        },
    )


def _ks2_test_codes(
    rng: np.random.Generator, t: _Traits, ix: np.ndarray, below: np.ndarray
) -> np.ndarray:
    """KS2 test codes (A, B, U by index); `below` marks pupils working below the tests."""
    codes = _random_codes(rng, ix.size, {0: 0.006, 2: _sen_rate(t, ix, 0.05, 0.02, 0.002)})
    codes[below] = 1
    return codes


# ---------------------------------------------------------------------------------------------
# Calibration against a fixed reference population
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scale:
    """Maps a latent score to an ordered category by its rank in a reference population."""

    quantiles: np.ndarray  # reference latents at the ranks of _RANK_GRID
    cumulative: np.ndarray  # cumulative share of each category, lowest first, ending at 1

    @classmethod
    def of(cls, sample: np.ndarray, cumulative: np.ndarray) -> _Scale:
        """A scale from the latents of the reference pupils who were assessed."""
        return cls(np.quantile(sample, _RANK_GRID), cumulative)

    def rank(self, y: np.ndarray) -> np.ndarray:
        """Share of the reference population below each latent value."""
        # Why a quantile grid: interpolating is far faster than searching 100k+ sorted values.
        return np.interp(y, self.quantiles, _RANK_GRID)

    def category(self, y: np.ndarray) -> np.ndarray:
        """Category index of each latent value."""
        cat = np.searchsorted(self.cumulative, self.rank(y), side="right")
        return np.minimum(cat, self.cumulative.size - 1)


@dataclass(frozen=True)
class _Calibration:
    elg_cut: np.ndarray
    phonics_y1: _Scale
    phonics_retake: _Scale
    ks1: dict[str, _Scale]
    ks1_sci: _Scale
    mtc: _Scale
    ks2_wr: _Scale
    ks2_sci: _Scale
    ks2_tests: dict[str, tuple[_Scale, np.ndarray, np.ndarray]]
    att8: tuple[float, float, float]


@dataclass
class _Draws:
    """Latents and codes for one LA's pupils, by year group (positions in `ix`)."""

    ix: list[np.ndarray]
    eyfsp: np.ndarray
    elg_items: np.ndarray
    eyfsp_absent: np.ndarray
    ph1: np.ndarray  # Year 1 pupils
    ph1_codes: np.ndarray
    y2_ph1: np.ndarray  # Year 2 pupils, their Year 1 check
    y2_ph1_codes: np.ndarray
    y2_retake: np.ndarray
    y2_retake_codes: np.ndarray
    ks1: dict[str, np.ndarray]
    ks1_absent: np.ndarray
    mtc: np.ndarray
    mtc_codes: np.ndarray
    ks2: dict[str, np.ndarray]
    ks2_below: np.ndarray
    ks2_codes: dict[str, np.ndarray]
    ks2_ta_absent: np.ndarray
    att8: np.ndarray


def _draw_latents(rng: np.random.Generator, t: _Traits) -> _Draws:
    """Latent scores and non-score codes for every measure of an LA's pupils."""
    ix = [np.flatnonzero(t.year_group == g) for g in range(len(YEAR_GROUPS))]
    r, y1, y2, y4, y6, y11 = ix
    eyfsp = _latent(rng, "eyfsp", t, r)
    elg_items = eyfsp[:, None] + rng.normal(0.0, _ELG_ITEM_NOISE, size=(r.size, 17))
    y2_ph1 = _latent(rng, "ph1", t, y2)
    y2_ph1_codes = _phonics_codes(rng, t, y2)
    retake_codes = _phonics_codes(rng, t, y2)
    # Pupils disapplied in Year 1 are mostly disapplied again.
    again = (y2_ph1_codes == 1) & (rng.random(y2.size) < 0.85)
    retake_codes[again] = 1
    below = rng.random(y6.size) < _sen_rate(t, y6, 0.8, 0.45, 0.03)
    return _Draws(
        ix=ix,
        eyfsp=eyfsp,
        elg_items=elg_items,
        eyfsp_absent=_eyfsp_absent(rng, t, r),
        ph1=_latent(rng, "ph1", t, y1),
        ph1_codes=_phonics_codes(rng, t, y1),
        y2_ph1=y2_ph1,
        y2_ph1_codes=y2_ph1_codes,
        y2_retake=y2_ph1 + rng.normal(0.0, _RETAKE_NOISE, size=y2.size),
        y2_retake_codes=retake_codes,
        ks1={m: _latent(rng, m, t, y2) for m in ("ks1_re", "ks1_wr", "ks1_mat", "ks1_sci")},
        ks1_absent=rng.random(y2.size) < 0.003,
        mtc=_latent(rng, "mtc", t, y4),
        mtc_codes=_mtc_codes(rng, t, y4),
        ks2={
            m: _latent(rng, m, t, y6)
            for m in ("ks2_read", "ks2_wr", "ks2_mat", "ks2_gps", "ks2_sci")
        },
        ks2_below=below,
        ks2_codes={m: _ks2_test_codes(rng, t, y6, below) for m in _KS2_TESTS},
        ks2_ta_absent=rng.random(y6.size) < 0.002,
        att8=_latent(rng, "att8", t, y11),
    )


def _shares_to_cumulative(
    shares_high_first: dict[str, float], order_low_first: list[str], assessed: float
) -> np.ndarray:
    """Cumulative shares (lowest category first) among assessed pupils from overall shares."""
    probs = np.array([shares_high_first.get(c, 0.0) for c in order_low_first]) / assessed
    probs[0] = 1.0 - probs[1:].sum()  # the lowest category takes the rest
    cumulative = np.cumsum(probs)
    cumulative[-1] = 1.0
    return cumulative


def _phonics_cumulative(met: float, retake: bool) -> np.ndarray:
    """Cumulative distribution of marks 0..40 among pupils who took the check."""
    marks = np.arange(_MAX_MARK + 1)
    if retake:
        below = np.exp(-((marks - 27.0) ** 2) / (2 * 6.0**2))
        above = np.maximum(0.1, 1.0 - (marks - _PASS_MARK) * 0.1)
    else:
        below = 0.25 + marks / (_PASS_MARK - 1.0)
        # The shape of the marks from the pass mark to full marks (nine marks).
        above = np.array([1.6, 0.9, 0.9, 1.0, 1.05, 1.15, 1.25, 1.3, 1.2])
        above = np.concatenate([np.zeros(_PASS_MARK), above])
    # Schools round up marks just below the threshold less often than chance would say.
    below[_PASS_MARK - 3 : _PASS_MARK] *= [0.9, 0.7, 0.4]
    below[_PASS_MARK:] = 0.0
    above[:_PASS_MARK] = 0.0
    pmf = below / below.sum() * (1.0 - met) + above / above.sum() * met
    cumulative = np.cumsum(pmf)
    cumulative[-1] = 1.0
    return cumulative


def _mtc_cumulative() -> np.ndarray:
    """Cumulative distribution of MTC scores 0..25 with the published mean and full-marks share."""
    scores = np.arange(_MTC_MAX)

    def mean_for(ratio: float) -> float:
        weights = ratio ** (_MTC_MAX - 1 - scores)
        below = weights / weights.sum() * (1.0 - _MTC_FULL)
        return float((below * scores).sum() + _MTC_FULL * _MTC_MAX)

    lo, hi = 0.01, 0.999
    for _ in range(60):  # bisection: the mean falls as the ratio grows
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mean_for(mid) > _MTC_MEAN else (lo, mid)
    weights = lo ** (_MTC_MAX - 1 - scores)
    pmf = np.append(weights / weights.sum() * (1.0 - _MTC_FULL), _MTC_FULL)
    cumulative = np.cumsum(pmf)
    cumulative[-1] = 1.0
    return cumulative


@cache
def _calibration() -> _Calibration:
    """Thresholds and scales from a fixed reference population (independent of any world)."""
    parts: list[_Draws] = []
    for replicate in range(_REFERENCE_REPLICATES):
        for code in current_english_la_codes():
            rng = _la_rng(_REFERENCE_SEED + replicate, code)
            profile = _la_profile(rng, code)
            plan = _plan_schools(rng, _REFERENCE_PRIMARIES, profile)
            t = _draw_traits(rng, plan, profile, _REFERENCE_YEAR)
            parts.append(_draw_latents(rng, t))

    def cat(get: Callable[[_Draws], np.ndarray]) -> np.ndarray:
        return np.concatenate([get(p) for p in parts])

    # EYFSP: each ELG has its own cut among assessed children.
    items = cat(lambda p: p.elg_items)
    absent = cat(lambda p: p.eyfsp_absent)
    assessed = 1.0 - absent.mean()
    elg_cut = np.array(
        [np.quantile(items[~absent, j], 1.0 - _ELG_EXPECTED[j] / assessed) for j in range(17)]
    )

    # Phonics Year 1.
    y1 = cat(lambda p: p.ph1)
    y1_codes = cat(lambda p: p.ph1_codes)
    scored = y1_codes < 0
    met_share = _PHONICS_Y1_MET / scored.mean()
    phonics_y1 = _Scale.of(y1[scored], _phonics_cumulative(met_share, retake=False))
    # Phonics retakes: enough of the Year 2 pupils due a retake meet it to reach the by-Y2 rate.
    y2_first = cat(lambda p: p.y2_ph1)
    y2_first_codes = cat(lambda p: p.y2_ph1_codes)
    first_mark = phonics_y1.category(y2_first)
    met_first = (y2_first_codes < 0) & (first_mark >= _PASS_MARK)
    due = ~met_first
    retake = cat(lambda p: p.y2_retake)
    retake_scored = due & (cat(lambda p: p.y2_retake_codes) < 0)
    needed = (_PHONICS_BY_Y2_MET - met_first.mean()) * y2_first.size
    retake_met = min(max(needed / retake_scored.sum(), 0.05), 0.95)
    phonics_retake = _Scale.of(retake[retake_scored], _phonics_cumulative(retake_met, retake=True))

    # KS1 teacher assessment.
    ks1_absent = cat(lambda p: p.ks1_absent)
    ks1_assessed = 1.0 - ks1_absent.mean()
    ks1 = {}
    for measure, shares in _KS1_SHARES.items():
        y = cat(lambda p, m=measure: p.ks1[m])[~ks1_absent]
        order = ["PK1", "PK2", "PK3", "PK4", "WTS", "EXS", "GDS"]
        ks1[measure] = _Scale.of(y, _shares_to_cumulative(shares, order, ks1_assessed))
    y = cat(lambda p: p.ks1["ks1_sci"])[~ks1_absent]
    ks1_sci = _Scale.of(
        y, _shares_to_cumulative({"EXS": _KS1_SCI_EXS}, ["HNM", "EXS"], ks1_assessed)
    )

    # MTC: published figures are among pupils with a score.
    mtc_y = cat(lambda p: p.mtc)[cat(lambda p: p.mtc_codes) < 0]
    mtc = _Scale.of(mtc_y, _mtc_cumulative())

    # KS2 teacher assessment.
    ta_absent = cat(lambda p: p.ks2_ta_absent)
    ta_assessed = 1.0 - ta_absent.mean()
    wr_order = ["PK1", "PK2", "PK3", "PK4", "PK5", "PK6", "WTS", "EXS", "GDS"]
    ks2_wr = _Scale.of(
        cat(lambda p: p.ks2["ks2_wr"])[~ta_absent],
        _shares_to_cumulative(_KS2_WR_SHARES, wr_order, ta_assessed),
    )
    ks2_sci = _Scale.of(
        cat(lambda p: p.ks2["ks2_sci"])[~ta_absent],
        _shares_to_cumulative({"EXS": _KS2_SCI_EXS}, ["HNM", "EXS"], ta_assessed),
    )

    # KS2 tests: a piecewise-linear map from rank to scaled score.
    ks2_tests = {}
    for measure, (expected, high, top) in _KS2_TESTS.items():
        tested = cat(lambda p, m=measure: p.ks2_codes[m]) < 0
        share = tested.mean()
        y = _Scale.of(cat(lambda p, m=measure: p.ks2[m])[tested], np.ones(1))
        u_exp = 1.0 - expected / share
        knots_u = np.array([0.0, 0.3 * u_exp, u_exp, 1.0 - high / share, 1.0 - top / share, 1.0])
        ks2 = dataset("ks2").thresholds
        knots_s = np.array([_KS2_MIN, 92.0, ks2["expected"], ks2["high"], _KS2_MAX, _KS2_MAX + 1])
        ks2_tests[measure] = (y, knots_u, knots_s)

    # Attainment 8: standardise, then shift so the mean after clipping is the published one.
    a8 = cat(lambda p: p.att8)
    centre, spread = float(a8.mean()), float(a8.std())
    raw = np.clip(_ATT8_MEAN + _ATT8_SD * (a8 - centre) / spread, 0.0, 90.0)
    offset = _ATT8_MEAN - float(raw.mean())
    return _Calibration(
        elg_cut,
        phonics_y1,
        phonics_retake,
        ks1,
        ks1_sci,
        mtc,
        ks2_wr,
        ks2_sci,
        ks2_tests,
        (centre, spread, offset),
    )


# ---------------------------------------------------------------------------------------------
# Building one LA
# ---------------------------------------------------------------------------------------------


def _build_la(
    seed: int, la_code: str, n_primary: int, year: int
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """Schools and pupil arrays of one LA, from the LA's own random stream."""
    rng = _la_rng(seed, la_code)
    profile = _la_profile(rng, la_code)
    plan = _plan_schools(rng, n_primary, profile)
    schools = _describe_schools(rng, la_code, plan, profile, year)
    t = _draw_traits(rng, plan, profile, year)
    draws = _draw_latents(rng, t)
    arrays = _pupil_arrays(rng, la_code, year, plan, schools, t)
    arrays.update(_outcome_arrays(t.school.size, draws, _calibration()))
    return schools, arrays


def _pupil_arrays(
    rng: np.random.Generator,
    la_code: str,
    year: int,
    plan: _Plan,
    schools: pl.DataFrame,
    t: _Traits,
) -> dict[str, np.ndarray]:
    """Identity and characteristics of an LA's pupils as compact arrays (see _PUPIL_COLUMNS)."""
    n = t.school.size
    body, check = _upns(rng, la_code, year, plan, schools, t)
    surname, forename, middle = _pupil_names(rng, t)
    starts = np.array([np.datetime64(_cohort_start(year, g), "D") for g in range(len(YEAR_GROUPS))])
    dob = starts[t.year_group] + t.birth_day.astype("timedelta64[D]")
    summer_start = np.array(
        [np.datetime64(dt.date(year - 5 - int(o), 4, 1), "D") for o in _YEAR_OFFSET]
    )
    return {
        "pupil_id": int(la_code) * 10_000_000 + np.arange(n, dtype=np.int64),
        "_upn_body": body,
        "_upn_check": check,
        "surname": surname,
        "forename": forename,
        "middle_names": middle,
        "dob": dob,
        "sex": np.where(t.male, 0, 1).astype(np.int8),
        "ethnicity": t.ethnicity.astype(np.int8),
        "first_language": t.first_language.astype(np.int8),
        "fsm": t.fsm,
        "disadvantaged": t.disadvantaged,
        "sen": t.sen.astype(np.int8),
        "looked_after": t.looked_after,
        "child_in_need": t.child_in_need,
        "_school": t.school.astype(np.int32),
        "ncyear": t.year_group.astype(np.int8),
        "summer_born": dob >= summer_start[t.year_group],
    }


def _outcome_arrays(n: int, d: _Draws, cal: _Calibration) -> dict[str, np.ndarray]:
    """Outcome arrays for all pupils; -1 (NaN for floats) outside a measure's year group."""
    r, y1, y2, y4, y6, y11 = d.ix
    out: dict[str, np.ndarray] = {}

    # EYFSP: 1 emerging, 2 expected, A for the whole profile.
    expected = d.elg_items > cal.elg_cut[None, :]
    expected[d.eyfsp_absent] = False
    for j, component in enumerate(ELG_COMPONENTS):
        values = np.where(d.eyfsp_absent, 2, expected[:, j])
        out[f"elg_{component}"] = _fill(n, r, values)
    out["gld"] = _fill(n, r, expected[:, :12].all(axis=1))
    out["elgs_expected"] = _fill(n, r, expected.sum(axis=1))

    # Phonics: Year 1 check; Year 2 pupils carry their Year 1 mark and, if due, a retake.
    y1_mark = cal.phonics_y1.category(d.ph1)
    y1_scored = d.ph1_codes < 0
    y2_first_mark = cal.phonics_y1.category(d.y2_ph1)
    y2_first_scored = d.y2_ph1_codes < 0
    due = ~(y2_first_scored & (y2_first_mark >= _PASS_MARK))
    retake_mark = cal.phonics_retake.category(d.y2_retake)
    retake_scored = due & (d.y2_retake_codes < 0)
    retake_coded = due & ~retake_scored
    out["phonics_mark"] = _fill(n, y1, np.where(y1_scored, y1_mark, -1))
    out["phonics_mark"][y2] = np.where(retake_scored, retake_mark, -1)
    out["phonics_code"] = _fill(n, y1, d.ph1_codes)
    out["phonics_code"][y2] = np.where(retake_coded, d.y2_retake_codes, -1)
    out["phonics_met"] = _fill(n, y1, y1_scored & (y1_mark >= _PASS_MARK))
    out["phonics_met"][y2] = np.where(due, retake_scored & (retake_mark >= _PASS_MARK), -1)
    out["phonics_y1_mark"] = _fill(n, y2, np.where(y2_first_scored, y2_first_mark, -1))
    out["phonics_y1_code"] = _fill(n, y2, d.y2_ph1_codes)

    # KS1 teacher assessment (Year 2): categories PK1..GDS, A when absent.
    absent = len(KS1_TA.categories) - 1
    for measure, column in (("ks1_re", "ks1_RE"), ("ks1_wr", "ks1_WR"), ("ks1_mat", "ks1_MAT")):
        values = np.where(d.ks1_absent, absent, cal.ks1[measure].category(d.ks1[measure]))
        out[column] = _fill(n, y2, values)
    out["ks1_SCI"] = _fill(n, y2, np.where(d.ks1_absent, 2, cal.ks1_sci.category(d.ks1["ks1_sci"])))

    # MTC (Year 4).
    mtc_scored = d.mtc_codes < 0
    out["mtc_score"] = _fill(n, y4, np.where(mtc_scored, cal.mtc.category(d.mtc), -1))
    out["mtc_code"] = _fill(n, y4, d.mtc_codes)

    # KS2 (Year 6): writing and science TA, then the tests.
    wr = np.where(d.ks2_ta_absent, 9, cal.ks2_wr.category(d.ks2["ks2_wr"]))
    out["ks2ta_WR"] = _fill(n, y6, wr)
    sci = np.where(d.ks2_ta_absent, 2, cal.ks2_sci.category(d.ks2["ks2_sci"]))
    out["ks2ta_SCI"] = _fill(n, y6, sci)
    for measure, column in (("ks2_read", "read"), ("ks2_mat", "mat"), ("ks2_gps", "gps")):
        scale, knots_u, knots_s = cal.ks2_tests[measure]
        u = scale.rank(d.ks2[measure])
        score = np.clip(np.floor(np.interp(u, knots_u, knots_s)), _KS2_MIN, _KS2_MAX)
        tested = d.ks2_codes[measure] < 0
        out[f"ks2_{column}_score"] = _fill(n, y6, np.where(tested, score, -1))
        out[f"ks2_{column}_code"] = _fill(n, y6, d.ks2_codes[measure])

    # KS4 (Year 11): Attainment 8 in half points.
    centre, spread, offset = cal.att8
    a8 = np.clip(_ATT8_MEAN + _ATT8_SD * (d.att8 - centre) / spread + offset, 0.0, 90.0)
    att8 = np.full(n, np.nan, dtype=np.float32)
    att8[y11] = np.round(a8 * 2.0) / 2.0
    out["ks4_att8"] = att8
    return out


# How each pupil column is stored while building ("enum" and "int" columns use -1 for null).
_PUPIL_COLUMNS: tuple[tuple[str, str, pl.DataType | None], ...] = (
    ("pupil_id", "plain", pl.Int64()),
    ("upn", "upn", None),
    ("surname", "surname", None),
    ("forename", "forename", None),
    ("middle_names", "middle", None),
    ("dob", "plain", pl.Date()),
    ("sex", "enum", SEX),
    ("ethnicity", "enum", ETHNICITY),
    ("first_language", "enum", FIRST_LANGUAGE),
    ("fsm", "plain", pl.Boolean()),
    ("disadvantaged", "plain", pl.Boolean()),
    ("sen", "enum", SEN),
    ("looked_after", "plain", pl.Boolean()),
    ("child_in_need", "plain", pl.Boolean()),
    ("la_code", "school", None),
    ("urn", "school", None),
    ("laestab", "school", None),
    ("ncyear", "enum", NCYEAR),
    ("summer_born", "plain", pl.Boolean()),
    *((f"elg_{c}", "enum", ELG_RESULT) for c in ELG_COMPONENTS),
    ("gld", "bool", None),
    ("elgs_expected", "int", pl.Int8()),
    ("phonics_mark", "int", pl.Int8()),
    ("phonics_code", "enum", PHONICS_CODE),
    ("phonics_met", "bool", None),
    ("phonics_y1_mark", "int", pl.Int8()),
    ("phonics_y1_code", "enum", PHONICS_CODE),
    ("ks1_RE", "enum", KS1_TA),
    ("ks1_WR", "enum", KS1_TA),
    ("ks1_MAT", "enum", KS1_TA),
    ("ks1_SCI", "enum", SCIENCE_TA),
    ("mtc_score", "int", pl.Int8()),
    ("mtc_code", "enum", MTC_CODE),
    ("ks2ta_WR", "enum", KS2_WRITING_TA),
    ("ks2ta_SCI", "enum", SCIENCE_TA),
    ("ks2_read_score", "int", pl.Int16()),
    ("ks2_read_code", "enum", KS2_TEST_CODE),
    ("ks2_mat_score", "int", pl.Int16()),
    ("ks2_mat_code", "enum", KS2_TEST_CODE),
    ("ks2_gps_score", "int", pl.Int16()),
    ("ks2_gps_code", "enum", KS2_TEST_CODE),
    ("ks4_att8", "plain", pl.Float64()),
)
PUPIL_COLUMNS: tuple[str, ...] = tuple(name for name, _, _ in _PUPIL_COLUMNS)


def _assemble_pupils(parts: list[dict[str, np.ndarray]], schools: pl.DataFrame) -> pl.DataFrame:
    """One pupils frame from every LA's arrays (emptied as they are used, to save memory)."""
    surnames, forenames = _name_tables()

    def take(key: str) -> np.ndarray:
        return np.concatenate([part.pop(key) for part in parts])

    # Pupils point at schools by position within their LA; make that a position in `schools`.
    offsets = np.cumsum([0] + [int(part["_n_schools"][0]) for part in parts[:-1]])
    school = pl.Series(
        np.concatenate(
            [part.pop("_school") + off for part, off in zip(parts, offsets, strict=True)]
        )
    ).cast(pl.UInt32)
    columns: list[pl.Series] = []
    for name, how, dtype in _PUPIL_COLUMNS:
        if how == "plain":
            series = pl.Series(name, take(name), nan_to_null=True).cast(dtype)
        elif how == "school":
            series = schools[name].gather(school).alias(name)
        elif how == "upn":
            letters = pl.Series(list(CHECK_ALPHABET)).gather(take("_upn_check").astype(np.uint32))
            digits = pl.Series(take("_upn_body")).cast(pl.String).str.zfill(12)
            series = pl.select(pl.concat_str([letters, digits]).alias(name)).to_series()
        elif how in ("surname", "forename", "middle"):
            table = surnames if how == "surname" else forenames
            series = table.values.gather(_null_below_zero(take(name)).cast(pl.UInt32))
            series = series.fill_null("").alias(name)
        else:
            values = _null_below_zero(take(name))
            if how == "enum":
                assert isinstance(dtype, pl.Enum)
                categories = pl.Series(dtype.categories, dtype=dtype)
                series = categories.gather(values.cast(pl.UInt32)).alias(name)
            elif how == "bool":
                series = values.cast(pl.Boolean).alias(name)
            else:
                series = values.cast(dtype).alias(name)
        columns.append(series)
    return pl.DataFrame(columns)


def _null_below_zero(values: np.ndarray) -> pl.Series:
    """A series of `values` with negative entries as null."""
    series = pl.Series(values)
    return pl.select(pl.when(series >= 0).then(series)).to_series()


def _fill(n: int, ix: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A length-n int8 array of -1 holding `values` at positions `ix`."""
    out = np.full(n, -1, dtype=np.int8)
    out[ix] = values
    return out


# ---------------------------------------------------------------------------------------------
# UPNs and names
# ---------------------------------------------------------------------------------------------


def _upns(
    rng: np.random.Generator,
    la_code: str,
    year: int,
    plan: _Plan,
    schools: pl.DataFrame,
    t: _Traits,
) -> tuple[np.ndarray, np.ndarray]:
    """Permanent UPNs (12-digit body, check-letter index) issued where each pupil first joined."""
    kind = plan.kind
    n = t.school.size
    issuers = np.flatnonzero(np.isin(kind, [PRIMARY, INFANT]) & ~plan.closed)
    weights = plan.forms[issuers] / plan.forms[issuers].sum()
    other = issuers[rng.choice(issuers.size, size=n, p=weights)]
    own_kind = kind[t.school]
    own_share = np.select(
        [
            np.isin(own_kind, [PRIMARY, INFANT]) & (t.year_group == _YR),
            np.isin(own_kind, [PRIMARY, INFANT]) & (t.year_group <= _Y2),
            own_kind == PRIMARY,
            own_kind == JUNIOR,
            (own_kind == SPECIAL) & (t.year_group == _YR),
        ],
        [0.97, 0.9, 0.82, 0.88, 1.0],
        0.0,
    )
    # Juniors' pupils were first registered at the partner infant school.
    own_issuer = np.where(own_kind == JUNIOR, plan.partner[t.school], t.school)
    issuer = np.where(rng.random(n) < own_share, own_issuer, other)

    # Serials count up within (issuing school, year group); one year group per year of issue.
    key = issuer * len(YEAR_GROUPS) + t.year_group
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    serial = np.empty(n, dtype=np.int64)
    serial[order] = np.arange(n) - run_start + 1
    if n and serial.max() > 999:
        raise ValueError(f"more than 999 UPNs for one school and year in LA {la_code}")

    estab = schools["estab"].to_list()
    year_of_issue = year - 1 - _YEAR_OFFSET
    # The check sum is linear in the characters: add the parts of school, year and serial.
    school_check = np.zeros(kind.size, dtype=np.int64)
    for s in np.unique(issuer):
        school_check[s] = CHECK_ALPHABET.index(make_upn(la_code, estab[s], 0, 0)[0])
    year_check = np.array(
        [CHECK_ALPHABET.index(make_upn("000", "0000", int(y), 0)[0]) for y in year_of_issue]
    )
    prefix_check = school_check[:, None] + year_check[None, :]
    check = (prefix_check[issuer, t.year_group] + _serial_check_values()[serial]) % 23
    estab_number = np.array([int(e) if e else 0 for e in estab], dtype=np.int64)
    body = (
        int(la_code) * 1_000_000_000
        + estab_number[issuer] * 100_000
        + (year_of_issue[t.year_group] % 100) * 1_000
        + serial
    )
    return body, check.astype(np.int8)


@dataclass(frozen=True)
class _NameTable:
    values: pl.Series
    cumulative: np.ndarray  # key + cumulative weight within the key, so keys do not overlap
    last: np.ndarray

    def draw(self, key: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Name positions for each (key, uniform draw) pair, weighted to the top of each list."""
        index = np.searchsorted(self.cumulative, key + u, side="right")
        return np.minimum(index, self.last[key]).astype(np.int32)


def _name_table(lists: list[tuple[str, ...]]) -> _NameTable:
    """A table of name lists addressed by list number."""
    values: list[str] = []
    cumulative: list[np.ndarray] = []
    last: list[int] = []
    for key, names in enumerate(lists):
        weights = 1.0 / (np.arange(len(names)) + 4.0) ** 0.9
        cum = np.cumsum(weights) / weights.sum()
        cum[-1] = 1.0
        cumulative.append(key + cum)
        values.extend(names)
        last.append(len(values) - 1)
    return _NameTable(pl.Series(values), np.concatenate(cumulative), np.array(last))


@cache
def _name_tables() -> tuple[_NameTable, _NameTable]:
    """Surname table keyed by name group; forename table keyed by sex * groups + group."""
    surnames = _name_table([nm.SURNAMES[g] for g in nm.NAME_GROUPS])
    forenames = _name_table(
        [nm.FORENAMES_MALE[g] for g in nm.NAME_GROUPS]
        + [nm.FORENAMES_FEMALE[g] for g in nm.NAME_GROUPS]
    )
    return surnames, forenames


def _pupil_names(rng: np.random.Generator, t: _Traits) -> tuple[np.ndarray, ...]:
    """Positions of surname, forename and middle name (-1: none) in the name tables."""
    surnames, forenames = _name_tables()
    n = t.school.size
    group = _NAME_GROUP_OF_ETHNICITY[t.ethnicity]
    # Mixed-heritage pupils sometimes carry a name from the other side of the family.
    mixed = np.isin(t.ethnicity, [ETHNICITIES.index(c) for c in ("MWAS", "MWBA", "MOTH")])
    swap = mixed & (rng.random(n) < 0.3)
    alternative = np.where(t.ethnicity == ETHNICITIES.index("MWAS"), 2, 3)
    surname_group = np.where(swap, alternative, group)
    sex_key = np.where(t.male, 0, len(nm.NAME_GROUPS))
    surname = surnames.draw(surname_group, rng.random(n))
    forename = forenames.draw(sex_key + group, rng.random(n))
    middle = forenames.draw(sex_key + group, rng.random(n))
    for _ in range(2):  # a middle name that repeats the forename is drawn again
        same = middle == forename
        middle[same] = forenames.draw(sex_key[same] + group[same], rng.random(int(same.sum())))
    middle[rng.random(n) >= 0.55] = -1
    return surname, forename, middle


# ---------------------------------------------------------------------------------------------
# Expected cohorts
# ---------------------------------------------------------------------------------------------


def _expected_cohorts(pupils: pl.DataFrame, year: int) -> pl.DataFrame:
    """Pupils each school should submit per collection (PHONICS_Y2: those due a retake)."""
    due = (
        pl.col("phonics_y1_mark").is_null() | (pl.col("phonics_y1_mark") < _PASS_MARK)
    ) & (pl.col("ncyear") == "2")
    counts = (
        pupils.lazy()
        .with_columns(pl.coalesce("laestab", "urn").alias("LAESTAB"))
        .group_by("LAESTAB", "ncyear")
        .agg(pl.len().alias("n"), due.sum().alias("due"))
        .collect()
    )
    # Every cohort code counts its NC year's pupils; PHONICS_Y2 only those due a retake.
    parts = [
        counts.filter(pl.col("ncyear") == cohort_ncyear(code)).select(
            "LAESTAB",
            pl.lit(code).alias("Collection"),
            pl.col("due" if code == "PHONICS_Y2" else "n").alias("ExpectedCount"),
        )
        for code in COHORT_CODES
    ]
    order = {c: i for i, c in enumerate(COHORT_CODES)}
    return (
        pl.concat(parts)
        .with_columns(
            pl.lit(academic_year_label(year)).alias("AcademicYear"),
            pl.col("ExpectedCount").cast(pl.Int64),
            pl.col("Collection").replace_strict(order, return_dtype=pl.Int8).alias("_order"),
        )
        .sort("LAESTAB", "_order")
        .select("LAESTAB", "Collection", "AcademicYear", "ExpectedCount")
    )


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _expit(x: np.ndarray | float) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x)))
