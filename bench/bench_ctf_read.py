"""Time CtfReader on a synthetic EYFSP CTF (50,000 pupils x 17 assessments) against lxml alone.

Also the whole-file reader (read_ctf_frames) against the streaming reader making the same frames;
the import reads files whole up to 8 MB, so compare them with --pupils 1000 (about 7.4 MB), or on
real-sized school files with --folder DIR (e.g. the ctf/ folder `keystage synth` writes).

The floor is lxml's iterparse over the same file touching every element and doing nothing else
(the usual streaming loop: end events, each Pupil cleared and dropped). Each measurement runs in
its own process so that its peak RSS is its own.

Run from the project root: .venv/bin/python bench/bench_ctf_read.py [--pupils N] [--repeat N]
[--folder DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keystage.formats.ctf import CtfFrames, CtfReader, read_ctf_frames  # noqa: E402
from keystage.formats.upn import make_upn  # noqa: E402

AREAS = "COM COM PSE PSE PSE PHY PHY LIT LIT LIT MAT MAT UTW UTW UTW EXP EXP".split()
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "O'Neill", "Nowak", "Khan", "Zoë"]
FORENAMES = ["Amy", "Oliver", "Noah", "Isla", "Mohammed", "Ava", "Leo", "Freya", "Chloé"]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_ctf(path: Path, pupils: int, seed: int = 1) -> None:
    """Write an indented EYFSP CTF pupil by pupil, as an MIS would, with little memory."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="\r\n") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>\n  <Header>\n'
            "    <DocumentName>Common Transfer File</DocumentName>\n"
            "    <CTFversion>25.0</CTFversion>\n    <DateTime>2026-06-19T14:03:11</DateTime>\n"
            "    <DocumentQualifier>partial</DocumentQualifier>\n"
            "    <DataQualifier>FSP</DataQualifier>\n    <SupplierID>BenchMIS</SupplierID>\n"
            "    <SourceSchool>\n      <LEA>999</LEA>\n      <Estab>2000</Estab>\n"
            "      <URN>100000</URN>\n      <SchoolName>Bench Primary</SchoolName>\n"
            "      <AcademicYear>2025</AcademicYear>\n    </SourceSchool>\n"
            "    <DestSchool>\n      <LEA>999</LEA>\n      <Estab>LLLL</Estab>\n"
            "    </DestSchool>\n  </Header>\n  <CTFpupilData>\n"
        )
        for n in range(pupils):
            rows = []
            for i, area in enumerate(AREAS):
                rows.append(
                    "          <StageAssessment>\n"
                    "            <Locale>ENG</Locale>\n            <Year>2026</Year>\n"
                    f"            <Subject>{area}</Subject>\n            <Method>TA</Method>\n"
                    f"            <Component>E{i + 1:02d}</Component>\n"
                    "            <ResultStatus>R</ResultStatus>\n"
                    "            <ResultQualifier>FD</ResultQualifier>\n"
                    f"            <Result>{rng.choice('1222A') if i else '2'}</Result>\n"
                    "            <ResultDate>2026-06-12</ResultDate>\n"
                    "          </StageAssessment>\n"
                )
            out.write(
                "    <Pupil>\n"
                f"      <UPN>{make_upn('999', '2000', 21, n % 1000)}</UPN>\n"
                f"      <Surname>{rng.choice(SURNAMES).replace(chr(39), '&apos;')}</Surname>\n"
                f"      <Forename>{rng.choice(FORENAMES)}</Forename>\n"
                f"      <DOB>2020-{rng.randrange(9, 13):02d}-{rng.randrange(1, 29):02d}</DOB>\n"
                f"      <Sex>{rng.choice('MF')}</Sex>\n"
                "      <BasicDetails>\n        <MiddleNames/>\n"
                "        <NCyearActual>R</NCyearActual>\n        <Ethnicity>WBRI</Ethnicity>\n"
                "      </BasicDetails>\n      <StageAssessments>\n        <KeyStage>\n"
                "          <Stage>FSP</Stage>\n" + "".join(rows) + "        </KeyStage>\n"
                "      </StageAssessments>\n    </Pupil>\n"
            )
        out.write("  </CTFpupilData>\n</CTfile>\n")


def measure_reader(path: Path) -> dict[str, float]:
    """Consume every pupil and every assessment; the seconds, counts and peak RSS."""
    start = time.perf_counter()
    pupils = rows = 0
    with CtfReader(path, filename=path.name, max_bytes=4 * 1024**3) as reader:
        for pupil in reader.pupils():
            pupils += 1
            rows += len(pupil.assessments)
    return {"seconds": time.perf_counter() - start, "pupils": pupils, "rows": rows}


def measure_floor(path: Path) -> dict[str, float]:
    """lxml iterparse alone: every element's end event is touched, each Pupil dropped."""
    from lxml import etree

    start = time.perf_counter()
    elements = pupils = 0
    for _event, element in etree.iterparse(str(path), events=("end",)):
        elements += 1
        if element.tag == "Pupil":
            pupils += 1
            element.clear()
            parent = element.getparent()
            while element.getprevious() is not None:
                del parent[0]
    return {"seconds": time.perf_counter() - start, "pupils": pupils, "rows": elements}


