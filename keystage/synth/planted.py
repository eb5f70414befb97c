"""Synthetic pupils and records with planted identity variants, and the truth; no Django.

`population(n, seed)` makes known pupils (with UPNs) as an LA's earlier data would hold them;
`plant_variants(pupils, seed, rate)` makes one record per pupil as a later file would send it,
a share of them changed as real files change pupils (a new UPN with or without the old one as
a former UPN, no UPN, a typo in a name, one half of a double-barrelled surname, forename and
surname swapped, day and month of birth transposed), plus records of children the LA does not
know yet, twins of known pupils among them. The truth says which pupil each record is.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl

from keystage.formats.upn import make_upn
from keystage.synth.names import FORENAMES_FEMALE, FORENAMES_MALE, NAME_GROUPS, SURNAMES

VARIANTS = ("same", "new_upn_with_former", "new_upn_no_former", "no_upn", "surname_typo",
            "forename_typo", "surname_half", "names_swapped", "day_month_swapped")
PUPIL_SCHEMA = {"pupil_id": pl.Int64, "upn": pl.String, "surname": pl.String,
                "forename": pl.String, "dob": pl.Date, "sex": pl.String}
RECORD_SCHEMA = {"record_id": pl.Int64, "upn": pl.String, "former_upns": pl.String,
                 "surname": pl.String, "forename": pl.String, "dob": pl.Date, "sex": pl.String}
TRUTH_SCHEMA = {"record_id": pl.Int64, "pupil_id": pl.Int64, "variant": pl.String}


def _name(rng: random.Random, sex: str) -> tuple[str, str]:
    group = rng.choice(NAME_GROUPS)
    forenames = (FORENAMES_MALE if sex == "M" else FORENAMES_FEMALE)[group]
    surnames = SURNAMES[group]
    # Common names far more often than rare ones, as in a real LA.
    surname = surnames[min(int(rng.expovariate(1 / 12)), len(surnames) - 1)]
    forename = forenames[min(int(rng.expovariate(1 / 10)), len(forenames) - 1)]
    if rng.random() < 0.04:
        surname = f"{surname}-{rng.choice(surnames)}"
    return surname, forename


def population(n: int, *, seed: int, la: str = "999", first_year: int = 2015) -> pl.DataFrame:
    """n known pupils of one LA, born over seven school years, with permanent UPNs."""
    rng = random.Random(seed)
    rows = []
    start = date(first_year, 9, 1)
    for i in range(n):
        sex = rng.choice("MF")
        surname, forename = _name(rng, sex)
        dob = start + timedelta(days=rng.randrange(7 * 365))
        upn = make_upn(la, f"{2000 + i // 999 % 999:04d}", dob.year + 5, i % 999 + 1)
        rows.append({"pupil_id": i + 1, "upn": upn, "surname": surname, "forename": forename,
                     "dob": dob, "sex": sex})
    return pl.DataFrame(rows, schema=PUPIL_SCHEMA)


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text + "e"
    i = rng.randrange(1, len(text) - 1)
    kind = rng.choice(("swap", "drop", "double", "change"))
    if kind == "swap":
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == "drop":
        return text[:i] + text[i + 1:]
    if kind == "double":
        return text[:i] + text[i] + text[i:]
    letter = rng.choice("aeiou" if text[i] not in "aeiou" else "rstnl")
    return text[:i] + letter + text[i + 1:]


def plant_variants(pupils: pl.DataFrame, *, seed: int, rate: float = 0.2,
                   new_children: float = 0.05, la: str = "999"
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(records, truth): one record per pupil, `rate` of them changed; some new children."""
    rng = random.Random(seed)
    records, truth = [], []
    serial = 0
    for p in pupils.iter_rows(named=True):
        serial += 1
        variant = "same" if rng.random() >= rate else rng.choice(VARIANTS[1:])
        upn, former, surname, forename, dob = p["upn"], "", p["surname"], p["forename"], p["dob"]
        new_upn = make_upn(la, "8888", 20 + serial // 999 % 80, serial % 999 + 1)
        if variant == "new_upn_with_former":
            upn, former = new_upn, p["upn"]
        elif variant == "new_upn_no_former":
            upn = new_upn
        elif variant == "no_upn":
            upn = ""
        elif variant == "surname_typo":
            upn, surname = "", _typo(rng, surname)
        elif variant == "forename_typo":
            upn, forename = "", _typo(rng, forename)
        elif variant == "surname_half":
            upn = ""
            if "-" in surname:
                surname = rng.choice(surname.split("-"))
            else:
                surname = f"{surname}-{rng.choice(SURNAMES['english'])}"
        elif variant == "names_swapped":
            upn, surname, forename = "", forename, surname
        elif variant == "day_month_swapped":
            upn = ""
            if dob.day <= 12 and dob.day != dob.month:
                dob = date(dob.year, dob.day, dob.month)
            else:
                variant = "no_upn"
        records.append({"record_id": serial, "upn": upn, "former_upns": former,
                        "surname": surname, "forename": forename, "dob": dob, "sex": p["sex"]})
        truth.append({"record_id": serial, "pupil_id": p["pupil_id"], "variant": variant})
    known = pupils.to_dicts()
    for _ in range(int(len(known) * new_children)):
        serial += 1
        twin = rng.random() < 0.3
        sex = rng.choice("MF")
        surname, forename = _name(rng, sex)
        dob = date(2015, 9, 1) + timedelta(days=rng.randrange(7 * 365))
        if twin:
            sibling = rng.choice(known)
            surname, dob = sibling["surname"], sibling["dob"]
            while forename == sibling["forename"]:
                surname_, forename = _name(rng, sex)
        records.append({"record_id": serial, "upn": make_upn(la, "7777", 21, serial % 999 + 1)
                        if rng.random() < 0.5 else "", "former_upns": "", "surname": surname,
                        "forename": forename, "dob": dob, "sex": sex})
        truth.append({"record_id": serial, "pupil_id": None,
                      "variant": "twin" if twin else "new_child"})
    return (pl.DataFrame(records, schema=RECORD_SCHEMA),
            pl.DataFrame(truth, schema=TRUTH_SCHEMA))
