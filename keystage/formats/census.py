"""The school census XML, one school's return for one term (encodings.md section 4); no Django.

Read whole into frames (DatasetFile, kind `census_xml`). The census of one school is a few MB
even for the largest schools, so the file is parsed in one call to libxml2 (far faster than
feeding it in pieces) after the same safety checks as the CTF reader: the prolog is scanned
before the parser sees a byte (a DOCTYPE, the only place entities are declared, is refused),
and the parser resolves no entities, loads no DTD, touches no network and refuses huge trees.
`read_censuses` reads several returns with the same result, typing their rows together.
The pupils of a plain return (as MIS software writes them: see `_plain`) are read from its text
by polars for all the returns together; any other return's tree is walked in Python. Both give
the same rows (a hypothesis test compares them).

Frames (text columns unless said; `line` is the line where the pupil's element starts):
- "pupils" (PupilOnRoll): line, upn, former_upn, uln, surname, forename, middle_names,
  preferred_surname, former_surname, dob (Date), sex ("M"/"F" from Sex, or Gender in older
  files), ethnicity, first_language, service_child, adopted_from_care, ncyear, enrol_status,
  entry_date (Date), part_time (Boolean, null when not given), boarder, sen_provision,
  fsm_eligible (Boolean: an FSMperiod covers the reference date, methods.md 11.1; false when
  none does).
- "fsm": line, upn, start (Date), end (Date, null while eligible), uk_country.
- "sen_needs": line, upn, sen_type, rank (Int64).
- "attendance": line, upn, sessions_possible, sessions_authorised, sessions_unauthorised
  (Int64, null where not a whole number): one row per TermlyAttendance of a pupil.
- "exclusions": line, upn, category, reason, start_date (text as given), sessions (Int64):
  one row per TermlyExclusion of a pupil.
- "leavers" (PupilNoLongerOnRoll): line, upn, former_upn, surname, forename, dob, sex, ethnicity,
  first_language, entry_date, leaving_date, ncyear_leaving.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import polars as pl
from lxml import etree

from keystage.formats.errors import FormatError
from keystage.formats.kinds import DatasetFile
from keystage.formats.safexml import check_prolog, file_bytes, parse, root_is
from keystage.formats.stacked import batches, split_parts
from keystage.years import TERMS, census_term_label, census_term_of

MAX_BYTES = 200 * 1024 * 1024
_RESEND = "Ask the school to export its census return again from its MIS."
_COLLECTION = re.compile(rb"<Collection>\s*SC\s*</Collection>")

_TEXT = pl.String
SCHEMAS: dict[str, dict] = {
    "pupils": {
        "line": pl.Int64, "upn": _TEXT, "former_upn": _TEXT, "uln": _TEXT, "surname": _TEXT,
        "forename": _TEXT, "middle_names": _TEXT, "preferred_surname": _TEXT,
        "former_surname": _TEXT, "dob": pl.Date, "sex": _TEXT, "ethnicity": _TEXT,
        "first_language": _TEXT, "service_child": _TEXT, "adopted_from_care": _TEXT,
        "ncyear": _TEXT, "enrol_status": _TEXT, "entry_date": pl.Date, "part_time": pl.Boolean,
        "boarder": _TEXT, "sen_provision": _TEXT, "fsm_eligible": pl.Boolean,
    },
    "fsm": {"line": pl.Int64, "upn": _TEXT, "start": pl.Date, "end": pl.Date,
            "uk_country": _TEXT},
    "sen_needs": {"line": pl.Int64, "upn": _TEXT, "sen_type": _TEXT, "rank": pl.Int64},
    "attendance": {"line": pl.Int64, "upn": _TEXT, "sessions_possible": pl.Int64,
                   "sessions_authorised": pl.Int64, "sessions_unauthorised": pl.Int64},
    "exclusions": {"line": pl.Int64, "upn": _TEXT, "category": _TEXT, "reason": _TEXT,
                   "start_date": _TEXT, "sessions": pl.Int64},
    "leavers": {
        "line": pl.Int64, "upn": _TEXT, "former_upn": _TEXT, "surname": _TEXT,
        "forename": _TEXT, "dob": pl.Date, "sex": _TEXT, "ethnicity": _TEXT,
        "first_language": _TEXT, "entry_date": pl.Date, "leaving_date": pl.Date,
        "ncyear_leaving": _TEXT,
    },
}
# Frame column <- census element (the first present of several names).
_PUPIL_FIELDS = {
    "upn": ("UPN",), "former_upn": ("FormerUPN",), "uln": ("UniqueLearnerNumber", "ULN"),
    "surname": ("Surname",), "forename": ("Forename",), "middle_names": ("MiddleNames",),
    "preferred_surname": ("PreferredSurname",), "former_surname": ("FormerSurname",),
    "dob": ("DOB",), "sex": ("Sex", "Gender"), "ethnicity": ("Ethnicity",),
    "first_language": ("Language",), "service_child": ("ServiceChild",),
    "adopted_from_care": ("AdoptedFromCare",), "ncyear": ("NCyearActual",),
    "enrol_status": ("EnrolStatus",), "entry_date": ("EntryDate",), "part_time": ("PartTime",),
    "boarder": ("Boarder",), "sen_provision": ("SENprovision",),
}
_LEAVER_FIELDS = {
    "upn": ("UPN",), "former_upn": ("FormerUPN",), "surname": ("Surname",),
    "forename": ("Forename",), "dob": ("DOB",), "sex": ("Sex", "Gender"),
    "ethnicity": ("Ethnicity",), "first_language": ("Language",),
    "entry_date": ("EntryDate",), "leaving_date": ("LeavingDate",),
    "ncyear_leaving": ("NCyearLeaving",),
}
_DATES = {"dob": "DOB", "entry_date": "EntryDate", "leaving_date": "LeavingDate",
          "start": "FSMstartDate", "end": "FSMendDate"}


def looks_like_census(head: bytes) -> bool:
    """True when the first bytes are a school census return: a <Message> of collection SC."""
    return root_is(head, "Message") and bool(_COLLECTION.search(head))


def _read_root(source, filename: str) -> tuple[bytes, etree._Element]:
    """The file's bytes and its parsed root, after the safety checks."""
    what = "a school census return"
    data = file_bytes(source, filename, max_bytes=MAX_BYTES, what=what, resend=_RESEND)
    check_prolog(data, filename, root="Message", what=what, resend=_RESEND)
    return data, parse(data, filename, resend=_RESEND)


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    for child in element:
        if _local(child) == name:
            return child
    return None


