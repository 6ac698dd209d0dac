"""``python -m etcdlab`` runs the command-line tool."""

import sys

from .cli.command import main

sys.exit(main())
