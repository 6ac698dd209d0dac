"""One module per ``etcdlab`` sub-command; each has ``register(subparsers)``.

Command modules must stay light at import time (no kubernetes, matplotlib,
networkx, ipywidgets): ``etcdlab --help`` imports all of them.
"""