def _path_text(element: etree._Element | None, *names: str) -> str:
    for name in names:
        element = _child(element, name)
    return (element.text or "").strip() if element is not None else ""


def _columns_of(fields: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, int]]:
    """Element name -> (column, preference): the first name listed for a column wins."""
    return {name: (column, rank) for column, names in fields.items()
            for rank, name in enumerate(names)}


# Repeated groups inside a pupil, read into frames of their own: group -> column <- element.
_GROUPS = {
    "FSMperiod": ("fsm", {"start": "FSMstartDate", "end": "FSMendDate",
                          "uk_country": "UKcountry"}),
    "SENneed": ("sen_needs", {"sen_type": "SENtype", "rank": "SENtypeRank"}),
    "TermlyAttendance": ("attendance", {"sessions_possible": "SessionsPossible",
                                        "sessions_authorised": "SessionsAuthorised",
                                        "sessions_unauthorised": "SessionsUnauthorised"}),
    "TermlyExclusion": ("exclusions", {"category": "Category", "reason": "Reason",
                                       "start_date": "StartDate", "sessions": "Sessions"}),
}


def _wildcards(names) -> tuple[str, ...]:
    """Tags that match these local names in any namespace or none (lxml's "{*}" form)."""
    return tuple("{*}" + name for name in names)


