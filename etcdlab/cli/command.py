"""The ``etcdlab`` command.

Each sub-command lives in its own small module in :mod:`etcdlab.cli`, with a
``register(subparsers)`` function that adds its parser and sets ``func`` to a
``run(args) -> int`` function. This module only wires them together and turns
etcdlab's own errors into one sentence on stderr and exit code 2, never a traceback.

Exit codes: 0 all good, 1 the command ran and found a problem (e.g. an error
finding), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import EtcdlabError

#: Sub-command modules, in the order ``etcdlab --help`` lists them.
COMMANDS = ("datasets", "inspect", "flags", "doctor", "graph", "quorum", "cluster")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (argparse prints the whole usage
    first), still with exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, just that sub-command (what :func:`main`
    uses once it sees which one was asked for: building all seven parsers costs ~10 ms of
    every run, and ``etcdlab --help`` still builds them all)."""
    from .. import __version__

    parser = _Parser(
        prog="etcdlab",
        description="Inspect, check, draw and break etcd the way kubeadm runs it.",
    )
    parser.add_argument("--version", action="version", version=f"etcdlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS if only is None else (only,):
        try:
            module = importlib.import_module(f".{name}", __package__)
        except ModuleNotFoundError as exc:  # a command not built yet in this checkout
            if exc.name == f"{__package__}.{name}":
                continue
            raise
        module.register(sub)
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The sub-command named in ``argv``, if its first word that is not an option is one."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_in(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except EtcdlabError as exc:
        print(f"etcdlab: {exc}", file=sys.stderr)
        return 2
    except PermissionError as exc:  # a refusal no loader turned into a sentence of its own
        from ..errors import PERMISSION_HINT

        print(f"etcdlab: {exc.filename or 'a file'}: permission denied; {PERMISSION_HINT}.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("etcdlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `etcdlab ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
