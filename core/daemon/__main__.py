"""``python -m tillbridge.daemon [ROOT OPTIONS] [RUN OPTIONS]``: the same as ``tillbridge run``.

Root options (``--database-url URL``, ``-v``) may come first, as with ``tillbridge``; the rest
are ``tillbridge run``'s. Handy under process supervisors that want a module, and in tests.
"""

from __future__ import annotations

import sys

ROOT_OPTIONS_WITH_VALUE = {"--database-url"}
ROOT_FLAGS = {"-v", "--verbose"}


def split_arguments(argv: list[str]) -> list[str]:
    """``[root options] run [run options]`` from ``[root options] [run options]``."""
    root: list[str] = []
    rest = list(argv)
    while rest:
        head = rest[0]
        if head in ROOT_FLAGS:
            root.append(rest.pop(0))
        elif head in ROOT_OPTIONS_WITH_VALUE and len(rest) > 1:
            root += [rest.pop(0), rest.pop(0)]
        elif head.split("=", 1)[0] in ROOT_OPTIONS_WITH_VALUE and "=" in head:
            root.append(rest.pop(0))
        else:
            break
    return [*root, "run", *rest]


def main() -> None:
    from ..cli.main import build_cli

    build_cli().main(args=split_arguments(sys.argv[1:]), prog_name="python -m tillbridge.daemon")


if __name__ == "__main__":
    main()
