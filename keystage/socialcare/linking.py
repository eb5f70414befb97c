"""Link the children of a social care return to the LA's pupils, the whole return at once.

In order (keystage.identity.link_social_care): the child's id in the same return kind seen
before (an identifier kept from an earlier link), the UPN, then former UPNs. The returns carry
no names, so a date of birth and sex alone never link: children left unlinked are listed for an
officer, with the pupils of the same date of birth and sex as candidates.
"""

from __future__ import annotations

import polars as pl

from keystage.core.bulk import bulk_insert, bulk_update_by_pk, read_frame
from keystage.identity.link import link_social_care
from keystage.pupils.models import PupilIdentifier
from keystage.socialcare.models import CareChild, CareReturn

IDENTIFIER_KIND = {"ssda903": "ssda903_child", "cin": "cin_child"}
_CHILDREN = {"id": pl.Int64, "child_id": pl.String, "upn": pl.String, "former_upn": pl.String,
             "upn_unknown": pl.String}
_IDENTIFIERS = {"pupil_id": pl.Int64, "kind": pl.String, "value": pl.String}


def _t(model) -> str:
    return model._meta.db_table


def link_care_return(care_return: CareReturn, children: pl.DataFrame | None = None) -> int:
    """Link every child of the return that identity can place; returns how many it linked.

    `children`: the return's children as just stored (id, child_id, upn, former_upn,
    upn_unknown), else they are read from the database."""
    identifiers = read_frame(
        f"SELECT pupil_id, kind, value FROM {_t(PupilIdentifier)} WHERE la_id = %s",  # noqa: S608
        [care_return.la_id], _IDENTIFIERS)
    if not identifiers.height:
        # Every way of linking matches a child to one of these: with none (an LA with no
        # pupils yet) no child links, and the plan's fixed cost is saved.
        return 0
    if children is None:
        children = read_frame(
            f"SELECT id, child_id, upn, former_upn, upn_unknown FROM {_t(CareChild)} "  # noqa: S608
            "WHERE care_return_id = %s", [care_return.pk], _CHILDREN)
    else:
        children = children.select(list(_CHILDREN)).cast(_CHILDREN)
    kind = IDENTIFIER_KIND[care_return.dataset]
    links = link_social_care(children, identifiers, child_kind=kind)
    if not links.height:
        return 0
    bulk_update_by_pk(CareChild, ["pupil", "link_method", "link_score"],
                      links.select("id", "pupil_id", "method", "score").iter_rows())
    _add_identifiers(care_return.la_id, kind,
                     links.join(children, on="id").select("pupil_id", "child_id"), identifiers)
    return links.height


def _add_identifiers(la_id: int, kind: str, pairs: pl.DataFrame,
                     identifiers: pl.DataFrame) -> None:
    """Keep each linked child's id as an identifier of their pupil, so a later return without a
    UPN still finds them."""
    wanted = (pairs.filter(pl.col("child_id") != "")
              .select("pupil_id", kind=pl.lit(kind), value=pl.col("child_id").str.slice(0, 40))
              .unique())
    fresh = wanted.join(identifiers, on=["pupil_id", "kind", "value"], how="anti")
    bulk_insert(PupilIdentifier, ["pupil", "la", "kind", "value"],
                ((p, la_id, k, v) for p, k, v in fresh.iter_rows()))


def add_child_identifiers(children: list[CareChild]) -> None:
    """The identifiers of children an officer matched by hand."""
    for child in children:
        if child.pupil_id and child.child_id:
            PupilIdentifier.objects.get_or_create(
                pupil_id=child.pupil_id, kind=IDENTIFIER_KIND[child.care_return.dataset],
                value=child.child_id[:40], defaults={"la_id": child.la_id})
