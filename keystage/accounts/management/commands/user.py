"""keystage user: add, list, disable, enable and unlock users from the command line."""

import sys

from django.core.management.base import BaseCommand, CommandError

from keystage.accounts.actions import (
    ScopeError,
    do_create_user,
    do_set_password,
    do_set_user_active,
    do_unlock_user,
)
from keystage.accounts.models import Role, User
from keystage.accounts.throttle import with_locked_out
from keystage.schools.models import Establishment, LocalAuthority


class Command(BaseCommand):
    help = "Manage users: add, list, disable, enable, unlock."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True, parser_class=type(parser))
        add = sub.add_parser("add", help="add a user", called_from_command_line=True)
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=Role.values)
        scope = add.add_mutually_exclusive_group()
        scope.add_argument("--la", help="three-digit LA code, for LA roles")
        scope.add_argument("--school", help="LAESTAB (or EY URN), for school users")
        scope.add_argument("--agency", help="the agency's reference, for agency users")
        add.add_argument("--email", default="")
        add.add_argument("--first-name", default="")
        add.add_argument("--last-name", default="")
        add.add_argument("--password-stdin", action="store_true",
                         help="read the password from the first line of standard input")
        listing = sub.add_parser("list", help="list users", called_from_command_line=True)
        listing.add_argument("--la")
        for verb in ("disable", "enable", "unlock"):
            p = sub.add_parser(verb, help=f"{verb} a user", called_from_command_line=True)
            p.add_argument("username")
            p.add_argument("--reason", default="")

    def handle(self, *args, verb: str, **options):
        getattr(self, f"handle_{verb}")(**options)

    def handle_add(self, username, role, la, school, email, first_name, last_name,
                   password_stdin, agency=None, **options):
        la_obj = school_obj = agency_obj = None
        if agency:
            from keystage.transfer.models import Agency

            agency_obj = Agency.objects.filter(reference__iexact=agency).first()
            if agency_obj is None:
                raise CommandError(f"No agency has the reference {agency}: an LA registers it "
                                   "on its Agencies page first.", returncode=2)
        if la:
            la_obj = LocalAuthority.objects.filter(code=la).first()
            if la_obj is None:
                raise CommandError(f"No local authority {la} in the register. Import a GIAS "
                                   "extract for it first (keystage import-gias).", returncode=2)
        if school:
            school_obj = (
                Establishment.objects.filter(laestab=school, status__startswith="Open").first()
                or Establishment.objects.filter(urn=school).first()
                or Establishment.objects.filter(laestab=school).first()
            )
            if school_obj is None:
                raise CommandError(f"No school with LAESTAB or URN {school} in the register.",
                                   returncode=2)
        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("No password on standard input.", returncode=2)
        try:
            user = do_create_user(
                username, role=role, la=la_obj, school=school_obj, email=email,
                first_name=first_name, last_name=last_name, acting_user=None, agency=agency_obj,
            )
            if password:
                do_set_password(user, password, acting_user=None)
        except (ScopeError, ValueError) as error:
            raise CommandError(str(error), returncode=2) from None
        scope = user.school or user.la or user.agency or "national"
        self.stdout.write(f"Added {user.username} ({user.get_role_display()}, {scope}).")
        if not password:
            self.stdout.write("No password set: the user sets one with 'Forgotten your password?'.")

    def handle_list(self, la=None, **options):
        users = with_locked_out(User.objects.select_related("la", "school")).order_by("username")
        if la:
            users = users.filter(la__code=la)
        for user in users:
            scope = user.school.identifier if user.school else (user.la.code if user.la else "-")
            locked = "locked" if user.locked_out else "active"
            state = "disabled" if not user.is_active else locked
            self.stdout.write(f"{user.username}\t{user.role}\t{scope}\t{state}")

    def _user(self, username):
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"No user called {username}.", returncode=2)
        return user

    def handle_disable(self, username, reason, **options):
        try:
            do_set_user_active(self._user(username), False, acting_user=None, reason=reason)
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(f"Disabled {username}.")

    def handle_enable(self, username, reason, **options):
        do_set_user_active(self._user(username), True, acting_user=None, reason=reason)
        self.stdout.write(f"Enabled {username}.")

    def handle_unlock(self, username, reason, **options):
        do_unlock_user(self._user(username), acting_user=None, reason=reason)
        self.stdout.write(f"Unlocked {username}.")
