"""The synthetic world's context files: school census XML, pupil premium, KS2, KS4 and KS5 results.

Pure (no Django). Written from the same world as the CTFs, in the layouts Keystage reads
(encodings.md sections 3 and 4), deterministically for a seed. The results files carry planted
identity variants (keystage.synth.planted: changed UPNs with and without the former one, no UPN,
name typos, double-barrelled halves, swapped names, transposed dates) and results for children
the census does not hold, each listed in truth/context_planted.csv.
"""

from __future__ import annotations

import random
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl

from keystage.synth.planted import plant_variants
from keystage.years import census_reference_date

SEN_NEEDS = ("SLCN", "SEMH", "MLD", "ASD", "SPLD", "OTH", "PD", "HI")
# Subjects with their grade offset from the pupil's level (A8 / 10) and how often they are
# taken, calibrated so the file's measures come out near the national ones of 2023
# (methods.md 8: A8 46.2, grade 4+ in English and maths 64.8%, 5+ 45.0%, EBacc entry 39.3%).
KS4_SUBJECTS = (("ENGLANG", -0.45), ("ENGLIT", -0.5), ("MATHS", -0.45), ("COMBSCI", -0.35),
                ("HISTORY", -0.6), ("GEOGRAPHY", -0.4), ("FRENCH", -0.6), ("ART", 0.9))
KS4_TAKEN = {"FRENCH": 0.40, "ART": 0.6}
PLANT_RATE = 0.05


@dataclass
class ContextFiles:
    """What write_context_files wrote."""

    census: list[Path] = field(default_factory=list)
    census_zip: Path | None = None
    pupil_premium: Path | None = None
    ks2: Path | None = None
    ks4: Path | None = None
    ks5: Path | None = None
    planted: pl.DataFrame | None = None


def _el(name: str, value) -> str:
    return "" if value in (None, "") else f"<{name}>{escape(str(value))}</{name}>"


def _leaver_xml(p: dict, reference: date, rng: random.Random) -> str:
    left = reference - timedelta(days=rng.randrange(10, 120))
    return (
        "<PupilNoLongerOnRoll><PupilIdentifiers>" + _el("UPN", p["upn"])
        + _el("Surname", p["surname"]) + _el("Forename", p["forename"]) + _el("Sex", p["sex"])
        + _el("DOB", p["dob"]) + "</PupilIdentifiers><PupilStatus>"
        + _el("EntryDate", date(left.year - 2, 9, 3)) + _el("LeavingDate", left)
        + _el("NCyearLeaving", p["ncyear"]) + "</PupilStatus></PupilNoLongerOnRoll>\n"
    )


def _pupil_xml(p: dict, reference: date, rng: random.Random) -> str:
    periods = ""
    if p["fsm"]:
        start = reference - timedelta(days=rng.randrange(30, 900))
        periods = f"<FSMperiod>{_el('FSMstartDate', start)}<UKcountry>ENG</UKcountry></FSMperiod>"
    elif p["disadvantaged"]:
        start = reference - timedelta(days=rng.randrange(800, 1800))
        end = start + timedelta(days=rng.randrange(60, 500))
        periods = (f"<FSMperiod>{_el('FSMstartDate', start)}{_el('FSMendDate', end)}"
                   "<UKcountry>ENG</UKcountry></FSMperiod>")
    sen = {"K": "K", "E": "E"}.get(str(p["sen"] or ""), "N")
    needs = ""
    if sen != "N":
        first, second = rng.sample(SEN_NEEDS, 2)
        needs = (f"<SENneeds><SENneed><SENtypeRank>1</SENtypeRank><SENtype>{first}</SENtype>"
                 f"</SENneed>" + (f"<SENneed><SENtypeRank>2</SENtypeRank><SENtype>{second}"
                                  "</SENtype></SENneed>" if rng.random() < 0.3 else "")
                 + "</SENneeds>")
    ncyear = str(p["ncyear"])
    # The academic year of a spring census began the September before it.
    entry = date(reference.year - (1 if ncyear == "R" else 2), 9, rng.randrange(1, 10))
    # The autumn term's attendance (its own draws, so the rest of the census is unchanged).
    own = random.Random(f"{p['upn']}:attendance")
    possible = own.randrange(130, 150)
    absent = min(possible, int(own.expovariate(1 / (12 if p["disadvantaged"] else 7))))
    unauthorised = min(absent, int(absent * own.random() * 0.4))
    attendance = ("<Attendance><TermlyAttendance>" + _el("SessionsPossible", possible)
                  + _el("SessionsAuthorised", absent - unauthorised)
                  + _el("SessionsUnauthorised", unauthorised) + "</TermlyAttendance>"
                  "</Attendance>")
    return (
        "<PupilOnRoll><PupilIdentifiers>" + _el("UPN", p["upn"]) + _el("Surname", p["surname"])
        + _el("Forename", p["forename"]) + _el("MiddleNames", p["middle_names"])
        + _el("Sex", p["sex"]) + _el("DOB", p["dob"]) + "</PupilIdentifiers>"
        + "<PupilCharacteristics>" + _el("Ethnicity", p["ethnicity"])
        + (f"<FSMeligibility>{periods}</FSMeligibility>" if periods else "")
        + _el("Language", p["first_language"])
        + _el("AdoptedFromCare", "A" if p["looked_after"] and rng.random() < 0.2 else "")
        + "</PupilCharacteristics><PupilStatus>" + _el("EnrolStatus", p.get("enrol", "C"))
        + _el("EntryDate", entry) + "<PartTime>false</PartTime>" + _el("NCyearActual", ncyear)
        + f"</PupilStatus><SpecialEducationalNeeds><SENprovision>{sen}</SENprovision>{needs}"
        + "</SpecialEducationalNeeds>" + attendance + "</PupilOnRoll>\n"
    )


