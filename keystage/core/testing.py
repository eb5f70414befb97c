"""Building test data through the real actions, for the tests of every app."""

from __future__ import annotations

from dataclasses import dataclass, field

from keystage.accounts.actions import do_create_user
from keystage.accounts.models import Role, User
from keystage.formats.gias import GIAS_COLUMNS
from keystage.schools.actions import do_add_pvi_setting, do_import_establishments
from keystage.schools.models import Establishment, LocalAuthority

PASSWORD = "correct-horse-battery-staple"

GIAS_HEADER = ",".join(GIAS_COLUMNS)


def gias_csv(rows: list[dict]) -> bytes:
    """A small GIAS extract with the given rows (missing fields take sensible values)."""
    lines = [GIAS_HEADER]
    for row in rows:
        r = {
            "LA (name)": "", "EstablishmentNumber": "",
            "TypeOfEstablishment (name)": "Community school",
            "EstablishmentTypeGroup (name)": "Local authority maintained schools",
            "EstablishmentStatus (name)": "Open", "PhaseOfEducation (name)": "Primary",
            "StatutoryLowAge": "4", "StatutoryHighAge": "11", "OpenDate": "01-09-1990",
            "CloseDate": "", "Postcode": "AB1 2CD", **row,
        }
        lines.append(",".join(_cell(r[c]) for c in GIAS_COLUMNS))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _cell(value) -> str:
    text = str(value)
    return f'"{text}"' if "," in text or '"' in text else text


@dataclass
class LaWorld:
    la: LocalAuthority
    schools: list[Establishment]
    pvi: Establishment
    users: dict[str, User] = field(default_factory=dict)
    # The user of an agency the LA registered (agency users belong to no LA).
    agency_user: User | None = None


@dataclass
class World:
    a: LaWorld
    b: LaWorld
    national: User


def _agency_user(la):
    """An agency the LA registered, and its user."""
    from keystage.transfer.agencies import do_register_agency

    agency = do_register_agency(la, name=f"Health Service {la.code}", kind="health",
                                acting_user=None)
    return do_create_user(f"agency_user_{la.code}", role=Role.AGENCY_USER, agency=agency,
                          email=f"agency.{la.code}@example.org", password=PASSWORD,
                          acting_user=None)


def _la_rows(code: str, name: str, urn_base: int) -> list[dict]:
    return [
        {"URN": str(urn_base + 1), "LA (code)": code, "LA (name)": name,
         "EstablishmentNumber": "2001", "EstablishmentName": f"{name} Primary School"},
        {"URN": str(urn_base + 2), "LA (code)": code, "LA (name)": name,
         "EstablishmentNumber": "2002", "EstablishmentName": f"{name} Infant School",
         "StatutoryHighAge": "7"},
        {"URN": str(urn_base + 3), "LA (code)": code, "LA (name)": name,
         "EstablishmentNumber": "4001", "EstablishmentName": f"{name} Academy",
         "TypeOfEstablishment (name)": "Academy converter",
         "EstablishmentTypeGroup (name)": "Academies", "PhaseOfEducation (name)": "Secondary",
         "StatutoryLowAge": "11", "StatutoryHighAge": "16"},
    ]


def build_test_world() -> World:
    """Two LAs (330, 331) loaded through a GIAS import, a PVI each, and a user of every role."""
    rows = _la_rows("330", "Birmingham", 100000) + _la_rows("331", "Coventry", 110000)
    do_import_establishments(gias_csv(rows), filename="test-gias.csv", acting_user=None)
    parts = []
    for code, pvi_urn in (("330", "512345"), ("331", "612345")):
        la = LocalAuthority.objects.get(code=code)
        pvi = do_add_pvi_setting(la, urn=pvi_urn, name=f"Little Acorns {code}", acting_user=None)
        schools = list(Establishment.objects.filter(la=la, is_pvi=False).order_by("urn"))
        part = LaWorld(la=la, schools=schools, pvi=pvi)
        for role in Role:
            if role in (Role.NATIONAL_ANALYST, Role.AGENCY_USER):
                continue
            school = schools[0] if role == Role.SCHOOL_USER else None
            part.users[role.value] = do_create_user(
                f"{role.value}_{code}", role=role, la=None if school else la, school=school,
                email=f"{role.value}.{code}@example.org", password=PASSWORD, acting_user=None,
            )
        part.agency_user = _agency_user(la)
        parts.append(part)
    national = do_create_user(
        "national", role=Role.NATIONAL_ANALYST, password=PASSWORD, acting_user=None,
        email="national@example.org",
    )
    return World(a=parts[0], b=parts[1], national=national)
