"""The synthetic world's school-to-school transfers: full CTFs for pupils who moved, and for
pupils whose old school did not know where they went. Pure (no Django), deterministic per seed.

- `transfers/sent/`: a share of pupils moved this year from another school of the world (same
  phase, any LA) to the school the census shows them at; their old school sends a full CTF
  addressed to the new one (`LLLEEEE_CTF_LLLEEEE_NNN.xml`, one file per pair of schools).
- `transfers/lost/`: pupils who left with no known destination: most are on another school's
  census (to be found), a fifth of those sent as the old school knew them (a surname typo or
  half of a double-barrelled surname, or, for Reception children who left a school nursery, the
  UPN that nursery gave them before their new school gave them the one the census holds); and
  children who are in no census at all (`XXX`/`XXXX`, and `MMM`/`MMMM` for those who left the
  maintained sector), who must never be found.
- `truth/transfer_truth.csv`: one row per pupil of every file: file, from_laestab, to_laestab,
  upn_sent, surname_sent, forename_sent, dob, true_upn (the world's UPN, empty for a child in no
  census), true_laestab (the school the census shows them at) and variant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl

from keystage.formats.upn import make_upn
from keystage.synth.planted import _name, _typo
from keystage.years import census_reference_date

MOVED_SHARE = 0.01
LOST_SHARE = 0.006
NEVER_SEEN_SHARE = 0.002
CHANGED_SHARE = 0.2
TRUTH_COLUMNS = ("file", "from_laestab", "to_laestab", "upn_sent", "surname_sent",
                 "forename_sent", "dob", "true_upn", "true_laestab", "variant")


@dataclass
class TransferFiles:
    """What write_transfers wrote."""

    sent: list[Path] = field(default_factory=list)
    lost: list[Path] = field(default_factory=list)
    truth: pl.DataFrame | None = None


def _el(name: str, value) -> str:
    return "" if value in (None, "") else f"<{name}>{escape(str(value))}</{name}>"


def full_pupil_xml(p: dict, *, old: dict, rng: random.Random, left: date) -> str:
    """One <Pupil> of a full CTF: identity, basic details, looked after, SEN and FSM history,
    address, contacts, attendance and school history (CTF element names: formats.md 1.3)."""
    entry = date(left.year - 2, 9, rng.randrange(1, 10))
    sen = str(p.get("sen") or "N")
    fsm = (f"<FSMhistory><FSMreviewDate>{left.year - 1}-09-01</FSMreviewDate><FSMinstance>"
           f"{_el('FSMstartDate', entry)}<UKcountry>ENG</UKcountry></FSMinstance></FSMhistory>"
           if p.get("fsm") else "")
    street = rng.choice(("High Street", "Church Lane", "Station Road", "Park Avenue", "Mill Road"))
    _, parent_name = _name(rng, rng.choice("MF"))
    return (
        "<Pupil>" + _el("UPN", p["upn"]) + _el("Surname", p["surname"])
        + _el("Forename", p["forename"]) + _el("DOB", p["dob"]) + _el("Sex", p["sex"])
        + "<BasicDetails>" + _el("FormerUPN", p.get("former_upn")) + _el("NCyearActual",
                                                                          p["ncyear"])
        + _el("Ethnicity", p.get("ethnicity")) + "<Languages><Type><LanguageType>F"
        "</LanguageType>" + _el("Language", p.get("first_language")) + "</Type></Languages>"
        "<EnrolStatus>C</EnrolStatus></BasicDetails>"
        + f"<LookedAfter><InCare>{'true' if p.get('looked_after') else 'false'}</InCare>"
        + (_el("CareAuthority", p.get("la_code")) if p.get("looked_after") else "")
        + "</LookedAfter>"
        + "<SENhistory><SEN>" + _el("StartDate", entry) + _el("SENprovision", sen)
        + "</SEN></SENhistory>" + fsm
        + "<Address><BS7666Address>" + _el("PAON", rng.randrange(1, 200)) + _el("Street", street)
        + _el("Town", "Synthtown") + "</BS7666Address></Address>"
        + "<Contacts><Contact>" + _el("Surname", p["surname"]) + _el("Forename", parent_name)
        + "<Order>1</Order><Responsibility>true</Responsibility></Contact></Contacts>"
        + "<Attendance><YearData>" + _el("Year", left.year - 1)
        + _el("SessionsPossible", rng.randrange(300, 330))
        + _el("SessionsAuthorised", rng.randrange(0, 20))
        + _el("SessionsUnauthorised", rng.randrange(0, 6)) + "</YearData></Attendance>"
        + "<SchoolHistory><School>" + _el("LEA", old["la_code"]) + _el("Estab", old["estab"])
        + _el("SchoolName", old["name"]) + _el("EntryDate", entry) + _el("LeavingDate", left)
        + "</School></SchoolHistory></Pupil>"
    )


def transfer_file(old: dict, dest: tuple[str, str], pupils: list[str], *, left: date,
                  year: int) -> bytes:
    """A whole full CTF from a school to a destination (LEA, Estab)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile><Header>'
        "<DocumentName>Common Transfer File</DocumentName>"
        f"<CTFversion>{(year - 1) % 100}.0</CTFversion>"
        f"<DateTime>{left.isoformat()}T15:30:00</DateTime>"
        "<DocumentQualifier>full</DocumentQualifier><SupplierID>SYNTHMIS</SupplierID>"
        f"<SourceSchool>{_el('LEA', old['la_code'])}{_el('Estab', old['estab'])}"
        f"{_el('URN', old['urn'])}{_el('SchoolName', old['name'])}"
        f"<AcademicYear>{year - 1}</AcademicYear></SourceSchool>"
        f"<DestSchool><LEA>{dest[0]}</LEA><Estab>{dest[1]}</Estab></DestSchool></Header>\n"
        f"<CTFpupilData>\n{chr(10).join(pupils)}\n</CTFpupilData></CTfile>\n"
    ).encode()


