"""keystage synth: write a synthetic world's files, deterministically from a seed."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from keystage.formats.la_codes import is_known_la_code


class Command(BaseCommand):
    help = ("Build a synthetic world (LAs, schools, PVI settings, pupils with characteristics "
            "and outcomes) from a seed and write its files to OUTDIR.")

    def add_arguments(self, parser):
        parser.add_argument("outdir")
        parser.add_argument("--la", default="999",
                            help="LA code, or several separated by commas (default 999, the demo)")
        parser.add_argument("--national", action="store_true",
                            help="every current English LA, about 600,000 pupils per year group")
        parser.add_argument("--schools", type=int, default=None,
                            help="primary schools per LA (default: 60 for the demo LA 999, a "
                            "realistic size for each real LA)")
        parser.add_argument("--year", type=int, default=2026,
                            help="assessment year: the summer of the statutory assessments")
        parser.add_argument("--errors", type=float, default=0.0,
                            help="share of records given planted errors by the file writers")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, outdir, la, national, schools, year, errors, seed, **options):
        from keystage.synth import render
        from keystage.synth.world import WorldSpec, build_world, national_spec

        if not 0.0 <= errors <= 1.0:
            raise CommandError("--errors is a share between 0 and 1, like 0.02.", returncode=2)
        if schools is not None and schools < 1:
            raise CommandError("--schools must be at least 1.", returncode=2)
        if national:
            spec = national_spec(seed=seed, year=year)
        else:
            codes = tuple(code.strip() for code in la.split(",") if code.strip())
            unknown = [code for code in codes if not is_known_la_code(code)]
            if not codes or unknown:
                raise CommandError(f"--la {la}: not a known LA code ({', '.join(unknown)}). Use "
                                   "three-digit DfE LA codes, or 999 for the demo LA.",
                                   returncode=2)
            try:
                spec = WorldSpec(seed=seed, la_codes=codes, primary_schools=schools, year=year)
            except ValueError as error:
                raise CommandError(f"{error}", returncode=2) from None
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        world = build_world(spec)
        render.write_gias_extract(world, out / "gias_establishments.csv")
        render.write_pvi_settings(world, out / "pvi_settings.csv")
        render.write_expected_cohorts(world, out / "expected_cohorts.csv")
        render.write_truth(world, out)
        from keystage.synth.ctf_writer import (
            write_ctf_batch_zip,
            write_ctfs,
            write_earlier_phonics_ctfs,
        )

        ctfs = write_ctfs(world, out, errors=errors, seed=seed)
        ctfs.planted.write_csv(out / "truth" / "planted_errors.csv")
        write_ctf_batch_zip(ctfs, out / "ctf_batch.zip")
        earlier = write_earlier_phonics_ctfs(world, out / "previous", seed=seed)
        from keystage.synth.context_writers import write_context_files

        context = write_context_files(world, out, seed=seed)
        from keystage.synth.socialcare_writers import write_socialcare

        care = write_socialcare(world, out, seed=seed)
        from keystage.synth.transfer_writers import write_transfers

        transfers = write_transfers(world, out, seed=seed)
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Wrote a world of {world.las.height} LA(s), {world.schools.height} establishments "
            f"and {world.pupils.height} pupils to {out} in {seconds:.1f} s (seed {seed}, "
            f"assessment year {year}): {len(ctfs.files)} CTF files in ctf/ (also "
            f"ctf_batch.zip), {ctfs.planted.height} planted errors listed in "
            f"truth/planted_errors.csv, and {len(earlier.files)} files of the {year - 1} phonics "
            "check of today's Year 2 pupils in previous/ctf/. Context files: "
            f"{len(context.census)} spring census returns in census/ (also census_batch.zip), "
            "pupil_premium.csv, ks2_results.csv, ks4_results.csv and ks5_results.csv, with "
            f"{context.planted.height} planted identity variants in truth/context_planted.csv. "
            f"Social care: {len(care.ssda903)} SSDA903 folders and CIN censuses in socialcare/, "
            f"{care.truth.height} children in truth/socialcare_truth.csv. Transfers: "
            f"{len(transfers.sent)} full CTFs between schools in transfers/sent/ and "
            f"{len(transfers.lost)} to unknown destinations in transfers/lost/, "
            f"{transfers.truth.height} pupils in truth/transfer_truth.csv."
        )
