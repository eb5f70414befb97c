"""Children per second reading (and schema-checking) the peers' SSDA903 and CIN census files.

Reads every file in shared/data/peers/ssda903 (the CSV tables as one return, less
placed_for_adoption_errors.csv, a second placed_for_adoption table; and fake_903.xml) and
shared/data/peers/cin, --repeat times, with the pure readers, then runs the schema checks over
what was read. The peers' own validators took 10.2 s for the 2,675 children of the 903 tables
(about 260 children/s) and 4.1 s for the CIN census files (332 children in the largest, about 80
children/s) on a 2-core machine (shared/data/peers/README.md).

Run from the project root:
    .venv/bin/python bench/bench_socialcare_read.py [--repeat N] [--peers DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keystage.formats.cin import read_cin  # noqa: E402
from keystage.formats.socialcare_checks import check_cin, check_ssda903  # noqa: E402
from keystage.formats.ssda903 import read_ssda903_return, read_ssda903_xml  # noqa: E402

PEER_RATE = {"ssda903": 2675 / 10.2, "cin": 332 / 4.1}
YEAR = 2026


def _peers() -> Path:
    # The shared folder sits beside the checkout, or further up for a worktree of it.
    for folder in ROOT.parents:
        if (folder / "shared" / "data" / "peers").is_dir():
            return folder / "shared" / "data" / "peers"
    return ROOT.parent / "shared" / "data" / "peers"


def _time(label: str, children: int, seconds: float, peer: float) -> None:
    rate = children / seconds if seconds else float("inf")
    print(f"{label:<34} {children:>7,} children in {seconds:6.2f} s: {rate:>9,.0f} children/s "
          f"({rate / peer:,.0f} times the peer's ~{peer:,.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peers", default=str(_peers()))
    args = parser.parse_args()
    peers = Path(args.peers)
    tables = [(p.name, p.read_bytes()) for p in sorted((peers / "ssda903").glob("*.csv"))
              if p.name != "placed_for_adoption_errors.csv"]
    xml_903 = (peers / "ssda903" / "fake_903.xml").read_bytes()
    cins = [(p.name, p.read_bytes()) for p in sorted((peers / "cin").glob("*.xml"))]
    if not tables or not cins:
        raise SystemExit(f"no peer files in {peers}")

    read: dict[str, list] = {"csv": [], "xml": [], "cin": []}
    started = time.perf_counter()
    for _ in range(args.repeat):
        read["csv"].append(read_ssda903_return(tables, year=YEAR))
    csv_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(args.repeat):
        read["xml"].append(read_ssda903_xml(xml_903, filename="fake_903.xml", year=YEAR))
    xml_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(args.repeat):
        read["cin"].extend(read_cin(data, filename=name) for name, data in cins)
    cin_seconds = time.perf_counter() - started

    def children(files, frame):
        return sum(f.frames[frame].height for f in files)

    _time("903 CSV tables, read", children(read["csv"], "header"), csv_seconds,
          PEER_RATE["ssda903"])
    _time("903 XML export, read", children(read["xml"], "header"), xml_seconds,
          PEER_RATE["ssda903"])
    _time("CIN census files, read", children(read["cin"], "children"), cin_seconds,
          PEER_RATE["cin"])
    started = time.perf_counter()
    found = sum(len(check_ssda903(f, YEAR)) for f in read["csv"] + read["xml"])
    checks_903 = time.perf_counter() - started
    started = time.perf_counter()
    found_cin = sum(len(check_cin(f, f.year or YEAR)) for f in read["cin"])
    checks_cin = time.perf_counter() - started
    _time(f"903, read and checked ({found:,} found)",
          children(read["csv"] + read["xml"], "header"), csv_seconds + xml_seconds + checks_903,
          PEER_RATE["ssda903"])
    _time(f"CIN, read and checked ({found_cin:,} found)", children(read["cin"], "children"),
          cin_seconds + checks_cin, PEER_RATE["cin"])


if __name__ == "__main__":
    main()
