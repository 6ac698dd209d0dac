"""Start JupyterLab a few seconds sooner: ``python -m etcdlab._launch_lab [jupyter lab args]``.

``./run lab`` starts JupyterLab through this module instead of the ``jupyter lab`` script,
for one reason. JupyterLab's server imports ``jupyter_events``, which imports jsonschema's
format checkers, and those import ``rfc3987_syntax`` when it is installed (it is, through
``jsonschema[format-nongpl]``). That module builds some 35 Earley parsers with lark *at import
time*: about 3 s on a 2-core machine, more than the rest of JupyterLab's start-up together,
for a format ("iri") that no Jupyter schema uses (jupyter_server issue 1559, jsonschema
issue 1428).

So before JupyterLab is imported, :func:`defer_rfc3987_syntax` puts a stand-in module in
``sys.modules`` whose ``is_valid_syntax`` imports the real module on its first call and
hands over to it. Checking an "iri" still gives exactly the real answer; it just costs the
3 s on first use instead of at every start. Nothing else changes: the server, its
extensions and its kernels are JupyterLab's own.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

_NAME = "rfc3987_syntax"


def defer_rfc3987_syntax() -> bool:
    """Make ``import rfc3987_syntax`` cheap until ``is_valid_syntax`` is first called.

    Returns False (and does nothing) if the module is not installed or already imported.
    """
    if _NAME in sys.modules or importlib.util.find_spec(_NAME) is None:
        return False
    stand_in = types.ModuleType(_NAME, "stand-in for rfc3987_syntax: loads it on first use (etcdlab._launch_lab)")

    def real_module() -> types.ModuleType:
        if sys.modules.get(_NAME) is stand_in:
            del sys.modules[_NAME]          # let the import system find the real package
        try:
            real = importlib.import_module(_NAME)
        except BaseException:
            sys.modules.setdefault(_NAME, stand_in)
            raise
        return real

    def is_valid_syntax(term: str, value: str) -> bool:
        return real_module().is_valid_syntax(term, value)

    def __getattr__(name: str):             # any other name: the real module's
        if name.startswith("__"):           # the import system asks for __path__, __file__ ...:
            raise AttributeError(name)      # those must not load it
        return getattr(real_module(), name)

    stand_in.is_valid_syntax = is_valid_syntax
    stand_in.__getattr__ = __getattr__
    sys.modules[_NAME] = stand_in
    return True


def main(argv: list[str] | None = None) -> int:
    defer_rfc3987_syntax()
    from jupyterlab.labapp import main as lab_main

    sys.argv = ["jupyter-lab", *(sys.argv[1:] if argv is None else argv)]
    return lab_main() or 0


if __name__ == "__main__":
    sys.exit(main())
