"""The synthetic world's social care returns: SSDA903 tables and a CIN census per LA; no Django.

Written from the same world as the census (its pupils' `looked_after` and `child_in_need`
traits, drawn at rates near the national ones, methods.md section 8), in the layouts Keystage
reads (formats.md 5.1 and 5.2), deterministically for a seed. Besides the pupils, each return
holds children no school census has (under-fives and young people beyond school age), and
children who left care or whose case closed before the reference dates. Planted: UPNs missing
(a UN reason code instead) and UPNs mistyped, listed with each child's true pupil and the
characteristics Keystage should derive in truth/socialcare_truth.csv.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl

from keystage.years import census_reference_date

MISSING_UPN_RATE = 0.04
WRONG_UPN_RATE = 0.02
# Children in a return who are not pupils of the census, per pupil in it.
NOT_AT_SCHOOL_RATE = 0.25
# Pupils not looked after on the reference date who were looked after earlier in the year.
LEFT_CARE_RATE = 0.002
CPP_SHARE = 0.12
TRUTH_SCHEMA = {"dataset": pl.String, "la": pl.String, "child_id": pl.String,
                "true_upn": pl.String, "upn_sent": pl.String, "variant": pl.String,
                "cla": pl.String, "cin": pl.String, "cpp": pl.String}


@dataclass
class SocialCareFiles:
    """What write_socialcare wrote: per LA, the 903 folder and the CIN census; the truth."""

    ssda903: dict[str, Path] = field(default_factory=dict)
    cin: dict[str, Path] = field(default_factory=dict)
    truth: pl.DataFrame | None = None


def _d903(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _wrong(upn: str, rng: random.Random) -> str:
    """The UPN with two neighbouring digits swapped (a keying slip)."""
    digits = list(upn)
    for _ in range(10):
        i = rng.randrange(4, len(digits) - 2)
        if digits[i] != digits[i + 1]:
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
            break
    return "".join(digits)


def _sent(upn: str, rng: random.Random) -> tuple[str, str]:
    draw = rng.random()
    if draw < MISSING_UPN_RATE:
        return "", "missing_upn"
    if draw < MISSING_UPN_RATE + WRONG_UPN_RATE:
        return _wrong(upn, rng), "wrong_upn"
    return upn, "same"


def write_socialcare(world, folder: Path, *, seed: int = 1) -> SocialCareFiles:
    """The SSDA903 tables (folder/socialcare/LLL_903/) and CIN census (LLL_cin.xml) per LA."""
    year = world.spec.year
    reference = census_reference_date(year)
    year_end = date(year, 3, 31)
    out = Path(folder) / "socialcare"
    out.mkdir(parents=True, exist_ok=True)
    files = SocialCareFiles()
    truth = []
    pupils = world.pupils.select("la_code", "upn", "dob", "sex", "ethnicity", "looked_after",
                                 "child_in_need").sort("la_code", "upn")
    for (la,), group in pupils.group_by(["la_code"], maintain_order=True):
        rng = random.Random(f"{seed}:socialcare:{la}")
        header, episodes, reviews, missing = [], [], [], []
        children = []
        serials = iter(range(1, 10**6))

        def child_id(prefix: str, la: str = la, serials=serials) -> str:
            return f"{prefix}{la}{next(serials):06d}"

        for p in group.iter_rows(named=True):
            looked_after = p["looked_after"]
            left_care = not looked_after and rng.random() < LEFT_CARE_RATE
            if looked_after or left_care:
                cid = child_id("L")
                upn, variant = _sent(p["upn"], rng)
                start = reference - timedelta(days=rng.randrange(40, 1500))
                end = (reference + timedelta(days=rng.randrange(1, 60)) if looked_after
                       and rng.random() < 0.1 else None)
                if left_care:
                    start = reference - timedelta(days=rng.randrange(200, 600))
                    end = reference - timedelta(days=rng.randrange(0, 150))
                header.append([cid, "1" if p["sex"] == "M" else "2", _d903(p["dob"]),
                               p["ethnicity"] or "NOBT", upn or f"UN{rng.randrange(2, 8)}", "",
                               ""])
                middle = start + (reference - start) / 2 if rng.random() < 0.3 else None
                if middle is not None:
                    episodes.append([cid, _d903(start), "S", "C2", "N1", "U1", "PR1",
                                     _d903(middle), "X1", "PLACE", "", "", ""])
                    start = middle
                episodes.append([cid, _d903(start), "P" if middle else "S", "C2", "N1",
                                 rng.choice(["U1", "U4", "K2", "R1"]), "PR1",
                                 _d903(end) if end else "", "E11" if end else "", "", "",
                                 "", ""])
                for k in range(rng.randrange(0, 3)):
                    reviews.append([cid, _d903(p["dob"]),
                                    _d903(start + timedelta(days=20 + 90 * k)), "PN1"])
                if rng.random() < 0.05:
                    gone = start + timedelta(days=rng.randrange(1, 30))
                    missing.append([cid, _d903(p["dob"]), "M", _d903(gone),
                                    _d903(gone + timedelta(days=2))])
                truth.append(["ssda903", la, cid, p["upn"], upn, variant,
                              "Y" if looked_after else "N", "", ""])
            if p["child_in_need"]:
                cid = child_id("C")
                upn, variant = _sent(p["upn"], rng)
                referral = year_end - timedelta(days=rng.randrange(1, 900))
                closed = rng.random() < 0.2
                closure = (referral + timedelta(days=rng.randrange(1, 60))) if closed else None
                if closure is not None and closure >= year_end:
                    closure = year_end - timedelta(days=1)
                    referral = min(referral, closure - timedelta(days=1))
                cpp = rng.random() < CPP_SHARE
                cpp_start = referral + timedelta(days=rng.randrange(5, 40)) if cpp else None
                if cpp_start is not None and cpp_start > year_end:
                    cpp_start = year_end
                children.append({"id": cid, "upn": upn, "unknown": "" if upn else "UN3",
                                 "dob": p["dob"], "sex": "1" if p["sex"] == "M" else "2",
                                 "ethnicity": p["ethnicity"] or "NOBT",
                                 "referral": referral, "closure": closure,
                                 "cpp_start": cpp_start})
                in_need = closure is None or closure >= year_end
                # Plans here have no end date, so any plan is one "at any time in the year".
                in_plan = cpp_start is not None
                truth.append(["cin", la, cid, p["upn"], upn, variant, "",
                              "Y" if in_need else "N", "Y" if in_plan else "N"])
        # Children no school census holds: babies and young people past school age.
        for dataset, rows in (("ssda903", header), ("cin", children)):
            extra = int(len(rows) * NOT_AT_SCHOOL_RATE)
            for _ in range(extra):
                young = rng.random() < 0.6
                dob = (reference - timedelta(days=rng.randrange(30, 4 * 365)) if young
                       else reference - timedelta(days=rng.randrange(17 * 365, 18 * 365)))
                sex = rng.choice("12")
                if dataset == "ssda903":
                    cid = child_id("L")
                    start = max(dob, reference - timedelta(days=rng.randrange(10, 800)))
                    header.append([cid, sex, _d903(dob), "WBRI", "UN1" if young else "UN5",
                                   "", ""])
                    episodes.append([cid, _d903(start), "S", "C2", "N1", "U1", "PR1", "", "",
                                     "", "", "", ""])
                else:
                    cid = child_id("C")
                    children.append({"id": cid, "upn": "", "unknown": "UN1" if young else "UN5",
                                     "dob": dob, "sex": sex, "ethnicity": "WBRI",
                                     "referral": reference - timedelta(days=20),
                                     "closure": None, "cpp_start": None})
                truth.append([dataset, la, cid, "", "", "not_at_school", "", "", ""])
        folder_903 = out / f"{la}_903"
        folder_903.mkdir(exist_ok=True)
        for name, columns, rows in (
            ("header.csv", "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB", header),
            ("episodes.csv", "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,"
             "REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN", episodes),
            ("reviews.csv", "CHILD,DOB,REVIEW,REVIEW_CODE", reviews),
            ("missing.csv", "CHILD,DOB,MISSING,MIS_START,MIS_END", missing),
        ):
            lines = [columns] + [",".join(row) for row in rows]
            (folder_903 / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.ssda903[la] = folder_903
        cin_path = out / f"{la}_cin.xml"
        cin_path.write_bytes(_cin_xml(la, year, children))
        files.cin[la] = cin_path
    files.truth = pl.DataFrame(truth, schema=TRUTH_SCHEMA, orient="row")
    truth_folder = Path(folder) / "truth"
    truth_folder.mkdir(exist_ok=True)
    files.truth.write_csv(truth_folder / "socialcare_truth.csv")
    return files


def _el(name: str, value) -> str:
    return "" if value in (None, "") else f"<{name}>{escape(str(value))}</{name}>"


def _cin_xml(la: str, year: int, children: list[dict]) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<Message><Header><CollectionDetails>'
             f"<Collection>CIN</Collection><Year>{year}</Year>"
             f"<ReferenceDate>{year}-03-31</ReferenceDate></CollectionDetails><Source>"
             f"<SourceLevel>L</SourceLevel><LEA>{la}</LEA><SoftwareCode>SYNTHCMS</SoftwareCode>"
             "<Release>1.0</Release><SerialNo>001</SerialNo>"
             f"<DateTime>{year}-04-20T09:00:00</DateTime></Source></Header><Children>\n"]
    for c in children:
        plan = ""
        if c["cpp_start"] is not None:
            plan = ("<ChildProtectionPlans>" + _el("CPPstartDate", c["cpp_start"])
                    + "<InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse>"
                    "<LatestCategoryOfAbuse>NEG</LatestCategoryOfAbuse>"
                    "<NumberOfPreviousCPP>0</NumberOfPreviousCPP></ChildProtectionPlans>")
        parts.append(
            "<Child><ChildIdentifiers>" + _el("LAchildID", c["id"]) + _el("UPN", c["upn"])
            + _el("UPNunknown", c["unknown"]) + _el("PersonBirthDate", c["dob"])
            + _el("GenderCurrent", c["sex"]) + "</ChildIdentifiers><ChildCharacteristics>"
            + _el("Ethnicity", c["ethnicity"]) + "</ChildCharacteristics><CINdetails>"
            + _el("CINreferralDate", c["referral"]) + "<ReferralSource>1A</ReferralSource>"
            "<PrimaryNeedCode>N1</PrimaryNeedCode>" + _el("CINclosureDate", c["closure"])
            + _el("ReasonForClosure", "RC1" if c["closure"] else "")
            + "<ReferralNFA>false</ReferralNFA><Assessments>"
            + _el("AssessmentActualStartDate", c["referral"] + timedelta(days=1))
            + "</Assessments>" + plan + "</CINdetails></Child>\n")
    parts.append("</Children></Message>\n")
    return "".join(parts).encode()
