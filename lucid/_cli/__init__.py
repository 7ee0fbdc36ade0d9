"""``python -m lucid``: one entry per command in :data:`COMMANDS`, each a ``main(argv)``.

Adding a command is one line here and a module with ``main(argv: list[str]) -> int``
that parses its own arguments (``prog="python -m lucid <command>"``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NamedTuple

__all__ = ["COMMANDS", "main"]


class Command(NamedTuple):
    module: str
    summary: str


#: Every command, in the order ``--help`` lists them.
COMMANDS = {
    "report": Command("lucid._cli.report", "what is installed: lucid, its dependencies, backends"),
    "self-check": Command(
        "lucid._cli.self_check", "conv_transpose2d on every installed backend against torch"
    ),
    "demo": Command("lucid._cli.demo", "a lazy decoder on every installed backend"),
    "tune": Command("lucid._cli.tune", "measure the formulation cost model on this machine"),
}

_DEFAULT = ("report", "self-check", "demo")


def _parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<12} {c.summary}" for name, c in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="python -m lucid",
        description=(
            "lucid's command line.  Without a command: report, self-check and demo, "
            "in that order (exit status 1 if any check fails)."
        ),
        epilog=f"commands:\n{listing}\n\n'python -m lucid <command> --help' describes one.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", choices=list(COMMANDS), metavar="command")
    return parser


def run(name: str, argv: list[str]) -> int:
    """Run command ``name`` with its own arguments ``argv``."""
    module = importlib.import_module(COMMANDS[name].module)
    return int(module.main(argv))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] in COMMANDS:
        return run(args[0], args[1:])
    _parser().parse_args(args)  # --help, or an error naming the unknown argument
    status = 0
    for name in _DEFAULT:
        status |= run(name, [])
        print()
    return status
