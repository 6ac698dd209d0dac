"""Where the cluster directory goes: a private 0700 directory under ``base_dir``, the system
temp directory, or ``/var/tmp`` when the temp directory is a tmpfs (each member
preallocates a 64 MB WAL, which on a tmpfs is memory).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import EtcdlabError


def _unescape_mount(field: str) -> str:
    """``/proc/mounts`` writes a space in a path as ``\\040`` (octal escapes)."""
    import re

    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _filesystem_type(path: str | os.PathLike, mounts: str | None = None) -> str | None:
    """The type of the filesystem holding ``path`` (``"ext4"``, ``"tmpfs"``...), or None if unknown.

    Read from ``mounts`` (the text of ``/proc/mounts``, read when not given): the mount
    point that is the longest prefix of the path wins, and of two mounts on the same
    point the later one, which hides the earlier. (``os.statvfs`` gives sizes, not types.)
    """
    if mounts is None:
        try:
            with open("/proc/mounts", encoding="utf-8", errors="replace") as f:
                mounts = f.read()
        except OSError:
            return None
    target = os.path.realpath(path)
    best, kind = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape_mount(fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


#: Tried, in order, when the system's temp directory is a tmpfs and no base directory was given.
DISK_TEMP_DIRS = ("/var/tmp",)


def _tmpfs_warning(where: str | os.PathLike) -> None:
    import warnings

    warnings.warn(f"{where} is a tmpfs, so each etcd member's 64 MB write-ahead log will take memory; "
                  "pass base_dir (--base-dir) on a disk to spare it.", UserWarning, stacklevel=4)


def _base_directory(base_dir: str | os.PathLike | None) -> Path:
    """Where the private cluster directory will be created.

    A ``base_dir`` given must exist and be a directory: the lab creates its own directory
    *inside* it, never the base itself. Without one, the system's temp directory, unless
    it is a tmpfs (memory: each member preallocates a 64 MB WAL), in which case
    :data:`DISK_TEMP_DIRS` on disk are preferred. A tmpfs that is used anyway gets a
    one-line warning.
    """
    if base_dir is not None:
        base = Path(base_dir)
        if not os.path.exists(base):
            raise EtcdlabError(f"the base directory {base} does not exist; create it first, or choose another one.")
        if not os.path.isdir(base):
            raise EtcdlabError(f"the base directory {base} is not a directory; give a directory to create "
                               "the cluster directory in.")
        if _filesystem_type(base) == "tmpfs":
            _tmpfs_warning(base)
        return base
    base = Path(tempfile.gettempdir())
    if _filesystem_type(base) != "tmpfs":
        return base
    for other in DISK_TEMP_DIRS:
        if (os.path.isdir(other) and os.access(other, os.W_OK | os.X_OK)
                and _filesystem_type(other) not in ("tmpfs", None)):
            return Path(other)
    _tmpfs_warning(base)
    return base
