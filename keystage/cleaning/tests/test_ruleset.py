"""Rule files load loudly, a year's rule set round-trips, and the catalogue is consistent."""

from __future__ import annotations

import csv
import io

import pytest

from keystage.cleaning.checks import CHECKS
from keystage.cleaning.ruleset import (
    COLUMNS,
    DEFAULT_RULES_FILE,
    RuleSet,
    RuleSetError,
    dump_rule_set,
    load_rule_set,
    load_rules,
    rule_set_for,
    validate_default_rules,
)
from keystage.collection.derive import ELGS
from keystage.datasets import threshold
from keystage.formats.assessment_spec import collection_components

GOOD_ROW = {
    "code": "GEN015",
    "severity": "error",
    "collections": "*",
    "first_year": "2012",
    "last_year": "",
    "check": "in_values",
    "fields": "Sex",
    "params": '{"values": ["M", "F"]}',
    "title": "Sex not M or F",
    "message": "The pupil's sex must be M or F.",
    "rationale": "CBDS code set D00001.",
}


def rule_file(tmp_path, *rows: dict[str, str], columns=COLUMNS, first_line="# test rules"):
    """A rule file whose first data row is on line 3 (after a comment and the header)."""
    buffer = io.StringIO()
    buffer.write(first_line + "\n")
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    path = tmp_path / "rules.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def row(**changes: str) -> dict[str, str]:
    return GOOD_ROW | changes


def test_the_default_rule_file_loads():
    rules = validate_default_rules()
    assert rules == load_rules(DEFAULT_RULES_FILE)
    assert len(set(rules)) == len(rules)  # rules are hashable and distinct


def test_the_2025_26_rule_set_has_at_least_44_rules():
    rule_set = rule_set_for(2026)
    assert rule_set.version == "2025/26"
    assert rule_set.year == 2026
    assert len(rule_set.rules) >= 44
    assert rule_set_for(2026) is rule_set  # cached for the default file


def test_a_rule_set_selects_rules_by_collection_and_code():
    rule_set = rule_set_for(2026)
    phonics = {rule.code for rule in rule_set.for_collection("phonics")}
    assert {"GEN001", "SCH005", "PHO006"} <= phonics
    assert not any(code.startswith(("EYF", "KS1", "KS2", "MTC")) for code in phonics)
    assert "SCH005" not in {rule.code for rule in rule_set.for_collection("eyfsp")}
    assert rule_set.by_code("PHO002").params == {"min": 0, "max": 40}
    assert rule_set.by_code("XYZ999") is None


def test_rules_come_into_force_in_their_first_year():
    codes_2021 = set(rule_set_for(2021).codes)
    assert "GEN001" in codes_2021
    assert not any(code.startswith(("EYF", "MTC")) for code in codes_2021)
    assert {"EYF001", "MTC001"} <= set(rule_set_for(2022).codes)


def test_a_dumped_rule_set_loads_back_equal(tmp_path):
    rule_set = rule_set_for(2026)
    path = tmp_path / "rules-2025-26.csv"
    dump_rule_set(rule_set, path)
    assert path.read_text(encoding="utf-8").splitlines()[0] == "# Keystage rule set 2025/26"
    assert load_rule_set(path) == rule_set


def test_a_rule_with_two_versions_gives_each_year_its_own(tmp_path):
    path = rule_file(
        tmp_path,
        row(last_year="2023", params='{"values": ["M", "F", "U"]}'),
        row(first_year="2024"),
    )
    assert rule_set_for(2023, path).by_code("GEN015").params == {"values": ["M", "F", "U"]}
    assert rule_set_for(2024, path).by_code("GEN015").params == {"values": ["M", "F"]}
    rule_set = rule_set_for(2023, path)
    dump_rule_set(rule_set, tmp_path / "2022-23.csv")
    assert load_rule_set(tmp_path / "2022-23.csv") == rule_set


