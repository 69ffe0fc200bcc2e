#!/usr/bin/env python
import os
import sys


def main() -> None:
    """Django's manage.py; a bad setting or a database that does not answer is one line on
    stderr and a non-zero exit, never a traceback."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topology.settings")
    from topology.environment import settings_or_exit

    settings_or_exit("manage.py")
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as error:
        reason = " ".join(str(error).split())
        print(f"manage.py: the database (DATABASE_URL) did not answer: {reason}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
