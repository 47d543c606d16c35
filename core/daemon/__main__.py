"""``python -m tillbridge.daemon [--database-url URL] [-v] [RUN OPTIONS]``: ``tillbridge run``.

The same command and options as ``tillbridge run`` (root options may come first), without
loading the rest of the CLI: a daemon restarted by a supervisor is up sooner.
"""

from __future__ import annotations

import os
import sys

ROOT_OPTIONS_WITH_VALUE = {"--database-url"}
ROOT_FLAGS = {"-v", "--verbose"}


def split_arguments(argv: list[str]) -> tuple[str | None, list[str]]:
    """(database URL, ``tillbridge run`` arguments) from ``[root options] [run options]``."""
    database: str | None = None
    rest = list(argv)
    while rest:
        head = rest[0]
        if head in ROOT_FLAGS:
            rest.pop(0)
        elif head in ROOT_OPTIONS_WITH_VALUE and len(rest) > 1:
            database = rest[1]
            del rest[:2]
        elif head.startswith("--database-url="):
            database = rest.pop(0).split("=", 1)[1]
        else:
            break
    return database, rest


def main() -> None:
    import click

    from ..cli.base import CliState, UserError
    from ..cli.commands_daemon import run_command
    from ..errors import TillbridgeError

    database, args = split_arguments(sys.argv[1:])
    state = CliState(database or os.environ.get("TILLBRIDGE_DATABASE_URL"))
    try:
        run_command.main(args=args, prog_name="python -m tillbridge.daemon", obj=state, standalone_mode=False)
    except TillbridgeError as exc:  # "Error: … → fix", as the tillbridge command shows it
        UserError(exc).show()
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(1)


if __name__ == "__main__":
    main()