def _row(element: etree._Element, fields: dict[str, tuple[str, ...]],
         columns: dict[str, tuple[str, int]], tags: tuple[str, ...],
         groups: list[etree._Element] | None = None) -> dict[str, str]:
    """The columns of one pupil from its leaf elements, in one walk of its subtree; the
    repeated groups met on the way are appended to `groups` when it is given."""
    row = dict.fromkeys(fields, "")
    rank_of: dict[str, int] = {}
    # libxml2 picks out the wanted elements (by local name, in any namespace): Python sees
    # only them, not every node of the pupil.
    for node in element.iter(*tags):
        name = node.tag.rpartition("}")[2]
        if name in _GROUPS:
            if groups is not None:
                groups.append(node)
            continue
        if len(node):
            continue
        column, rank = columns[name]
        # The first element of a name wins (a repeated group's later ones are read apart);
        # of alternative names (Sex, then Gender), the preferred one.
        if column not in rank_of or rank < rank_of[column]:
            rank_of[column] = rank
            row[column] = (node.text or "").strip()
    return row


def _group_fields(group: etree._Element) -> dict[str, str]:
    """A repeated group's direct children by local name, the first of each name winning."""
    found: dict[str, str] = {}
    for child in group.iterchildren(tag=etree.Element):
        name = child.tag.rpartition("}")[2]
        if name not in found:
            found[name] = (child.text or "").strip()
    return found


_PUPIL_COLUMNS = _columns_of(_PUPIL_FIELDS)
_LEAVER_COLUMNS = _columns_of(_LEAVER_FIELDS)
_PUPIL_TAGS = _wildcards([*_PUPIL_COLUMNS, *_GROUPS])
_LEAVER_TAGS = _wildcards(_LEAVER_COLUMNS)


