"""The ``etcdlab`` command: ``command`` wires the parser, one module per sub-command.

Sub-command modules stay light at import time (no kubernetes, matplotlib, networkx,
ipywidgets): ``etcdlab --help`` imports all of them. Sits on top: may import every
subpackage but ``teach``.
"""

from .command import build_parser, main

__all__ = ["build_parser", "main"]