def census_file(school: dict, pupils: list[dict], *, year: int, term: str = "SPR",
                seed: int = 1, leavers: list[dict] = ()) -> bytes:
    """One school's census return for a term (pupils on roll, and those who left)."""
    reference = census_reference_date(year, term)
    rng = random.Random(f"{seed}:{school['laestab']}:{term}")
    body = "".join(_pupil_xml(p, reference, rng) for p in pupils)
    body += "".join(_leaver_xml(p, reference, rng) for p in leavers)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Message><Header><CollectionDetails>'
        f"<Collection>SC</Collection><Term>{term}</Term><Year>{year}</Year>"
        f"<ReferenceDate>{reference.isoformat()}</ReferenceDate></CollectionDetails><Source>"
        f"<SourceLevel>S</SourceLevel><LEA>{school['la_code']}</LEA>"
        f"<Estab>{school['estab']}</Estab><SoftwareCode>SYNTHMIS</SoftwareCode>"
        "<Release>1.0</Release></Source></Header>\n<School><SchoolCharacteristics>"
        f"{_el('SchoolName', school['name'])}</SchoolCharacteristics></School>\n<Pupils>\n"
        + body + "</Pupils></Message>\n"
    ).encode()


def _on_roll(world) -> pl.DataFrame:
    schools = world.schools.filter(pl.col("status").str.starts_with("Open")
                                   & pl.col("laestab").is_not_null()).select(
        "urn", "la_code", "estab", "laestab", "name")
    return world.pupils.join(schools.select("urn"), on="urn", how="semi")


# Shares of pupils the census writer plants: dual registrations (main at their school,
# subsidiary at another), the same pupil as main at two schools (an error the cleaning rules
# find), and pupils listed as no longer on roll at a school they left.
DUAL_SHARE = 0.004
DOUBLE_MAIN_SHARE = 0.001
LEFT_SHARE = 0.005


