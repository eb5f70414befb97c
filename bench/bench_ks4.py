"""Issue 14 item 9: the KS4 measures for a national cohort, Attainment 8 and Progress 8 with every
element (550,000 pupils, about 5 million qualification rows), in under 20 s and 1 GB.

Builds, vectorised and from a fixed seed, a results frame in the shape the database read gives
(keystage/analysis/frames.py ks4_frame: record_id, pupil_id, upn, la, laestab, subject, grade),
one row per pupil and qualification: 150 LAs, about 23 secondary schools each, subjects and
grades of the year's KS4 subject list (keystage/formats/data/ks4_subjects.csv) led by a latent
ability (English and maths for nearly all, combined or triple science, humanities, languages,
open subjects; some resits and some subjects outside the list), and KS2 reading and maths
scaled scores (80-120, following the same ability) for 95% of pupils. The database read is not
included.

Each measurement runs in a fresh child process that reads the frames back from a Parquet file,
so its peak (VmHWM, the kernel's high-water mark of the process, polars' native allocations
included; ru_maxrss as the parent sees it agrees) is the measurement's own: reported whole and
over what the process held once it had the input. Measurements: `ks4.ks4` end to end (pupil
scores, capped P8 with the caps worked out from every pupil, the long rows), `ks4.pupil_scores`
alone, and a floor: one polars group-by sum over the same rows.

Run from the project root:
    .venv/bin/python bench/bench_ks4.py [--pupils 550000] [--las 150] [--year 2024] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keystage.formats.ks4_subjects import ks4_subjects  # noqa: E402

# Share of pupils entered for each subject of the list (science by pathway, below).
ENTERED = {"ENGLANG": 0.98, "ENGLIT": 0.93, "MATHS": 0.985, "COMPSCI": 0.14,
           "GEOGRAPHY": 0.45, "HISTORY": 0.47, "FRENCH": 0.22, "SPANISH": 0.24, "GERMAN": 0.07,
           "ART": 0.42, "RELSTUDIES": 0.55, "MUSIC": 0.15, "DRAMA": 0.25, "PE": 0.45,
           "DESIGNTECH": 0.42, "BUSINESS": 0.42}
TRIPLE = ("BIOLOGY", "CHEMISTRY", "PHYSICS")
OUTSIDE = ("STATISTICS", "DANCE", "FILMSTUDIES")  # on some pupils' files, counted nowhere
STEPS = ("floor", "pupil_scores", "ks4")


def frames(pupils: int, las: int, year: int, seed: int = 14) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The results frame (one row per pupil and qualification) and the priors frame."""
    rng = np.random.default_rng(seed)
    listed = [s.subject for s in ks4_subjects(year)]
    subjects = [*listed, *OUTSIDE]
    index = {s: i for i, s in enumerate(subjects)}
    ability = rng.standard_normal(pupils)

    # Pupils: LAs of unequal size, about 23 secondary schools each, in LA order.
    weights = rng.uniform(0.4, 1.6, las)
    la_of = np.sort(rng.choice(las, pupils, p=weights / weights.sum()))
    la_code = 201 + 4 * la_of
    school = rng.integers(0, 23, pupils)
    # Identity numbers in no particular order (a pupil's rows together, as the file has them).
    people = pl.DataFrame({"pupil_id": rng.permutation(pupils) * 3 + 1_000_000,
                           "record_id": np.arange(1, pupils + 1) + 5_000_000,
                           "la_code": la_code, "laestab": la_code * 10_000 + 4000 + school})
    people = people.select(
        "record_id", "pupil_id",
        upn=pl.format("{}{}{}", pl.lit("K"), pl.col("la_code"),
                      (pl.col("pupil_id") % 1_000_000_000).cast(pl.String).str.zfill(9)),
        la=pl.col("la_code").cast(pl.String), laestab=pl.col("laestab").cast(pl.String))

    # Entries: a pupil x subject matrix of who sat what.
    entered = np.zeros((pupils, len(subjects)), dtype=bool)
    for subject, share in ENTERED.items():
        entered[:, index[subject]] = rng.random(pupils) < share
    triple = rng.random(pupils) < np.clip(0.22 + 0.2 * ability, 0.02, 0.9)
    for subject in TRIPLE:
        entered[:, index[subject]] = triple
    entered[:, index["COMBSCI"]] = ~triple & (rng.random(pupils) < 0.94)
    outside = rng.integers(0, len(OUTSIDE), pupils)
    take = rng.random(pupils) < 0.2
    entered[take, index[OUTSIDE[0]] + outside[take]] = True
    pupil_of, subject_of = np.nonzero(entered)
    # Resits: a second maths or English language entry for some.
    resits = [np.flatnonzero(entered[:, index[s]] & (rng.random(pupils) < share))
              for s, share in (("MATHS", 0.1), ("ENGLANG", 0.07))]
    pupil_of = np.concatenate([pupil_of, *resits])
    subject_of = np.concatenate([subject_of, np.full(len(resits[0]), index["MATHS"]),
                                 np.full(len(resits[1]), index["ENGLANG"])])
    order = np.argsort(pupil_of, kind="stable")
    pupil_of, subject_of = pupil_of[order], subject_of[order]
    rows = len(pupil_of)

    # Grades: 9-1 or U following the ability; combined science a pair a grade apart at most.
    raw = 4.6 + 1.9 * ability[pupil_of] + rng.standard_normal(rows)
    grade = np.clip(np.rint(raw), 0, 9).astype(np.int64)  # 0 is U
    second = np.clip(grade - (rng.random(rows) < 0.5), 1, 9)
    singles = ["U", *map(str, range(1, 10))]
    pairs = [f"{g}-{h}" for g in range(1, 10) for h in range(1, 10)]
    combined = subject_of == index["COMBSCI"]
    label = np.where(combined & (grade > 0), 10 + (np.maximum(grade, 1) - 1) * 9 + second - 1,
                     grade)
    results = people[pupil_of].with_columns(
        subject=pl.Series(subjects).gather(subject_of),
        grade=pl.Series([*singles, *pairs]).gather(label))

    # KS2 priors for 95% of pupils, following the same ability: scaled scores as floats, as
    # frames.ks2_priors gives them (where nominal scores may join them).
    known = rng.random(pupils) < 0.95
    scores = {name: np.clip(np.rint(104 + 6.5 * ability + 4 * rng.standard_normal(pupils)),
                            80, 120)[known] for name in ("read", "maths")}
    priors = pl.DataFrame({"pupil_id": people["pupil_id"].to_numpy()[known], **scores})
    return results, priors


