"""The code digests kept results are fingerprinted with."""

from __future__ import annotations

from keystage.core.versions import source_digest


def test_a_digest_is_stable_and_depends_on_every_module_and_data_file_named():
    one = source_digest(("keystage.measures.primary",))

    assert one == source_digest(("keystage.measures.primary",))
    assert len(one) == 64
    assert source_digest(("keystage.measures.primary", "keystage.measures.ks4")) != one
    assert source_digest(("keystage.measures.primary",), ("measures/data",)) != one


def test_the_figures_digest_covers_the_characteristics_code():
    from keystage.analysis.stored import FIGURE_CODE, figures_code_digest
    from keystage.context.queries import CHARACTERISTICS_CODE

    assert figures_code_digest() == source_digest(FIGURE_CODE + CHARACTERISTICS_CODE,
                                                  ("measures/data",))
    assert figures_code_digest() != source_digest(FIGURE_CODE, ("measures/data",))
