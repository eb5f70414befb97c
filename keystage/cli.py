"""The `keystage` command: the scriptable face of the product.

`keystage COMMAND ...` runs the Django management command of that name (hyphens may stand for
underscores), so `keystage migrate`, `keystage user add ...`, `keystage synth OUTDIR` and the
rest share one entry point. Exit status: 0 success, 1 the data has errors that block the job,
2 bad usage or unreadable input.
"""

from __future__ import annotations

import os
import sys

USAGE = """usage: keystage COMMAND [ARGS...]

Commands:
  synth OUTDIR [--la 999] [--schools N] [--year 2026] [--errors RATE] [--seed S] [--national]
                                 write a synthetic world's files (GIAS, cohorts, truth)
  demo                           load the synthetic demo LA, its schools and its users
  serve [--port 8000]            run the web application on 127.0.0.1, with the background worker
  worker [--once]                run queued background jobs
  user add USERNAME --role ROLE (--la LLL | --school LAESTAB | --agency REF) [--email E]
           [--password-stdin]
  user list|disable|enable|unlock ...
  import-gias FILE [--la LLL]    load a GIAS 'all establishments' extract into the register
  migrate                        prepare or upgrade the database
  (any other Django management command runs as `keystage COMMAND`)

Run `keystage COMMAND --help` for a command's options."""


def main(argv: list[str] | None = None) -> int:
    """Run one keystage sub-command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keystage.settings")
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0

    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line, get_commands

    try:
        django.setup()
    except ImproperlyConfigured as error:
        # A deployment mistake (no SECRET_KEY, say): the message says what to set.
        print(f"keystage: {error}", file=sys.stderr)
        return 2
    name = argv[0].replace("-", "_")
    if name not in get_commands():
        print(f"keystage: unknown command {argv[0]!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    try:
        execute_from_command_line(["keystage", name, *argv[1:]])
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
