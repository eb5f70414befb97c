"""`keystage report` against figures worked out independently from the synthetic world's truth
(issue 12, "done when"): every primary measure of the registry, for each LA, each school and the
emerging national level, for `all` and every group value of `--by group`, recomputed here in plain
Python from the truth files `keystage synth` writes and methods.md 11.1 and 11.2."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from keystage.cli import main

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections

LAS = ("330", "331")
YEAR = 2026
# The primary datasets (methods.md 11.2); KS4 (11.3) is left out: the truth holds no KS4 grades.
DATASETS = ("eyfsp", "phonics", "ks1", "ks2ta", "ks2", "mtc")
GROUPS = ("sex", "disadvantaged", "fsm", "fsm6", "pp", "eal", "sen", "ethnicity_major",
          "summer_born", "cla", "cin")
AVERAGES = {"avg_elgs", "rea_avg", "mat_avg", "gps_avg", "mtc_avg"}
TA_VALID = {"GDS", "EXS", "WTS", "PK1", "PK2", "PK3", "PK4", "PK5", "PK6", "EM", "A", "D", "Q"}
TA_MET = {"EXS", "GDS"}
KS2_TEST_CODES = {"A", "B", "D", "U", "Q", "H", "N"}
MTC_CODES = {"A", "B", "U", "NAA", "H", "Q"}
PHONICS_CODES = {"A", "D", "Q"}
ELGS = [f"elg_E{n:02d}" for n in range(1, 18)]
MAJOR = {"W": "WHIT", "M": "MIXD", "A": "ASIA", "B": "BLAC"}
MAJOR_CODES = {"CHNE": "CHIN", "OOTH": "AOEG", "REFU": "UNCL", "NOBT": "UNCL", "": "UNCL"}


def _read(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _mark(text: str, top: int) -> int | None:
    """A mark or score written as digits, within 0..top; else None (a code or nothing)."""
    return int(text) if text.strip().isdigit() and int(text) <= top else None


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def characteristics(pupil: dict, census: bool, care: dict) -> dict:
    """The groups of one true pupil (methods.md 11.1): census-derived values only for a pupil
    on a school's spring census; a social-care flag from the child's return (both loaded)."""
    truth = {k: pupil[k] == "true" for k in ("fsm", "disadvantaged", "looked_after")}
    month = int(pupil["dob"][5:7])
    cla = care.get(("ssda903", pupil["upn"]), "N")
    groups = {"sex": pupil["sex"], "summer_born": _yn(5 <= month <= 8), "cla": cla,
              "cin": care.get(("cin", pupil["upn"]), "N"),
              **dict.fromkeys(("disadvantaged", "fsm", "fsm6", "pp", "eal", "sen",
                               "ethnicity_major"), "unknown")}
    if cla == "Y":
        groups["disadvantaged"] = "Y"
    if census:
        code = pupil["ethnicity"]
        # The census writer: an FSM period covering the reference date for `fsm`, one ended
        # within six years for the other disadvantaged pupils; pupil premium `Y` (reason FSM6
        # or CLA) for every disadvantaged, FSM or looked-after pupil; nobody else listed.
        disadvantaged = truth["fsm"] or truth["disadvantaged"] or truth["looked_after"]
        groups.update(
            fsm=_yn(truth["fsm"]), fsm6=_yn(truth["fsm"] or truth["disadvantaged"]),
            pp="Y" if disadvantaged else "unknown",
            disadvantaged=_yn(disadvantaged or cla == "Y"),
            eal={"ENG": "N", "ENB": "N", "OTH": "Y", "OTB": "Y"}.get(pupil["first_language"],
                                                                   "unknown"),
            sen=pupil["sen"] or "N",
            ethnicity_major=MAJOR_CODES.get(code) or MAJOR.get(code[:1], "UNCL"))
    return groups


def outcomes(pupil: dict) -> list[tuple[str, str, bool, float]]:
    """(dataset, measure, counted, value) of one true pupil's own results, from methods.md 11.2
    (KS2 tests apart: they come from the results file's rows)."""
    out = []
    year = pupil["ncyear"]
    if year == "R":
        elgs = [pupil[e] for e in ELGS]
        recorded = all(v in ("1", "2", "A") for v in elgs)
        at_expected = [v == "2" for v in elgs]
        out += [("eyfsp", "gld", recorded, float(all(at_expected[:12]) and "A" not in elgs)),
                ("eyfsp", "all_elgs", recorded, float(all(at_expected))),
                ("eyfsp", "avg_elgs", recorded, float(sum(at_expected)))]
    if year == "1":
        mark = _mark(pupil["phonics_mark"], 40)
        valid = mark is not None or pupil["phonics_code"] in PHONICS_CODES
        out.append(("phonics", "y1_met", valid, float(mark is not None and mark >= 32)))
    if year == "2":
        # Met by the end of Year 2: the Year 1 check (last year's file) or this year's retake.
        first, retake = _mark(pupil["phonics_y1_mark"], 40), _mark(pupil["phonics_mark"], 40)
        valid = (first is not None or pupil["phonics_y1_code"] in PHONICS_CODES
                 or retake is not None or pupil["phonics_code"] in PHONICS_CODES)
        met = (first or 0) >= 32 or (retake or 0) >= 32
        out.append(("phonics", "y2_met_by_end", valid, float(met)))
        for measure, column in (("rea_exs", "ks1_RE"), ("wri_exs", "ks1_WR"),
                                ("mat_exs", "ks1_MAT"), ("sci_exs", "ks1_SCI")):
            value = pupil[column]
            valid = value in TA_VALID | ({"HNM"} if column == "ks1_SCI" else set())
            out.append(("ks1", measure, valid, float(value in TA_MET)))
    if year == "4":
        score = _mark(pupil["mtc_score"], 25)
        out += [("mtc", "mtc_avg", score is not None, float(score or 0)),
                ("mtc", "mtc_full", score is not None or pupil["mtc_code"] in MTC_CODES,
                 float(score == 25))]
    if year == "6":
        writing, science = pupil["ks2ta_WR"], pupil["ks2ta_SCI"]
        out += [("ks2ta", "wri_exs", writing in TA_VALID, float(writing in TA_MET)),
                ("ks2ta", "wri_gds", writing in TA_VALID, float(writing == "GDS")),
                ("ks2ta", "sci_exs", science in TA_VALID | {"HNM"}, float(science in TA_MET))]
    return out


def ks2_outcomes(row: dict) -> list[tuple[str, str, bool, float]]:
    """The KS2 results file's measures of one row (methods.md 11.2)."""
    out = []
    scores, valid = {}, {}
    for name, column in (("rea", "READSCORE"), ("mat", "MATSCORE"), ("gps", "GPSSCORE")):
        text = row[column].strip().upper()
        scores[name] = int(text) if text.isdigit() else None
        valid[name] = scores[name] is not None or text in KS2_TEST_CODES
        score = scores[name] or 0
        out += [("ks2", f"{name}_avg", scores[name] is not None, float(score)),
                ("ks2", f"{name}_exs", valid[name], float(score >= 100)),
                ("ks2", f"{name}_hs", valid[name], float(score >= 110))]
    writing = row["WRITTAOUTCOME"].strip().upper()
    counted = valid["rea"] and valid["mat"] and writing in TA_VALID
    read, maths = scores["rea"] or 0, scores["mat"] or 0
    out += [("ks2", "rwm_exs", counted, float(read >= 100 and maths >= 100 and writing in TA_MET)),
            ("ks2", "rwm_hs", counted, float(read >= 110 and maths >= 110 and writing == "GDS"))]
    return out


def expected_cells(folder: Path) -> dict:
    """(dataset, measure, level, la, laestab, group, value) -> [pupils, total], from the truth."""
    schools = {s["urn"]: s for s in _read(folder / "truth" / "schools.csv")}
    care = {}
    for child in _read(folder / "truth" / "socialcare_truth.csv"):
        flag = child["cla"] if child["dataset"] == "ssda903" else child["cin"]
        # A return names its children by UPN only: a child planted with a missing or mistyped
        # UPN is no pupil's, so the flag does not reach the pupil (test_season's way).
        if child["variant"] != "same":
            continue
        if care.get((child["dataset"], child["true_upn"])) != "Y":
            care[(child["dataset"], child["true_upn"])] = flag
    cells: dict = defaultdict(lambda: [0, 0.0])

    def add(dataset, la, laestab, groups, counted, measure, value):
        if not counted:
            return
        for level, la_code, school in (("la", la, ""), ("school", la, laestab),
                                       ("national", "", "")):
            for group, group_value in (("all", "all"), *groups.items()):
                if level == "school" and group != "all":
                    continue  # `--by school` gives each school's `all` row only
                key = (dataset, measure, level, la_code, school, group, group_value)
                cells[key][0] += 1
                cells[key][1] += value

    pupils = _read(folder / "truth" / "pupils.csv")
    by_upn = {}
    for pupil in pupils:
        school = schools[pupil["urn"]]
        on_census = bool(school["laestab"]) and school["status"].startswith("Open")
        groups = characteristics(pupil, on_census, care)
        by_upn[pupil["upn"]] = groups
        # A PVI setting's results are reported under its EY URN.
        laestab = school["laestab"] or school["urn"]
        for dataset, measure, counted, value in outcomes(pupil):
            add(dataset, pupil["la_code"], laestab, groups, counted, measure, value)
    # The KS2 results file holds each Year 6 pupil on a census once (some with their identity
    # details changed: context_planted.csv), then children no census holds.
    rows = _read(folder / "ks2_results.csv")
    planted = [p for p in _read(folder / "truth" / "context_planted.csv")
               if p["dataset"] == "ks2"]
    strangers = sum(p["true_upn"] == "" for p in planted)
    year6 = [p for p in pupils if p["ncyear"] == "6" and schools[p["urn"]]["laestab"]
             and schools[p["urn"]]["status"].startswith("Open")]
    assert len(rows) == len(year6) + strangers
    for pupil, row in zip(year6 + [None] * strangers, rows, strict=True):
        if pupil is not None:
            groups = by_upn[pupil["upn"]]
        else:
            month = int(row["DOB"][5:7])
            groups = {**dict.fromkeys(GROUPS, "unknown"), "sex": row["SEX"], "cla": "N",
                      "cin": "N", "summer_born": _yn(5 <= month <= 8)}
        for dataset, measure, counted, value in ks2_outcomes(row):
            add(dataset, row["LAESTAB"][:3], row["LAESTAB"], groups, counted, measure, value)
    return cells


def _round(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def expected_row(key: tuple, pupils: int, total: float) -> dict:
    """The `report` row of a cell (design.md layout; suppression of methods.md 11.2)."""
    measure, level = key[1], key[2]
    average = measure in AVERAGES
    hidden = level == "national" and (
        pupils < 5 or (not average and (total < 3 or pupils - total < 3)))
    if hidden:
        return {"pupils": str(pupils), "numerator": "", "value": "", "suppressed": "Y"}
    value = total / pupils if average else 100 * total / pupils
    numerator = total if average and total != int(total) else int(total)
    return {"pupils": str(pupils), "numerator": str(numerator), "value": str(_round(value)),
            "suppressed": "N"}


@pytest.fixture
def season(tmp_path):
    """A two-LA synthetic world with no planted errors, loaded through the command line: the
    register, last year's phonics, the spring census, the CTFs, pupil premium, KS2 results and
    the social-care returns of each LA."""
    folder = tmp_path / "world"
    assert main(["synth", str(folder), "--la", ",".join(LAS), "--schools", "2",
                 "--errors", "0", "--seed", "5"]) == 0
    assert main(["import-gias", str(folder / "gias_establishments.csv")]) == 0
    assert main(["import-gias", str(folder / "pvi_settings.csv")]) == 0
    for la in LAS:
        def own(paths, la=la):
            # A school's files start with its LAESTAB; a PVI setting's name the LA they go to.
            return [str(p) for p in sorted(paths)
                    if p.name.startswith(la) or f"_{la}LLLL_" in p.name]

        assert main(["import", *own((folder / "previous" / "ctf").iterdir()), "--la", la,
                     "--year", str(YEAR - 1), "--yes"]) == 0
        assert main(["import", *own((folder / "census").iterdir()), "--la", la,
                     "--year", str(YEAR), "--yes"]) == 0
        assert main(["import", *own((folder / "ctf").iterdir()), "--la", la,
                     "--year", str(YEAR), "--yes"]) == 0
        for name in ("pupil_premium.csv", "ks2_results.csv"):
            # The files are the whole world's; each LA loads its own schools' rows.
            lines = (folder / name).read_text(encoding="utf-8").splitlines()
            part = tmp_path / la / name
            part.parent.mkdir(exist_ok=True)
            part.write_text("\n".join([lines[0]] + [line for line in lines[1:]
                                                    if line.split(",")[1].startswith(la)])
                            + "\n", encoding="utf-8")
            assert main(["import", str(part), "--la", la, "--year", str(YEAR), "--yes"]) == 0
        care = folder / "socialcare"
        assert main(["import", str(care / f"{la}_903"), str(care / f"{la}_cin.xml"),
                     "--la", la, "--year", str(YEAR), "--yes"]) == 0
    return folder


def _report(tmp_path, dataset: str, la: str, *args: str) -> list[dict]:
    out = tmp_path / f"{dataset}_{la}_{'_'.join(args)}.csv"
    assert main(["report", dataset, "--la", la, "--year", str(YEAR), *args,
                 "--out", str(out)]) == 0
    return _read(out)


def test_report_gives_exactly_the_figures_worked_out_from_the_truth(season, tmp_path):
    """Every cell of every primary measure matches the truth: pupils, numerator, value and
    suppression, for each LA, school and the nation, for all pupils and every group value."""
    expected = expected_cells(season)
    seen, wrong = set(), []
    for dataset in DATASETS:
        for la in LAS:
            for args in (("--by", "school"), ("--by", "group", "--national")):
                for row in _report(tmp_path, dataset, la, *args):
                    key = (dataset, row["measure"], row["level"], row["la"], row["laestab"],
                           row["group"], row["group_value"])
                    seen.add(key)
                    got = {k: row[k] for k in ("pupils", "numerator", "value", "suppressed")}
                    want = expected_row(key, *expected[key]) if key in expected else None
                    if got != want:
                        wrong.append((key, got, want))
    missing = [key for key in expected if key not in seen]
    assert not missing, f"{len(missing)} cells missing from the reports, e.g. {missing[:5]}"
    assert not wrong, f"{len(wrong)} cells differ from the truth, e.g. {wrong[:8]}"
    # Every measure of the six datasets, every level, group and value was checked.
    assert {(k[0], k[1]) for k in seen} >= {(d, m) for d, m, *_ in expected}
    assert {k[2] for k in seen} == {"la", "school", "national"}
    assert {k[5] for k in seen} == {"all", *GROUPS}
    values = {(k[5], k[6]) for k in seen}
    assert {("cla", "Y"), ("cin", "Y"), ("pp", "Y"),
            ("ethnicity_major", "unknown")} <= values
    hidden = {expected_row(k, *expected[k])["suppressed"] for k in seen if k[2] == "national"}
    assert hidden == {"Y", "N"}