def write_census(world, folder: Path, *, term: str = "SPR", seed: int = 1
                 ) -> tuple[list[Path], pl.DataFrame]:
    """One census XML per open school with pupils, in folder/census, and what was planted."""
    out = Path(folder) / "census"
    out.mkdir(parents=True, exist_ok=True)
    pupils = _on_roll(world).with_columns(pl.col("dob").cast(pl.String),
                                          pl.col("ncyear").cast(pl.String),
                                          pl.col("sen").cast(pl.String)).sort("urn", "pupil_id")
    schools = {s["urn"]: s for s in world.schools.iter_rows(named=True)}
    by_school = {urn: group.to_dicts()
                 for (urn,), group in pupils.group_by(["urn"], maintain_order=True)}
    urns = list(by_school)
    rng = random.Random(f"{seed}:census-planted")
    extra: dict[int, list[dict]] = {urn: [] for urn in urns}
    leavers: dict[int, list[dict]] = {urn: [] for urn in urns}
    planted = []
    for position, urn in enumerate(urns if len(urns) > 1 else ()):
        for p in by_school[urn]:
            draw = rng.random()
            # Another school, drawn as rng.choice over the others would draw it (the same
            # random numbers), without building that list for every pupil of a nation.
            pick = rng.randrange(len(urns) - 1)
            other = urns[pick + 1 if pick >= position else pick]
            if draw < DUAL_SHARE:
                p["enrol"] = "M"
                extra[other].append({**p, "enrol": "S"})
                variant = "dual_registration"
            elif draw < DUAL_SHARE + DOUBLE_MAIN_SHARE:
                p["enrol"] = "M"
                extra[other].append({**p, "enrol": "M"})
                variant = "main_registration_twice"
            elif draw < DUAL_SHARE + DOUBLE_MAIN_SHARE + LEFT_SHARE:
                leavers[other].append(p)
                variant = "left_school"
            else:
                continue
            planted.append({"dataset": "census", "upn": p["upn"], "variant": variant,
                            "laestab": schools[other]["laestab"]})
    written = []
    for urn in urns:
        school = schools[urn]
        path = out / f"{school['laestab']}_{term}_{world.spec.year}.xml"
        path.write_bytes(census_file(school, by_school[urn] + extra[urn], year=world.spec.year,
                                     term=term, seed=seed, leavers=leavers[urn]))
        written.append(path)
    return written, pl.DataFrame(planted, schema={"dataset": pl.String, "upn": pl.String,
                                                  "variant": pl.String, "laestab": pl.String})