def _status(field: str) -> float:
    """VmRSS or VmHWM of this process, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make(folder: Path, pupils: int, las: int, year: int, seed: int) -> None:
    """Build the frames and write them to the folder (in a child: the parent stays small, so
    the children's ru_maxrss is their own); prints what was made as JSON."""
    started = time.perf_counter()
    results, priors = frames(pupils, las, year, seed)
    made = time.perf_counter() - started
    results.write_parquet(folder / "results.parquet")
    priors.write_parquet(folder / "priors.parquet")
    print(json.dumps({"seconds": made, "rows": results.height, "priors": priors.height,
                      "las": results["la"].n_unique(),
                      "schools": results["laestab"].n_unique()}))


def child(step: str, folder: Path, year: int) -> None:
    """One measurement in this (fresh) process; prints its figures as JSON."""
    from keystage.measures import ks4

    started_rss = _status("VmRSS")
    results = pl.read_parquet(folder / "results.parquet")
    priors = pl.read_parquet(folder / "priors.parquet")
    loaded_rss = _status("VmRSS")
    started = time.perf_counter()
    if step == "floor":
        out = results.lazy().group_by("pupil_id").agg(pl.col("record_id").sum(),
                                                      pl.len()).collect()
    elif step == "pupil_scores":
        out = ks4.pupil_scores(results, priors, year)
    else:
        out = ks4.ks4(results, priors, year)
    took = time.perf_counter() - started
    figures = {"step": step, "seconds": took, "rows": out.height, "start_rss": started_rss,
               "loaded_rss": loaded_rss, "peak": _status("VmHWM")}
    if step == "ks4":  # a few figures to check the run by, in expressions that add little
        a8, p8 = pl.col("measure") == "a8", (pl.col("measure") == "p8") & pl.col("counted")
        figures.update(out.select(pupils=a8.sum(), with_p8=p8.sum(),
                                  mean_a8=pl.col("value").filter(a8).mean(),
                                  mean_p8=pl.col("value").filter(p8).mean()).row(0, named=True))
    print(json.dumps(figures))


def run_child(*arguments: str) -> dict:
    """Run this script as a child process; the JSON it prints, with its ru_maxrss (wait4)."""
    proc = subprocess.Popen([sys.executable, __file__, *arguments], stdout=subprocess.PIPE,
                            text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(arguments)} failed ({proc.returncode})")
    return {**json.loads(output.strip().splitlines()[-1]), "maxrss": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=550_000)
    parser.add_argument("--las", type=int, default=150)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each measurement (best time, highest peak reported)")
    parser.add_argument("--child", choices=("make", *STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "make":
        make(args.folder, args.pupils, args.las, args.year, args.seed)
        return
    if args.child:
        child(args.child, args.folder, args.year)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, polars {pl.__version__}, numpy {np.__version__}, "
          f"POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', 'unset')}, "
          f"{time.strftime('%Y-%m-%d')}; MB are MiB")
    runs: dict[str, list[dict]] = {step: [] for step in STEPS}
    with tempfile.TemporaryDirectory(prefix="bench_ks4_") as tmp:
        common = ["--folder", tmp, "--year", str(args.year)]
        made = run_child("--child", "make", *common, "--pupils", str(args.pupils),
                         "--las", str(args.las), "--seed", str(args.seed))
        print(f"input: {args.pupils:,} pupils in {made['las']} LAs and {made['schools']:,} "
              f"schools, {made['rows']:,} result rows ({made['rows'] / args.pupils:.1f} a "
              f"pupil), {made['priors']:,} KS2 priors, year {args.year}; made in "
              f"{made['seconds']:.1f} s")
        for _ in range(args.repeat):
            for step in STEPS:
                runs[step].append(run_child("--child", step, *common))
    loaded = max(run["loaded_rss"] for run in runs["ks4"])
    print(f"holding the input: {loaded:,.0f} MB RSS ({runs['ks4'][0]['start_rss']:,.0f} MB "
          f"of it Python, polars and numpy before the read)")
    best = {}
    for step, label in (("floor", "floor: lazy group_by(pupil_id) sum over the rows"),
                        ("pupil_scores", "ks4.pupil_scores"), ("ks4", "ks4.ks4 end to end")):
        times = sorted(run["seconds"] for run in runs[step])
        best[step] = times[0]
        peak = max(run["peak"] for run in runs[step])
        maxrss = max(run["maxrss"] for run in runs[step])
        over = max(run["peak"] - run["loaded_rss"] for run in runs[step])
        spread = f" (of {len(times)}: {times[0]:.2f}-{times[-1]:.2f} s)" if len(times) > 1 else ""
        print(f"{label}: {times[0]:.2f} s{spread}, {runs[step][0]['rows']:,} rows out; "
              f"peak {peak:,.0f} MB (ru_maxrss {maxrss:,.0f} MB), {over:,.0f} MB over "
              f"holding the input")
    got = runs["ks4"][0]
    print(f"ks4: {got['pupils']:,} pupils, {got['with_p8']:,} with P8; mean A8 "
          f"{got['mean_a8']:.2f}, mean capped P8 {got['mean_p8']:+.3f}")
    peak = max(run["peak"] for run in runs["ks4"])
    print(f"target under 20 s: {'met' if best['ks4'] < 20 else 'NOT met'}; under 1 GB peak: "
          f"{'met' if peak < 1000 else 'NOT met'} ({peak / 1024:.2f} GiB, "
          f"{peak * 2**20 / 1e9:.2f} GB); ks4 to the floor {best['ks4'] / best['floor']:,.0f}x, "
          f"pupil_scores to the floor {best['pupil_scores'] / best['floor']:,.0f}x")


if __name__ == "__main__":
    main()
