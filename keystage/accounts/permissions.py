"""Permissions as named actions, each granted to roles; checked only through access helpers."""

from __future__ import annotations

from dataclasses import dataclass

from keystage.accounts.models import LA_ROLES, Role


@dataclass(frozen=True)
class Action:
    """Something a user may be allowed to do, with the roles that may do it."""

    name: str
    description: str
    roles: frozenset[str]


def _action(name: str, description: str, *roles: str) -> Action:
    return Action(name=name, description=description, roles=frozenset(roles))


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _action("view-schools", "See the schools register of one's own LA or one's own school",
                *LA_ROLES, Role.SCHOOL_USER),
        _action("manage-schools", "Import GIAS extracts, edit schools, add PVI settings, set "
                "the current academic year", Role.LA_ADMIN),
        _action("manage-users", "Add, disable and re-role the users of one's own LA",
                Role.LA_ADMIN),
        _action("view-audit-log", "Search the audit log of one's own LA", Role.LA_ADMIN),
        _action("import-files", "Upload statutory assessment files", Role.LA_DATA_OFFICER,
                Role.SCHOOL_USER),
        _action("clean-data", "Run cleaning and edit pupil data with a reason",
                Role.LA_DATA_OFFICER),
        _action("make-returns", "Generate DfE return files", Role.LA_DATA_OFFICER),
        _action("view-reports", "Read reports and exports", Role.LA_DATA_OFFICER,
                Role.LA_ANALYST, Role.LA_ADMIN, Role.SCHOOL_USER),
        _action("transfer-files", "Send and receive school-to-school pupil files",
                Role.TRANSFER_OFFICER, Role.SCHOOL_USER),
        _action("send-messages", "Write and read secure messages between an LA and its schools "
                "and between LAs about a pupil or a transfer file", Role.LA_ADMIN,
                Role.LA_DATA_OFFICER, Role.TRANSFER_OFFICER, Role.LOST_PUPILS_OFFICER,
                Role.VIRTUAL_SCHOOL, Role.SCHOOL_USER),
        _action("manage-agencies", "Register the agencies the LA works with and send them "
                "pupil extracts", Role.LA_ADMIN, Role.LA_DATA_OFFICER),
        _action("agency-downloads", "Download, once, the extracts LAs send one's agency",
                Role.AGENCY_USER),
        _action("manage-lost-pupils", "Search and manage the lost-pupils register",
                Role.LOST_PUPILS_OFFICER),
        _action("view-national-aggregates", "See aggregate figures across all LAs",
                Role.NATIONAL_ANALYST),
        _action("view-pupils", "Search the LA's pupils and see every record of one pupil",
                Role.LA_DATA_OFFICER, Role.LA_ANALYST, Role.LA_ADMIN),
        _action("manage-identity", "Confirm, split and merge the links of records to pupils",
                Role.LA_DATA_OFFICER),
        _action("download-originals", "Download the files schools sent, as they arrived",
                Role.LA_DATA_OFFICER, Role.LA_ADMIN),
        _action("import-social-care", "Load the LA's SSDA903 and CIN census returns",
                Role.LA_DATA_OFFICER),
        _action("view-social-care", "See the children of the social-care returns, their "
                "links to pupils and the looked-after cohort", Role.LA_DATA_OFFICER,
                Role.VIRTUAL_SCHOOL),
        _action("manage-care-cohort", "Match social-care children to pupils and record "
                "children coming into or leaving care between returns", Role.LA_DATA_OFFICER,
                Role.VIRTUAL_SCHOOL),
        _action("view-virtual-school", "See the education of the children the LA looks after",
                Role.VIRTUAL_SCHOOL),
        _action("view-analysis", "Read the attainment reports: the LA's by school and group; "
                "a school its own, with the LA and national figures when the LA shares them",
                Role.LA_DATA_OFFICER, Role.LA_ANALYST, Role.LA_ADMIN, Role.SCHOOL_USER),
        _action("share-analysis", "Choose per dataset whether schools see the emerging LA and "
                "national figures", Role.LA_DATA_OFFICER, Role.LA_ADMIN),
        _action("view-own-jobs", "Follow the progress of background work one started",
                *LA_ROLES, Role.SCHOOL_USER, Role.NATIONAL_ANALYST),
    )
}


def has_permission(user, action: str) -> bool:
    """True when the user's role grants the named action."""
    if action not in ACTIONS:
        raise KeyError(f"unknown permission action {action!r}")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.role in ACTIONS[action].roles