@pytest.mark.parametrize(
    ("rows", "line", "problem"),
    [
        pytest.param([row(severity="warning")], 3, "severity", id="bad-severity"),
        pytest.param([row(collections="ks3")], 3, "unknown collection(s) ks3", id="collection"),
        pytest.param([row(collections="")], 3, "collections is empty", id="no-collections"),
        pytest.param([row(first_year="2026", last_year="2025")], 3, "after last_year",
                     id="years-reversed"),
        pytest.param([row(first_year="twenty")], 3, "four-digit year", id="year-not-a-number"),
        pytest.param([row(check="no_such_check")], 3, "unknown check", id="unknown-check"),
        pytest.param([row(params="{values: [M]}")], 3, "not valid JSON", id="bad-json"),
        pytest.param([row(params="[1]")], 3, "JSON object", id="params-not-object"),
        pytest.param([row(params='{"values": ["M"], "colour": 1}')], 3,
                     "does not accept param(s) colour", id="unknown-param"),
        pytest.param([row(params="{}")], 3, "needs param(s) values", id="missing-param"),
        pytest.param([row(params='{"values": "MF"}')], 3, "must be a list", id="param-type"),
        pytest.param([row(check="mark_out_of_range", fields="PSC", collections="phonics",
                          params='{"min": true, "max": 40}')], 3, "whole number",
                     id="bool-is-not-int"),
        pytest.param([row(message="")], 3, "message is empty", id="empty-message"),
        pytest.param([row(title="")], 3, "title is empty", id="empty-title"),
        pytest.param([row(fields="")], 3, "fields is empty", id="empty-fields"),
        pytest.param([row(fields="Postcode")], 3, "unknown field(s) Postcode",
                     id="unknown-field"),
        pytest.param([row(check="upn_check_letter", fields="Surname", params="{}")], 3,
                     "exactly the fields UPN", id="fixed-fields"),
        pytest.param([row(check="component_missing", fields="E01 E99", params="{}",
                          collections="eyfsp")], 3, "unknown field(s) E99",
                     id="unknown-component"),
        pytest.param([row(code="GEN15")], 3, "3 digits", id="bad-code"),
        pytest.param([row(), row(first_year="2020")], 4, "line 3", id="overlapping-years"),
        pytest.param([row(collections="mtc"), row(collections="mtc ks1", first_year="2025")],
                     4, "already in force", id="overlapping-collections"),
        pytest.param([row(collections="* ks1")], 3, "* already means every statutory",
                     id="star-and-a-collection"),
        pytest.param([row(collections="census census")], 3, "listed twice",
                     id="dataset-twice"),
        pytest.param([row(collections="census pp", check="context_in_values",
                          fields="PP_REASON", params='{"values": ["CLA"]}')], 3,
                     "unknown field(s) PP_REASON", id="context-field-of-another-dataset"),
        pytest.param([row(collections="ks2", check="score_out_of_range", fields="READSCORE",
                          params='{"min_threshold": "lowest", "max_threshold": "max_score"}')],
                     3, "dataset ks2 has no threshold 'lowest'", id="unknown-threshold"),
        pytest.param([row(code="CEN15")], 3,
                     "(GEN SCH EYF PHO KS1 KS2 MTC CEN PPR KSR KS4 KS5 EXT)",
                     id="bad-code-names-every-prefix"),
    ],
)
def test_an_invalid_rule_row_names_the_line_and_the_problem(tmp_path, rows, line, problem):
    path = rule_file(tmp_path, *rows)
    with pytest.raises(RuleSetError) as raised:
        load_rules(path)
    message = str(raised.value)
    assert message.startswith(f"rules.csv, line {line}: ")
    assert problem in message
    assert raised.value.line == line


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        pytest.param((*COLUMNS, "colour"), "unknown column(s) colour", id="unknown-column"),
        pytest.param(COLUMNS[:-1], "missing column(s) rationale", id="missing-column"),
    ],
)
def test_a_bad_header_names_line_2(tmp_path, columns, problem):
    path = rule_file(tmp_path, row(), columns=columns)
    with pytest.raises(RuleSetError, match=r"rules\.csv, line 2: ") as raised:
        load_rules(path)
    assert problem in str(raised.value)


def test_a_row_with_too_many_cells_names_its_line(tmp_path):
    path = rule_file(tmp_path, row())
    path.write_text(path.read_text(encoding="utf-8") + "GEN016,error,*,2012\n", encoding="utf-8")
    with pytest.raises(RuleSetError, match=r"line 4: 4 fields where the header has 11"):
        load_rules(path)


def test_a_year_rule_set_needs_its_header_line(tmp_path):
    with pytest.raises(RuleSetError, match=r"line 1: the first line must be"):
        load_rule_set(rule_file(tmp_path, row()))
    with pytest.raises(RuleSetError, match=r"line 1: 2025/27 is not an academic year"):
        load_rule_set(rule_file(tmp_path, row(), first_line="# Keystage rule set 2025/27"))
    with pytest.raises(RuleSetError, match=r"line 1: 2025 is not an academic year"):
        load_rule_set(rule_file(tmp_path, row(), first_line="# Keystage rule set 2025"))


def test_a_year_rule_set_written_before_2025_26_labels_still_loads(tmp_path):
    path = rule_file(tmp_path, row(), first_line="# Keystage rule set 2025-26")
    assert load_rule_set(path).version == "2025/26"


