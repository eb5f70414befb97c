"""keystage demo: load the synthetic demo LA, its schools, PVI settings and users."""

import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from keystage.accounts.actions import do_create_user
from keystage.accounts.models import Role, User
from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.schools.actions import (
    do_add_pvi_setting,
    do_import_establishments,
    do_set_current_year,
)
from keystage.schools.models import Establishment, LocalAuthority

DEMO_PASSWORD = "keystage-demo"
DEMO_USERS = (
    ("admin", Role.LA_ADMIN),
    ("officer", Role.LA_DATA_OFFICER),
    ("analyst", Role.LA_ANALYST),
    ("transfers", Role.TRANSFER_OFFICER),
    ("lostpupils", Role.LOST_PUPILS_OFFICER),
    ("virtualschool", Role.VIRTUAL_SCHOOL),
    ("school", Role.SCHOOL_USER),
)


class Command(BaseCommand):
    help = "Load the synthetic demo LA (999), its schools and PVI settings, and demo users."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when the database already has a local authority")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--year", type=int, default=2026, help="assessment year")
        parser.add_argument("--schools", type=int, default=None, help="primary schools")
        parser.add_argument("--no-files", action="store_true",
                            help="load the register and users only, no assessment files")

    def handle(self, *args, if_empty, seed, year, schools, no_files, **options):
        if if_empty and LocalAuthority.objects.exists():
            self.stdout.write("The database already has data: demo not loaded.")
            self._print_logins()
            return
        if LocalAuthority.objects.filter(code="999").exists():
            self.stdout.write("The demo LA 999 is already loaded.")
            self._print_logins()
            return
        from keystage.synth import render
        from keystage.synth.world import WorldSpec, build_world

        world = build_world(WorldSpec(seed=seed, la_codes=("999",), primary_schools=schools,
                                      year=year))
        with tempfile.TemporaryDirectory() as tmp:
            gias = Path(tmp) / "gias_establishments.csv"
            render.write_gias_extract(world, gias)
            with transaction.atomic():
                outcome = do_import_establishments(
                    gias.read_bytes(), filename="demo_gias_establishments.csv", acting_user=None
                )
                la = LocalAuthority.objects.get(code="999")
                pvis = world.schools.filter(world.schools["kind"] == "pvi")
                for row in pvis.iter_rows(named=True):
                    do_add_pvi_setting(
                        la, urn=row["urn"], name=row["name"], postcode=row["postcode"] or "",
                        acting_user=None, reason="Demo data",
                    )
                do_set_current_year(la, year - 1, acting_user=None)
                first_primary = (
                    Establishment.objects.filter(la=la, phase="Primary", status="Open")
                    .order_by("laestab").first()
                )
                for name, role in DEMO_USERS:
                    do_create_user(
                        name, role=role, la=None if role == Role.SCHOOL_USER else la,
                        school=first_primary if role == Role.SCHOOL_USER else None,
                        email=f"{name}@demo.keystage.invalid", password=DEMO_PASSWORD,
                        first_name=name.capitalize(), last_name="Demo", acting_user=None,
                    )
                from keystage.transfer.agencies import do_register_agency

                agency = do_register_agency(la, name="Demo Health Visiting Service",
                                            kind="health", acting_user=None)
                do_create_user("agency", role=Role.AGENCY_USER, agency=agency,
                               password=DEMO_PASSWORD, email="agency@demo.keystage.invalid",
                               acting_user=None)
                if not User.objects.filter(username="national").exists():
                    do_create_user("national", role=Role.NATIONAL_ANALYST, password=DEMO_PASSWORD,
                                   email="national@demo.keystage.invalid", acting_user=None)
                record_event(EventType.DEMO_LOADED, acting_user=None, la=la,
                             summary=f"Demo LA loaded from seed {seed}", seed=seed, year=year)
        if not no_files:
            self._load_files(world, la, year, seed)
        self.stdout.write(outcome.summary())
        self.stdout.write(f"Demo LA 999 loaded: {Establishment.objects.filter(la=la).count()} "
                          f"establishments ({pvis.height} PVI settings).")
        self._print_logins()

    def _load_files(self, world, la, year, seed):
        """Expected cohorts and most schools' CTFs; every tenth school is left missing."""
        from keystage.collection.actions import do_import_batch, do_import_expected_cohorts
        from keystage.synth import render
        from keystage.synth.ctf_writer import write_ctfs, write_earlier_phonics_ctfs

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            render.write_expected_cohorts(world, folder / "expected_cohorts.csv")
            do_import_expected_cohorts(
                (folder / "expected_cohorts.csv").read_bytes(), filename="expected_cohorts.csv",
                la=la, acting_user=None,
            )
            # Last year's phonics first, as an LA that used Keystage then would have it.
            earlier = write_earlier_phonics_ctfs(world, folder / "previous", seed=seed)
            do_import_batch(
                ((f.path.name, f.path.read_bytes()) for f in earlier.files), la=la,
                year=year - 1, acting_user=None,
            )
            report = write_ctfs(world, folder, errors=0.02, seed=seed)
            sent = [f for f in report.files if int(f.urn) % 10 != 3]
            batch = do_import_batch(
                ((f.path.name, f.path.read_bytes()) for f in sent), la=la, year=year,
                acting_user=None,
            )
            # The spring census, pupil premium and results files of the same world.
            from keystage.synth.context_writers import write_context_files

            context = write_context_files(world, folder / "context", seed=seed)
            paths = [*context.census, context.pupil_premium, context.ks2, context.ks4,
                     context.ks5]
            context_batch = do_import_batch(
                ((p.name, p.read_bytes()) for p in paths), la=la, year=year, acting_user=None)
            # The LA's social care returns of the same world, for the virtual school.
            from keystage.synth.socialcare_writers import write_socialcare

            care = write_socialcare(world, folder / "context", seed=seed)
            care_paths = [*sorted(care.ssda903[la.code].glob("*.csv")), care.cin[la.code]]
            care_batch = do_import_batch(
                ((p.name, p.read_bytes()) for p in care_paths), la=la, year=year,
                acting_user=None)
            self.stdout.write("Loaded the social care returns: " + "; ".join(
                sorted({o.message.split(": ", 1)[-1] for o in care_batch.outcomes})))
            # Schools' transfer files: pupils who moved, and pupils whose destination nobody
            # knew (most of them are on the census just loaded, so they are found at once).
            from keystage.schools.models import Establishment
            from keystage.synth.transfer_writers import write_transfers
            from keystage.transfer.actions import send_transfer_files

            transfers = write_transfers(world, folder / "context", seed=seed)
            schools = {s.laestab: s for s in Establishment.objects.filter(la=la)}
            sent = []
            for path in [*transfers.sent, *transfers.lost]:
                sender = schools.get(path.name[:7])
                if sender is not None:
                    sent += send_transfer_files([(path.name, path.read_bytes())],
                                                from_school=sender, acting_user=None)
            states = {}
            for outcome in sent:
                states[outcome.status] = states.get(outcome.status, 0) + 1
            self.stdout.write("Sent the schools' transfer files: " + ", ".join(
                f"{n} {status}" for status, n in sorted(states.items())) + ".")
        outcomes, runs = batch.outcomes, batch.runs + context_batch.runs
        context_loaded = sum(1 for o in context_batch.outcomes if o.status == "committed")
        self.stdout.write(f"Loaded {context_loaded} of {len(paths)} census, pupil premium and "
                          "results files.")
        loaded = sum(1 for o in outcomes if o.status == "committed")
        missing = len(report.files) - len(sent)
        self.stdout.write(f"Loaded {loaded} of {len(report.files)} demo assessment files "
                          f"({missing} files, from every tenth school, left missing).")
        for run in runs:
            self.stdout.write(f"Checked {run.collection}: {run.errors} errors and "
                              f"{run.queries} queries.")

    def _print_logins(self):
        names = [n for n, _ in DEMO_USERS] + ["national", "agency"]
        users = User.objects.filter(username__in=names)
        if not users.exists():
            return
        self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
        for user in users.select_related("la", "school").order_by("username"):
            self.stdout.write(f"  {user.username:<12} {user.get_role_display()} — "
                              f"{user.organisation_name}")