def _planted(frame: pl.DataFrame, seed: int, dataset: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The results' identity details, a share changed as a results file may change them."""
    known = frame.select(pupil_id=pl.int_range(pl.len()), upn="upn", surname="surname",
                         forename="forename", dob=pl.col("dob").cast(pl.Date), sex="sex")
    records, truth = plant_variants(known, seed=seed, rate=PLANT_RATE, new_children=0.01)
    # The results layouts have no former-UPN column: a changed UPN arrives alone.
    truth = truth.with_columns(dataset=pl.lit(dataset), variant=pl.col("variant").replace(
        "new_upn_with_former", "new_upn_no_former"))
    truth = (truth.join(known.select("pupil_id", true_upn="upn"), on="pupil_id", how="left")
             .join(records.select("record_id", upn_sent="upn"), on="record_id", how="left"))
    return records, truth


def _results_rows(frame: pl.DataFrame, records: pl.DataFrame, truth: pl.DataFrame):
    """Each record with the row of the pupil it was made from (new children: a random one)."""
    rows = frame.to_dicts()
    rng = random.Random(len(rows))
    for record, true in zip(records.iter_rows(named=True), truth.iter_rows(named=True),
                            strict=True):
        source = rows[true["pupil_id"]] if true["pupil_id"] is not None else rng.choice(rows)
        yield record, source


def write_results(world, folder: Path, *, seed: int = 1) -> ContextFiles:
    """Pupil premium, KS2 and KS4 results CSVs for the LA, with planted identity variants."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = ContextFiles()
    pupils = _on_roll(world).with_columns(pl.col("ncyear").cast(pl.String))
    truths = []

    pp = pupils.filter(pl.col("disadvantaged") | pl.col("looked_after") | pl.col("fsm"))
    lines = ["UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON"]
    for p in pp.iter_rows(named=True):
        reason = "CLA" if p["looked_after"] else "FSM6"
        lines.append(f"{p['upn']},{p['laestab']},{p['surname']},{p['forename']},{p['dob']},Y,"
                     f"{reason}")
    files.pupil_premium = folder / "pupil_premium.csv"
    files.pupil_premium.write_text("\n".join(lines) + "\n", encoding="utf-8")

    year6 = pupils.filter(pl.col("ncyear") == "6")
    records, truth = _planted(year6, seed, "ks2")
    truths.append(truth)
    lines = ["UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,READSCORE,READOUTCOME,MATSCORE,MATOUTCOME,"
             "GPSSCORE,GPSOUTCOME,WRITTAOUTCOME,SCITAOUTCOME"]
    for record, p in _results_rows(year6, records, truth):
        def score(value, code):
            return str(value) if value is not None else str(code or "A")

        def outcome(value):
            return "" if value is None else ("AS" if value >= 100 else "NS")

        lines.append(",".join([
            record["upn"], p["laestab"], record["surname"], record["forename"],
            str(record["dob"]), p["sex"],
            score(p["ks2_read_score"], p["ks2_read_code"]), outcome(p["ks2_read_score"]),
            score(p["ks2_mat_score"], p["ks2_mat_code"]), outcome(p["ks2_mat_score"]),
            score(p["ks2_gps_score"], p["ks2_gps_code"]), outcome(p["ks2_gps_score"]),
            str(p["ks2ta_WR"] or ""), str(p["ks2ta_SCI"] or ""),
        ]))
    files.ks2 = folder / "ks2_results.csv"
    files.ks2.write_text("\n".join(lines) + "\n", encoding="utf-8")

    year11 = pupils.filter(pl.col("ncyear") == "11")
    records, truth = _planted(year11, seed + 1, "ks4")
    truths.append(truth)
    rng = random.Random(seed)
    lines = ["UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,QUALTYPE,SUBJECT,GRADE"]
    for record, p in _results_rows(year11, records, truth):
        level = (p["ks4_att8"] or 45.0) / 10
        for subject, offset in KS4_SUBJECTS:
            if subject in KS4_TAKEN and rng.random() >= KS4_TAKEN[subject]:
                continue
            grade = max(0, min(9, round(level + offset + rng.gauss(0, 1.0))))
            text = "U" if grade == 0 else str(grade)
            if subject == "COMBSCI":
                second = max(1, grade - rng.choice((0, 1))) if grade else 0
                text = "U" if grade == 0 else f"{grade}-{second}"
            lines.append(",".join([record["upn"], p["laestab"], record["surname"],
                                   record["forename"], str(record["dob"]), p["sex"], "GCSE",
                                   subject, text]))
    files.ks4 = folder / "ks4_results.csv"
    files.ks4.write_text("\n".join(lines) + "\n", encoding="utf-8")
    files.planted = pl.concat(truths).filter(pl.col("variant") != "same")
    return files


# A level subjects sixth formers take (DfE subject codes) and how often, roughly as entries
# split nationally: maths, psychology, biology, chemistry, history, English literature,
# sociology, business, geography, physics, art and design, economics, computing, PE, politics,
# French; further maths only beside maths.
KS5_SUBJECTS = (("12210", 12), ("14850", 9), ("11010", 8), ("11110", 7), ("14010", 6),
                ("15110", 5), ("14890", 5), ("13210", 5), ("13910", 4), ("11210", 4),
                ("13510", 4), ("14410", 4), ("12610", 3), ("17210", 2), ("14830", 3),
                ("15650", 1))
FURTHER_MATHS = "12330"
KS5_SHARE = 0.45  # of Year 11 pupils who go on to take A levels (more of the higher attainers)


def write_ks5(world, folder: Path, *, seed: int = 1) -> Path:
    """A KS5 results CSV: sixth formers two years on from the world's Year 11 (new UPNs, born
    two years earlier), their KS4 average point score from their Attainment 8, three A levels
    (some four, some two and an AS level) graded around the DfE's national estimate for their
    prior, so value added centres on 0 and attainment follows prior attainment."""
    import numpy as np

    from keystage.formats.upn import make_upn
    from keystage.measures.ks5 import A_LEVEL, AS_LEVEL, POINTS, curves, subject_list

    year = world.spec.year
    known = subject_list(year)
    table = curves(year)
    if table is None:
        held = [y for y in (2025, 2024, 2019) if y <= year] or [2019]
        table = curves(held[0])
    curve = {(q, s): (np.array([r[f"x_{i}"] for i in range(22)]),
                      np.array([r[f"y_{i}"] for i in range(22)]))
             for r in table.iter_rows(named=True) for q, s in [(r["qualification"],
                                                                 r["subject_code"])]}
    rng = np.random.default_rng(seed + 13)
    pupils = _on_roll(world).with_columns(pl.col("ncyear").cast(pl.String)).filter(
        pl.col("ncyear") == "11")
    att8 = pupils["ks4_att8"].fill_null(45.0).to_numpy()
    chance = np.clip((att8 - 30) / 35, 0.02, 0.95) * KS5_SHARE / 0.5
    chosen = pupils.filter(pl.Series(rng.random(pupils.height) < chance))
    subjects = [s for s, _ in KS5_SUBJECTS if (A_LEVEL, s) in curve]
    weights = np.array([w for s, w in KS5_SUBJECTS if (A_LEVEL, s) in curve], dtype=float)
    as_subjects = [s for s in subjects if (AS_LEVEL, s) in curve]
    grades_by_points = {v: g for g, v in POINTS[A_LEVEL].items()}
    as_by_points = {v: g for g, v in POINTS[AS_LEVEL].items()}
    lines = ["UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,QUALCODE,SUBJECTCODE,GRADE,PRIORAPS"]
    serials: dict[str, int] = {}
    names = dict(known.select(pl.concat_str("qualification", "subject"), "name").iter_rows())
    for p, a8 in zip(chosen.iter_rows(named=True),
                     chosen["ks4_att8"].fill_null(45.0).to_list(), strict=True):
        serial = serials[p["laestab"]] = serials.get(p["laestab"], 0) + 1
        dob = date.fromisoformat(str(p["dob"])).replace(day=1) - timedelta(days=365 * 2)
        # Year 13 UPNs were issued the year before they started Reception (as the world's own).
        upn = make_upn(p["laestab"][:3], p["laestab"][3:], (year - 14) % 100, serial % 1000)
        prior = float(np.clip(a8 / 10 * 1.1 + 0.2 + rng.normal(0, 0.35), 1.0, 8.9))
        talent = rng.normal(0, 6)
        n_a = 4 if rng.random() < 0.1 else 2 if rng.random() < 0.08 else 3
        picked = list(rng.choice(subjects, size=n_a, replace=False, p=weights / weights.sum()))
        if "12210" in picked and rng.random() < 0.15 and FURTHER_MATHS not in picked:
            picked[-1] = FURTHER_MATHS if (A_LEVEL, FURTHER_MATHS) in curve else picked[-1]
        entries = [(A_LEVEL, s) for s in picked]
        if n_a == 2:
            extra = [s for s in as_subjects if s not in picked]
            if extra:
                entries.append((AS_LEVEL, str(rng.choice(extra))))
        recorded = "" if rng.random() < 0.03 else f"{prior:.2f}"
        for qualification, subject in entries:
            xs, ys = curve[(qualification, subject)]
            expected = float(np.interp(prior, xs, ys))
            if qualification == A_LEVEL:
                points = int(np.clip(round((expected + talent + rng.normal(0, 9)) / 10) * 10,
                                     0, 60))
                grade = grades_by_points[points]
            else:
                points = int(np.clip(round((expected + talent / 2 + rng.normal(0, 4.5)) / 5)
                                     * 5, 0, 25))
                grade = as_by_points[points]
            assert qualification + subject in names
            lines.append(",".join([upn, p["laestab"], p["surname"], p["forename"],
                                   dob.isoformat(), p["sex"], qualification, subject, grade,
                                   recorded]))
    path = Path(folder) / "ks5_results.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_context_files(world, folder: Path, *, seed: int = 1) -> ContextFiles:
    """Every context file of the world: census per school (and as a ZIP), PP, KS2, KS4, KS5."""
    folder = Path(folder)
    files = write_results(world, folder, seed=seed)
    files.ks5 = write_ks5(world, folder, seed=seed)
    files.census, census_planted = write_census(world, folder, seed=seed)
    files.census_zip = folder / "census_batch.zip"
    with zipfile.ZipFile(files.census_zip, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files.census:
            archive.write(path, arcname=path.name)
    truth = folder / "truth"
    truth.mkdir(exist_ok=True)
    # One truth for every context file: the dataset, the true pupil's UPN (empty for a child
    # the LA does not know), the UPN the file sent, the variant, and the school for census rows.
    files.planted = pl.concat([
        files.planted.select("dataset", "true_upn", "upn_sent", "variant",
                             laestab=pl.lit("")).with_columns(pl.col("true_upn").fill_null("")),
        census_planted.select("dataset", true_upn="upn", upn_sent="upn", variant="variant",
                              laestab="laestab"),
    ])
    files.planted.write_csv(truth / "context_planted.csv")
    return files