def test_a_year_rule_set_holds_only_rules_in_force_that_year(tmp_path):
    path = rule_file(tmp_path, row(last_year="2020"), first_line="# Keystage rule set 2025/26")
    with pytest.raises(RuleSetError, match=r"line 3: GEN015 is not in force in 2025/26"):
        load_rule_set(path)


def test_star_is_every_statutory_collection_and_context_datasets_are_named_after_it(tmp_path):
    path = rule_file(tmp_path, row(collections="* census pp"),
                     row(code="GEN016", collections="*"))
    first, second = load_rules(path)
    assert first.collections == {"eyfsp", "phonics", "ks1", "ks2ta", "mtc", "census", "pp"}
    assert second.collections == {"eyfsp", "phonics", "ks1", "ks2ta", "mtc"}
    rule_set = rule_set_for(2026, path)
    dump_rule_set(rule_set, tmp_path / "out.csv")
    written = (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert ",* census pp," in written and ",*,2012" in written
    assert load_rule_set(tmp_path / "out.csv") == rule_set


def test_the_general_rules_check_only_the_datasets_they_make_sense_for():
    rule_set = rule_set_for(2026)

    def codes(dataset):
        return {rule.code for rule in rule_set.for_collection(dataset)}

    upn_rules = {"GEN001", "GEN002", "GEN003", "GEN004", "GEN005"}
    for dataset in ("census", "pp", "ks2", "ks4", "extra"):
        assert upn_rules <= codes(dataset), dataset
    assert {"GEN006", "GEN011", "GEN015", "CEN001", "CEN002", "CEN003", "CEN004"} <= codes(
        "census")
    # Year-group, cross-collection and cohort rules are the statutory collections' alone.
    for code in ("GEN007", "GEN012", "GEN013", "GEN017", "GEN018", "SCH003", "SCH004"):
        assert not rule_set.by_code(code).collections & {"census", "pp", "ks2", "ks4", "extra"}
    assert codes("pp") == upn_rules | {"GEN023", "GEN024", "PPR001"}
    assert codes("extra") == upn_rules | {"EXT001"}


def test_ks2_score_limits_are_the_registry_thresholds():
    params = rule_set_for(2026).by_code("KSR001").params
    assert (threshold("ks2", params["min_threshold"]),
            threshold("ks2", params["max_threshold"])) == (80, 120)


def test_an_empty_rule_set_has_no_rules_for_a_collection():
    assert RuleSet("2025/26", 2026, ()).for_collection("eyfsp") == ()


# ---------------------------------------------------------------------------------------------
# The catalogue


@pytest.mark.parametrize("year", range(2012, 2031))
def test_each_rule_code_has_one_version_per_year(year):
    codes = rule_set_for(year).codes
    assert len(codes) == len(set(codes))


def test_every_message_and_rationale_is_a_sentence_and_every_title_is_short():
    for rule in load_rules():
        assert rule.message.endswith("."), rule.code
        assert rule.message[0].isupper(), rule.code
        assert rule.rationale.endswith("."), rule.code
        assert len(rule.title) <= 60 and not rule.title.endswith("."), rule.code


def test_every_check_is_used_by_a_rule_and_says_what_it_finds():
    used = {rule.check for rule in load_rules()}
    assert used == set(CHECKS)
    assert all(check.doc for check in CHECKS.values())


def test_thresholds_and_component_lists_agree_with_the_derived_measures():
    rule_set = rule_set_for(2026)
    assert rule_set.by_code("PHO004").params["threshold"] == threshold("phonics", "pass_mark")
    assert rule_set.by_code("PHO006").params["threshold"] == threshold("phonics", "pass_mark")
    assert rule_set.by_code("PHO002").params["max"] == threshold("phonics", "max_mark")
    assert rule_set.by_code("MTC002").params["max"] == threshold("mtc", "full_marks")
    for code in ("EYF001", "EYF002", "EYF003"):
        assert rule_set.by_code(code).fields == ELGS


def test_required_subjects_are_components_of_the_collection():
    rule_set = rule_set_for(2026)
    for code, collection in [("KS1001", "ks1"), ("KS2001", "ks2ta"), ("PHO001", "phonics"),
                             ("MTC001", "mtc"), ("EYF001", "eyfsp")]:
        components = {c.component for c in collection_components(collection, 2026)}
        assert set(rule_set.by_code(code).fields) <= components, code
    assert rule_set.by_code("KS1001").fields == ("RE", "WR", "MAT", "SCI")
    assert rule_set.by_code("KS2001").fields == ("WR", "SCI")