def measure_parse_only(path: Path) -> dict[str, float]:
    """lxml's parser with no per-element events at all (the C parser and tree building only)."""
    from lxml import etree

    start = time.perf_counter()
    parser = etree.XMLPullParser(events=("start",), tag="CTfile")
    root = None
    with path.open("rb") as handle:
        while chunk := handle.read(256 * 1024):
            parser.feed(chunk)
            for _event, element in parser.read_events():
                root = element
            if root is not None:
                for container in root[1:]:
                    del container[: max(len(container) - 1, 0)]
        parser.close()
    return {"seconds": time.perf_counter() - start, "pupils": 0, "rows": 0}


def _files(path: Path) -> list[Path]:
    """The file, or every CTF in a folder (--folder)."""
    return sorted(path.glob("*.xml")) if path.is_dir() else [path]


def measure_reader_frames(path: Path) -> dict[str, float]:
    """The streaming reader's pupils made into the frames the whole-file reader gives."""
    start = time.perf_counter()
    pupils = rows = 0
    for one in _files(path):
        with CtfReader(one, filename=one.name, max_bytes=4 * 1024**3) as reader:
            frames = CtfFrames.from_pupils(reader.header, reader.warnings, reader.pupils())
        pupils, rows = pupils + frames.pupils.height, rows + frames.rows.height
    return {"seconds": time.perf_counter() - start, "pupils": pupils, "rows": rows}


def measure_whole(path: Path, *, row_lines: bool = False) -> dict[str, float]:
    """The whole-file reader (as the import calls it: rows without their lines)."""
    start = time.perf_counter()
    pupils = rows = 0
    for one in _files(path):
        frames = read_ctf_frames(one, filename=one.name, max_bytes=4 * 1024**3,
                                 row_lines=row_lines)
        pupils, rows = pupils + frames.pupils.height, rows + frames.rows.height
    return {"seconds": time.perf_counter() - start, "pupils": pupils, "rows": rows}


MEASURES = {"reader": measure_reader, "floor": measure_floor, "parse": measure_parse_only,
            "frames": measure_reader_frames, "whole": measure_whole,
            "whole-lines": lambda path: measure_whole(path, row_lines=True)}


def run_child(kind: str, path: Path) -> dict[str, float]:
    """Run one measurement in a fresh process and return its figures."""
    output = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


def compare_on_folder(folder: Path, repeat: int) -> None:
    """The streaming reader into frames against the whole-file reader, over a folder's files,
    each measured in turn `repeat` times (best of each reported)."""
    kinds = {"frames": "CtfReader into frames", "whole": "read_ctf_frames",
             "whole-lines": "read_ctf_frames, lines"}
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for _ in range(repeat):
        for kind in kinds:
            runs[kind].append(run_child(kind, folder))
    files = len(_files(folder))
    for kind, label in kinds.items():
        best = min(r["seconds"] for r in runs[kind])
        print(f"{label:24} best {best:6.2f} s over {repeat} runs; {files} files, "
              f"{runs[kind][0]['pupils']:,.0f} pupils, {runs[kind][0]['rows']:,.0f} rows; peak "
              f"RSS {max(r['peak_rss_mb'] for r in runs[kind]):.0f} MB")
    best = {kind: min(r["seconds"] for r in runs[kind]) for kind in kinds}
    print(f"streaming into frames / whole-file reader: {best['frames'] / best['whole']:.2f}x")


def main() -> None:
    """Generate the file, time the reader and the floors, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--folder", help="compare the streaming and whole-file readers on the "
                        "CTFs of this folder (e.g. a synthetic LA's ctf/) instead")
    parser.add_argument("--measure", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        figures = MEASURES[args.measure](Path(args.path))
        figures["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(figures))
        return

    if args.folder:
        compare_on_folder(Path(args.folder), args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "9992000_FSP_999LLLL_001.xml"
        start = time.perf_counter()
        write_ctf(path, args.pupils)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {args.pupils:,} pupils x 17 assessments, {size_mb:.1f} MB "
            f"in {time.perf_counter() - start:.1f} s"
        )
        results: dict[str, list[dict[str, float]]] = {kind: [] for kind in MEASURES}
        for _ in range(args.repeat):
            for kind in MEASURES:
                results[kind].append(run_child(kind, path))
        best = {kind: min(r["seconds"] for r in runs) for kind, runs in results.items()}
        rss = {kind: max(r["peak_rss_mb"] for r in runs) for kind, runs in results.items()}
        reader = results["reader"][0]
        assert reader["pupils"] == args.pupils, reader
        for kind, label in (
            ("reader", "CtfReader.pupils()"),
            ("floor", "floor: lxml iterparse"),
            ("parse", "lxml parse, no events"),
            ("frames", "CtfReader into frames"),
            ("whole", "read_ctf_frames"),
            ("whole-lines", "read_ctf_frames, lines"),
        ):
            seconds = best[kind]
            print(
                f"{label:24} best {seconds:6.2f} s over {args.repeat} runs; "
                f"{args.pupils / seconds:9,.0f} pupils/s; {size_mb / seconds:6.1f} MB/s "
                f"({size_mb * 60 / 1000 / seconds:.2f} GB/min); peak RSS {rss[kind]:.0f} MB"
            )
        print(
            f"reader / floor: {best['reader'] / best['floor']:.2f}x; "
            f"{reader['rows']:,.0f} assessments read; streaming into frames / whole-file "
            f"reader: {best['frames'] / best['whole']:.2f}x"
        )


if __name__ == "__main__":
    main()
