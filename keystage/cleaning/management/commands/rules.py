"""keystage rules: list, write out or check the cleaning rule sets."""

from django.core.management.base import BaseCommand, CommandError

from keystage.cleaning.ruleset import RuleSetError, dump_rule_set, load_rule_set, rule_set_for
from keystage.core.inputs import assessment_year


class Command(BaseCommand):
    help = "List the cleaning rules in force in a year, write them out as CSV, or check a file."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="the rules in force in a year")
        listing.add_argument("--year", type=assessment_year, required=True)
        export = sub.add_parser("export", help="write a year's rule set as CSV")
        export.add_argument("--year", type=assessment_year, required=True)
        export.add_argument("--out", required=True)
        check = sub.add_parser("check", help="read a rule-set CSV and report any problem")
        check.add_argument("file")

    def handle(self, *args, action, **options):
        if action == "check":
            try:
                rule_set = load_rule_set(options["file"])
            except (RuleSetError, OSError) as error:
                raise CommandError(str(error), returncode=2) from None
            self.stdout.write(f"{options['file']}: rule set {rule_set.version}, "
                              f"{len(rule_set.rules)} rules, all valid.")
            return
        try:
            rule_set = rule_set_for(options["year"])
        except LookupError as error:
            raise CommandError(str(error), returncode=2) from None
        if action == "export":
            dump_rule_set(rule_set, options["out"])
            self.stdout.write(f"Wrote rule set {rule_set.version} ({len(rule_set.rules)} rules) "
                              f"to {options['out']}.")
            return
        for rule in rule_set.rules:
            self.stdout.write(f"{rule.code}  {rule.severity:<5}  "
                              f"{' '.join(sorted(rule.collections)):<28}  {rule.title}")