def _date(column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def _typed(frame: pl.DataFrame, name: str, dates=(), filename: str = "", **more: pl.Expr
           ) -> pl.DataFrame:
    """A frame of the schema SCHEMAS[name], after the `file` column each row carries (its
    file's place among those read together), from a text frame (_text_frame's columns) in one
    pass: date columns parsed (FormatError names the line and element of the first one that is
    not a date), Int64 columns whole numbers or null, and `more` columns computed beside
    them."""
    schema = SCHEMAS[name]
    if not frame.height:
        # Nothing to type (a school's exclusions and leavers are often none): the empty frame,
        # without a query plan's fixed cost, which is much of a small file's reading.
        return pl.DataFrame(schema={"file": pl.Int64, **schema})
    numbers = {c for c, t in schema.items() if t == pl.Int64 and c != "line"}

    def column(name: str) -> pl.Expr:
        if name in more:
            return more[name]
        if name in dates:
            return _date(name)
        if name in numbers:
            return pl.col(name).str.strip_chars().cast(pl.Int64, strict=False)
        return pl.col(name)

    bad = [(pl.col(c) != "") & _date(c).is_null() for c in dates]
    # Typed and cast in one select (one query plan a frame, not two).
    typed = frame.select("file", *(column(c).cast(t).alias(c) for c, t in schema.items()),
                         _bad=pl.any_horizontal(bad) if bad else pl.lit(False))
    if typed.drop_in_place("_bad").any():
        # Rare: which column of which line, looked for only when there is one.
        for column_name in dates:
            hits = frame.filter((pl.col(column_name) != "") & _date(column_name).is_null())
            if hits.height:
                line, value = hits.select("line", column_name).row(0)
                raise FormatError(f"<{_DATES[column_name]}> '{value[:30]}' is not a date "
                                  f"(YYYY-MM-DD). {_RESEND}", filename=filename, line=line,
                                  column=_DATES[column_name])
    return typed


def _flag(column: str) -> pl.Expr:
    text = pl.col(column).str.to_lowercase()
    return (pl.when(text.is_in(["true", "1", "y", "yes"])).then(True)
            .when(text.is_in(["false", "0", "n", "no"])).then(False)
            .otherwise(None))


@dataclass
class _Plain:
    """A return to read by polars rather than by walking its tree (see _plain): its bytes, and
    the lines its pupils' and leavers' elements start on, in document order."""

    data: bytes
    pupil_lines: list[int]
    leaver_lines: list[int]


@dataclass
class _Raw:
    """One census return as read from its XML: the header's values and the rows as text (or,
    for a plain return, its pupils' XML text, `plain`, read into rows with the others')."""

    filename: str
    year: int
    term: str
    reference: date
    laestab: str
    la_code: str
    school_name: str
    software: str
    warnings: list[str]
    pupils: list[dict]
    leavers: list[dict]
    grouped: dict[str, list[dict]]
    plain: _Plain | None = None


def read_census(source, *, filename: str, year: int | None = None, **options) -> DatasetFile:
    """One school's census return, whole, or FormatError naming the line and what to do."""
    return _dataset_files([_read_raw(source, filename, year)])[0]


def read_censuses(sources, *, year: int | None = None, **options
                  ) -> list[DatasetFile | Exception]:
    """Several schools' returns, `sources` (filename, source) pairs: for each, what read_census
    gives (its DatasetFile) or raises (the exception, returned). Typed together: one set of
    frame operations for them all, not one per file, whose fixed cost is most of a small
    return's reading; a typing problem in any file re-types each alone, so each error names its
    own file, as read_census's does."""
    def read_one(item) -> _Raw | Exception:
        filename, source = item
        try:
            return _read_raw(source, filename, year)
        except Exception as error:  # noqa: BLE001 - returned, raised when that file is taken
            return error

    sources = list(sources)
    if len(sources) > 1:
        # Two at a time: libxml2 parses without Python's lock, and parsing is most of it.
        with ThreadPoolExecutor(max_workers=2) as pool:
            read = list(pool.map(read_one, sources))
    else:
        read = [read_one(item) for item in sources]
    raws = [r for r in read if isinstance(r, _Raw)]
    try:
        typed = iter(_dataset_files(raws))
    except FormatError:
        typed = iter([_one(raw) for raw in raws])
    return [r if isinstance(r, Exception) else next(typed) for r in read]


def _one(raw: _Raw) -> DatasetFile | FormatError:
    try:
        return _dataset_files([raw])[0]
    except FormatError as error:
        return error


def _read_raw(source, filename: str, year: int | None, *, plain: bool = True) -> _Raw:
    """The header checked and every pupil's wanted elements as text: Python over the tree, or,
    for a plain return (and `plain`), the pupils' own XML text for polars to read."""
    data, root = _read_root(source, filename)
    header = _child(root, "Header")
    details = _child(header, "CollectionDetails")
    source_block = _child(header, "Source")
    wanted = {"Collection": _path_text(details, "Collection"),
              "Term": _path_text(details, "Term").upper(),
              "ReferenceDate": _path_text(details, "ReferenceDate"),
              "LEA": _path_text(source_block, "LEA"), "Estab": _path_text(source_block, "Estab")}
    missing = [name for name, value in wanted.items() if not value]
    if missing:
        raise FormatError(f"the header has no {', '.join(missing)}. {_RESEND}", filename=filename,
                          line=header.sourceline if header is not None else None)
    if wanted["Collection"] != "SC":
        raise FormatError(f"the header's Collection is {wanted['Collection'][:20]}, not SC: this "
                          "is not a school census return.", filename=filename)
    try:
        reference = date.fromisoformat(wanted["ReferenceDate"])
    except ValueError:
        raise FormatError(f"the ReferenceDate '{wanted['ReferenceDate'][:30]}' is not a date "
                          f"(YYYY-MM-DD). {_RESEND}", filename=filename,
                          line=details.sourceline) from None
    file_year, term = census_term_of(reference)
    warnings = []
    if wanted["Term"] not in TERMS:
        raise FormatError(f"the header's Term is '{wanted['Term'][:10]}', not AUT, SPR or SUM. "
                          f"{_RESEND}", filename=filename, line=details.sourceline)
    if wanted["Term"] != term:
        warnings.append(f"the header says {census_term_label(wanted['Term'])} but the reference "
                        f"date {reference.isoformat()} is in the {census_term_label(term)}; it is "
                        "loaded as the census its reference date belongs to.")
    if year is not None and file_year != year:
        raise FormatError(
            f"this is the {census_term_label(term)} of {reference.isoformat()}, which belongs to "
            f"the {file_year} assessment year, not {year}. Import it for {file_year}, or check "
            "you have this year's file.", filename=filename)
    laestab = wanted["LEA"] + wanted["Estab"]
    if not re.fullmatch(r"\d{7}", laestab):
        raise FormatError(f"the header's LEA and Estab ({wanted['LEA'][:5]} {wanted['Estab'][:6]}) "
                          f"are not a 3-digit LA number and a 4-digit establishment number. "
                          f"{_RESEND}", filename=filename, line=source_block.sourceline)

    pupils: list[dict] = []
    leavers: list[dict] = []
    grouped: dict[str, list[dict]] = {table: [] for table, _ in _GROUPS.values()}
    container = _child(root, "Pupils")
    children = list(container.iterchildren(tag=etree.Element)) if container is not None else []
    plain_pupils = _plain(data, root, children) if plain else None
    if plain_pupils is not None:
        children = []  # read by polars with the others (_dataset_files)
    for element in children:
        kind = _local(element)
        if kind not in ("PupilOnRoll", "PupilNoLongerOnRoll"):
            continue
        line = element.sourceline
        if kind == "PupilNoLongerOnRoll":
            leavers.append({"line": line, **_row(element, _LEAVER_FIELDS, _LEAVER_COLUMNS,
                                                 _LEAVER_TAGS)})
            continue
        groups: list[etree._Element] = []
        row = {"line": line, **_row(element, _PUPIL_FIELDS, _PUPIL_COLUMNS, _PUPIL_TAGS,
                                    groups)}
        pupils.append(row)
        for group in groups:
            table, columns = _GROUPS[group.tag.rpartition("}")[2]]
            found = _group_fields(group)
            grouped[table].append({"line": line, "upn": row["upn"],
                                   **{c: found.get(e, "") for c, e in columns.items()}})
    return _Raw(
        filename, file_year, term, reference, laestab, wanted["LEA"],
        _path_text(root, "School", "SchoolCharacteristics", "SchoolName"),
        " ".join(filter(None, (_path_text(source_block, "SoftwareCode"),
                               _path_text(source_block, "Release")))),
        warnings, pupils, leavers, grouped, plain_pupils)


# A plain return, the census as MIS software writes it, is read by regular expressions over
# its text (polars, in Rust, for every return read together), checked against its tree so that
# they give what the walk of the tree gives: UTF-8; every pupil element (on roll or not) a
# direct child of the first <Pupils>, written <PupilOnRoll> (or <PupilNoLongerOnRoll>), with
# no attribute, namespace prefix, comment, CDATA section, processing instruction, character
# reference, tab or carriage return inside (so an element's text is its characters, the five
# named entities aside); and each repeated group's children leaves. Any other return's tree
# is walked. Some of these marks may be in a plain return's text (an "=" in a name): it is
# walked too, which gives the same rows, only slower.
_SELF_CLOSING = r"<([A-Za-z_][\w.-]*)/>"
# Any of "<!", "<?", "&#", a carriage return, a tab, "=", ":", " >", "\n>", " />" or "\n/>", as
# one regular expression (three times quicker over a chunk's pupils than a search for each).
_NOT_PLAIN = r"[\r\t=:]|<[!?]|&#|[ \n]/?>"
# In a group, an element whose content starts with an element: not a leaf.
_NESTED = r"<[^/>][^>]*>\s*<[^/]"
_ENTITIES = ["&lt;", "&gt;", "&quot;", "&apos;", "&amp;"]
_ENTITY_TEXT = ["<", ">", '"', "'", "&"]


def _plain(data: bytes, root: etree._Element, children: list) -> _Plain | None:
    """A return to try reading as plain (its bytes and its pupil elements' lines), or None
    when its tree must be walked (not UTF-8)."""
    encoding = root.getroottree().docinfo.encoding or ""
    if encoding.upper() not in ("UTF-8", "UTF8"):
        return None
    kinds = [(element.tag, element.sourceline) for element in children]
    return _Plain(data, [line for tag, line in kinds if tag == "PupilOnRoll"],
                  [line for tag, line in kinds if tag == "PupilNoLongerOnRoll"])


def _plain_elements(raws: list[tuple[int, _Plain]]) -> tuple[pl.DataFrame, pl.DataFrame,
                                                             set[int]]:
    """The pupil and leaver elements' contents (file, line, xml) of those of these returns
    that are plain as far as the elements show, and the places of the others."""
    # The bytes are decoded by polars (the parser has checked they are UTF-8): no Python copy.
    docs = pl.DataFrame(
        {"file": [i for i, _ in raws],
         "text": pl.Series([p.data for _, p in raws], dtype=pl.Binary).cast(pl.String),
         "pupil_lines": [p.pupil_lines for _, p in raws],
         "leaver_lines": [p.leaver_lines for _, p in raws]},
        schema={"file": pl.Int64, "text": pl.String, "pupil_lines": pl.List(pl.Int64),
                "leaver_lines": pl.List(pl.Int64)})
    text = pl.col("text")
    if docs.select(text.str.contains("/>", literal=True).any()).item():
        docs = docs.with_columns(text.str.replace_all(_SELF_CLOSING, "<${1}></${1}>"))

    def contents(tag: str) -> pl.Expr:
        # Each element's content: the text after each <tag> up to the first </tag>.
        return text.str.split(f"<{tag}>").list.slice(1).list.eval(
            pl.element().str.split(f"</{tag}>").list.first())

    found = docs.select(
        "file", "pupil_lines", "leaver_lines", contents("PupilOnRoll").alias("pupils"),
        contents("PupilNoLongerOnRoll").alias("leavers"),
        text.str.count_matches("PupilOnRoll", literal=True).alias("any_pupils"),
        text.str.count_matches("PupilNoLongerOnRoll", literal=True).alias("any_leavers"))
    del docs  # (the files' text, no longer needed: a chunk's is tens of MB)
    pupils, leavers = pl.col("pupils"), pl.col("leavers")
    lines = pl.col("pupil_lines").list.len(), pl.col("leaver_lines").list.len()
    # Each element found once by its tag, and every other mention of its name its end tag:
    # so none is nested in another, none is outside the first <Pupils>, none has another form.
    found = found.with_columns(plain=(
        (pupils.list.len() == lines[0]) & (pl.col("any_pupils") == 2 * lines[0])
        & (leavers.list.len() == lines[1]) & (pl.col("any_leavers") == 2 * lines[1])
        & ~(pupils.list.join("") + leavers.list.join("")).str.contains(_NOT_PLAIN)))
    walk = set(found.filter(~pl.col("plain"))["file"].to_list())
    found = found.filter("plain")
    return (found.select("file", line="pupil_lines", xml="pupils")
            .explode("line", "xml").drop_nulls("xml"),
            found.select("file", line="leaver_lines", xml="leavers")
            .explode("line", "xml").drop_nulls("xml"), walk)


def _plain_value(xml: pl.Expr, names: tuple[str, ...]) -> pl.Expr:
    """The text of the first leaf element of the first of these names present (as the walk
    takes it: stripped, "" when none)."""
    found = [xml.str.extract(rf"<{name}>([^<]*)</{name}>") for name in names]
    value = pl.coalesce(found) if len(found) > 1 else found[0]
    return value.fill_null("")


def _unescaped(frame: pl.DataFrame, texts: list[str]) -> pl.DataFrame:
    """These text columns with the named entities replaced (only where one is) and stripped."""
    if not frame.height:
        return frame
    escaped = frame.select(pl.col(texts).str.contains("&", literal=True).any()).row(0)
    needing = [c for c, found in zip(texts, escaped, strict=True) if found]
    if needing:
        frame = frame.with_columns(pl.col(needing).str.replace_many(_ENTITIES, _ENTITY_TEXT))
    return frame.with_columns(pl.col(texts).str.strip_chars())


def _plain_frames(raws: list[tuple[int, _Plain]]) -> tuple[dict[str, pl.DataFrame], set[int]]:
    """The text frames (as _text_frame makes from rows) of those of these returns that are
    plain, read together, and the places of those that are not."""
    def values(frame: pl.DataFrame, of: str, fields: dict, *keep: str) -> pl.DataFrame:
        found = frame.select(*keep, *(_plain_value(pl.col(of), names).alias(column)
                                      for column, names in fields.items()))
        return _unescaped(found, list(fields))

    pupils, leavers, walk = _plain_elements(raws)
    pupils = values(pupils, "xml", _PUPIL_FIELDS, "file", "line", "xml")
    # Each group's text from its tag to its first end tag (none when a group is inside one),
    # split out of the pupils that have one only (most have no FSM period or SEN need).
    groups = {table: pupils.filter(pl.col("xml").str.contains(f"<{group}>", literal=True)).select(
        "file", "line", "upn",
        group=pl.col("xml").str.split(f"<{group}>").list.slice(1).list.eval(
            pl.element().str.split(f"</{group}>")),
    ).explode("group").drop_nulls("group").with_columns(
        nested=pl.col("group").list.len() < 2, group=pl.col("group").list.first(),
    ) for group, (table, _) in _GROUPS.items()}
    pupils = pupils.drop("xml")
    for found in groups.values():
        walk |= set(found.filter(pl.col("nested") | pl.col("group").str.contains(_NESTED))
                    ["file"].unique().to_list())
    if walk:
        keep = ~pl.col("file").is_in(list(walk))
        pupils, leavers = pupils.filter(keep), leavers.filter(keep)
        groups = {table: found.filter(keep) for table, found in groups.items()}
    frames = {"pupils": pupils,
              "leavers": values(leavers, "xml", _LEAVER_FIELDS, "file", "line")}
    for table, columns in _GROUPS.values():
        frames[table] = values(groups[table], "group", {c: (e,) for c, e in columns.items()},
                               "file", "line", "upn")
    return {name: _as_text(frame, name) for name, frame in frames.items()}, walk


# Returns read as text together, at most this many bytes of them at a time on each of two
# threads: the text, its elements and their values are each a copy of it while they are read
# (about five times its size at once), and a read-ahead chunk of 24 MB is read beside another
# being written.
PLAIN_PART_BYTES = 6 * 1024 * 1024


def _plain_frames_in_parts(raws: list[tuple[int, _Plain]]
                           ) -> tuple[dict[str, pl.DataFrame], set[int]]:
    """_plain_frames of these returns, read PLAIN_PART_BYTES of them at a time, two parts at
    once (polars reads each part's columns mostly on one core, without Python's lock)."""
    parts = batches(raws, PLAIN_PART_BYTES, lambda item: len(item[1].data))
    with ThreadPoolExecutor(max_workers=2) as pool:
        read = list(pool.map(_plain_frames, parts))
    walk = set().union(*(found for _, found in read))
    return {name: pl.concat([frames[name] for frames, _ in read]) for name in read[0][0]}, walk


def _as_text(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """A frame with _text_frame's columns for SCHEMAS[name], in its order (null where absent)."""
    return frame.select(pl.col("file"), *(
        pl.col(column) if column in frame.columns
        else pl.lit(None, pl.Int64 if column == "line" else pl.String).alias(column)
        for column in SCHEMAS[name]))


def _dataset_files(raws: list[_Raw]) -> list[DatasetFile]:
    """The raws' frames typed together (FormatError, naming the first raw's file, for a value
    that is not of its type), then split file by file."""
    if not raws:
        return []
    filename = raws[0].filename

    def rows(of) -> list[dict]:
        # Each row tagged with its file's place in raws (a key the frames are split on).
        everything = []
        for i, raw in enumerate(raws):
            tagged = of(raw)
            for row in tagged:
                row["file"] = i
            everything.extend(tagged)
        return everything

    candidates = [(i, raw.plain) for i, raw in enumerate(raws) if raw.plain is not None]
    plain = None
    if candidates:
        plain, walk = _plain_frames_in_parts(candidates)
        # A return that is not plain after all has its tree walked (read again: trees are not
        # kept, being several times the size of their files).
        raws = [_read_raw(raw.plain.data, raw.filename, None, plain=False) if i in walk
                else raw for i, raw in enumerate(raws)]
    walked = {"pupils": rows(lambda r: r.pupils), "leavers": rows(lambda r: r.leavers),
              **{table: rows(lambda r, t=table: r.grouped[t]) for table, _ in _GROUPS.values()}}
    texts = {name: _text_frame(found, SCHEMAS[name]) for name, found in walked.items()}
    if plain is not None:
        # Each file's rows come from one of the two, so each keeps its own order.
        texts = {name: pl.concat([frame, texts[name]]) if texts[name].height else frame
                 for name, frame in plain.items()}
    references = pl.DataFrame({"file": range(len(raws)), "reference": [r.reference
                                                                        for r in raws]},
                              schema={"file": pl.Int64, "reference": pl.Date})
    frames = _frames(texts["pupils"], texts["fsm"], texts["sen_needs"], texts["leavers"],
                     references, filename)
    frames["attendance"] = _typed(texts["attendance"], "attendance")
    frames["exclusions"] = _typed(texts["exclusions"], "exclusions")
    split = {name: _split(frame, name, len(raws)) for name, frame in frames.items()}
    return [
        DatasetFile(
            "census_xml", "census", raw.filename, {name: split[name][i] for name in split},
            year=raw.year, term=raw.term, reference_date=raw.reference, laestab=raw.laestab,
            la_code=raw.la_code, school_name=raw.school_name, software=raw.software,
            warnings=raw.warnings,
        )
        for i, raw in enumerate(raws)
    ]


def _split(frame: pl.DataFrame, name: str, files: int) -> list[pl.DataFrame]:
    """A frame of several files' rows as one frame per file (its `file` column dropped)."""
    if files == 1:
        return [frame.drop("file")]
    return split_parts(frame, files, pl.DataFrame(schema=SCHEMAS[name]), "file")


def _text_frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    text = {"file": pl.Int64, **{name: (pl.Int64 if name == "line" else pl.String)
                                 for name in schema}}
    return pl.DataFrame(rows, schema=text, orient="row") if rows else pl.DataFrame(schema=text)


def _frames(pupils, fsm, needs, leavers, references: pl.DataFrame, filename: str) -> dict:
    fsm_frame = _typed(fsm, "fsm", ("start", "end"), filename)
    # Each file's pupils with an FSM period covering that file's reference date, as one number
    # (file and line) per pupil.
    place = pl.col("file") * 2**32 + pl.col("line")
    covering = fsm_frame.join(references, on="file").filter(
        (pl.col("start") <= pl.col("reference"))
        & (pl.col("end").is_null() | (pl.col("end") >= pl.col("reference")))
    ).select(place)
    upper = {c: pl.col(c).str.to_uppercase() for c in ("sex", "upn", "former_upn")}
    pupil_frame = _typed(pupils, "pupils", ("dob", "entry_date"), filename, **upper,
                         part_time=_flag("part_time"),
                         fsm_eligible=place.is_in(covering.to_series().implode()))
    need_frame = _typed(needs, "sen_needs")
    if needs.height and (needs["rank"] != "").any():
        bad_rank = need_frame.with_columns(text=needs["rank"]).filter(
            (pl.col("text") != "") & pl.col("rank").is_null())
        if bad_rank.height:
            line, value = bad_rank.select("line", "text").row(0)
            raise FormatError(f"<SENtypeRank> '{value[:10]}' is not a number. {_RESEND}",
                              filename=filename, line=line, column="SENtypeRank")
    leaver_frame = _typed(leavers, "leavers", ("dob", "entry_date", "leaving_date"), filename,
                          **upper)
    return {"pupils": pupil_frame, "fsm": fsm_frame, "sen_needs": need_frame,
            "leavers": leaver_frame}