def _schools(world) -> pl.DataFrame:
    return world.schools.filter(pl.col("status").str.starts_with("Open")
                                & pl.col("laestab").is_not_null()).select(
        "urn", "la_code", "estab", "laestab", "name", "phase")


def _variant(rng: random.Random, p: dict, old: dict, year: int) -> tuple[dict, str]:
    """The pupil as the old school knew them, and how that differs from the census."""
    if rng.random() >= CHANGED_SHARE:
        return p, "same"
    if str(p["ncyear"]) == "R":
        # A nursery class gave them a UPN; the new school, with no file, gave the census's one.
        serial = int(p["upn"][-3:])
        return {**p, "upn": make_upn(old["la_code"], old["estab"], year - 2, serial)}, "new_upn"
    if "-" in p["surname"] and rng.random() < 0.5:
        return {**p, "surname": rng.choice(p["surname"].split("-"))}, "surname_half"
    return {**p, "surname": _typo(rng, p["surname"])}, "surname_typo"


def write_transfers(world, folder: Path, *, seed: int = 1) -> TransferFiles:
    """Every transfer CTF of the world and its truth, under folder/transfers and folder/truth."""
    folder = Path(folder)
    sent_dir, lost_dir = folder / "transfers" / "sent", folder / "transfers" / "lost"
    sent_dir.mkdir(parents=True, exist_ok=True)
    lost_dir.mkdir(parents=True, exist_ok=True)
    year = world.spec.year
    rng = random.Random(f"{seed}:transfers")
    schools = _schools(world)
    by_urn = {s["urn"]: s for s in schools.iter_rows(named=True)}
    by_phase: dict[str, list[dict]] = {}
    for s in by_urn.values():
        by_phase.setdefault(s["phase"], []).append(s)
    pupils = (world.pupils.join(schools.select("urn"), on="urn", how="semi")
              .with_columns(pl.col("dob").cast(pl.String), pl.col("ncyear").cast(pl.String),
                            pl.col("sen").cast(pl.String)).sort("pupil_id"))
    # Left in the spring term, before the census of the summer term.
    census_day = census_reference_date(year, "SPR")
    moved: dict[tuple[str, str], list[tuple[dict, str]]] = {}
    lost: dict[str, list[tuple[dict, dict, str]]] = {}
    for p in pupils.iter_rows(named=True):
        here = by_urn[p["urn"]]
        others = [s for s in by_phase.get(here["phase"], []) if s["urn"] != here["urn"]]
        if not others:
            continue
        draw = rng.random()
        if draw < MOVED_SHARE and p["ncyear"] != "R":
            old = rng.choice(others)
            moved.setdefault((old["laestab"], here["laestab"]), []).append((p, "same"))
        elif draw < MOVED_SHARE + LOST_SHARE:
            old = rng.choice(others)
            sent, variant = _variant(rng, p, old, year)
            lost.setdefault(old["laestab"], []).append((sent, p, variant))
    truth = []
    files = TransferFiles()
    laestabs = {s["laestab"]: s for s in by_urn.values()}
    for serial, ((old_laestab, new_laestab), group) in enumerate(sorted(moved.items()), 1):
        old, new = laestabs[old_laestab], laestabs[new_laestab]
        left = census_day - timedelta(days=rng.randrange(20, 90))
        name = f"{old_laestab}_CTF_{new_laestab}_{serial:03d}.xml"
        path = sent_dir / name
        path.write_bytes(transfer_file(
            old, (new["la_code"], new["estab"]),
            [full_pupil_xml(p, old=old, rng=rng, left=left) for p, _ in group],
            left=left, year=year))
        files.sent.append(path)
        truth += [(name, old_laestab, new_laestab, p["upn"], p["surname"], p["forename"],
                   p["dob"], p["upn"], new_laestab, variant) for p, variant in group]
    # Children in no census: left for somewhere unknown, or the maintained sector.
    never = max(1, int(pupils.height * NEVER_SEEN_SHARE))
    origins = sorted(laestabs)
    for i in range(never):
        old_laestab = rng.choice(origins)
        sex = rng.choice("MF")
        surname, forename = _name(rng, sex)
        dob = date(year - 11, 9, 1) + timedelta(days=rng.randrange(6 * 365))
        child = {"upn": make_upn(old_laestab[:3], old_laestab[3:], year - 5, 900 + i % 99),
                 "surname": surname, "forename": forename, "dob": dob.isoformat(), "sex": sex,
                 "ncyear": str(max(1, min(6, year - dob.year - 6))), "la_code": old_laestab[:3]}
        lost.setdefault(old_laestab, []).append(
            (child, None, "left_sector" if rng.random() < 0.3 else "not_in_world"))
    for serial, (old_laestab, group) in enumerate(sorted(lost.items()), 1):
        old = laestabs[old_laestab]
        left = census_day - timedelta(days=rng.randrange(20, 90))
        for dest, code, kinds in ((("XXX", "XXXX"), "XXXXXXX", ("same", "new_upn",
                                                                 "surname_half", "surname_typo",
                                                                 "not_in_world")),
                                  (("MMM", "MMMM"), "MMMMMMM", ("left_sector",))):
            chosen = [g for g in group if g[2] in kinds]
            if not chosen:
                continue
            name = f"{old_laestab}_CTF_{code}_{serial:03d}.xml"
            path = lost_dir / name
            path.write_bytes(transfer_file(
                old, dest, [full_pupil_xml(sent, old=old, rng=rng, left=left)
                            for sent, _, _ in chosen], left=left, year=year))
            files.lost.append(path)
            truth += [(name, old_laestab, code, sent["upn"], sent["surname"], sent["forename"],
                       sent["dob"], true["upn"] if true else "",
                       by_urn[true["urn"]]["laestab"] if true else "", variant)
                      for sent, true, variant in chosen]
    files.truth = pl.DataFrame(truth, schema=list(TRUTH_COLUMNS), orient="row")
    (folder / "truth").mkdir(exist_ok=True)
    files.truth.write_csv(folder / "truth" / "transfer_truth.csv")
    return files
