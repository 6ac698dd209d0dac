"""Every error etcdlab raises on purpose.

One hierarchy, rooted at :class:`EtcdlabError`, so a caller (the CLI, a notebook,
a test) can tell *our* clear, expected failures from bugs with a single ``except``.
Each message is meant to be read by a person: one sentence that says what went
wrong, where (file, line, field) and what to do about it.
"""

from __future__ import annotations


class EtcdlabError(Exception):
    """Base class of every error etcdlab raises deliberately."""


class ManifestError(EtcdlabError, ValueError):
    """A manifest, a ``kubectl`` capture or a command line could not be understood.

    ``file`` and ``line`` (1-based) say where, when they are known; ``hint`` says what
    to do. ``str()`` renders the whole thing as one sentence, the way the CLI prints it.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 hint: str | None = None):
        self.message = message.rstrip(".")
        self.file = file
        self.line = line
        self.hint = hint.rstrip(".") if hint else None
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        text = f"{where}{self.message}"
        if self.hint:
            text += f"; {self.hint}"
        return text + "."

    def at(self, file: str | None = None, line: int | None = None) -> "ManifestError":
        """The same error, with the file and line filled in where they were missing."""
        return type(self)(self.message, file=self.file or file,
                          line=self.line or line, hint=self.hint)


class PermissionRefused(ManifestError):
    """The system refused to list or read a path (``PermissionError``): on a kubeadm node the
    manifest directory is mode 0700 and its files 0600, readable by root only."""


#: What to do about a :class:`PermissionRefused`, in the words of the CLI's message.
PERMISSION_HINT = "run it with sudo, or copy the manifests to a directory you can read"


class FlagError(ManifestError):
    """A command line or one of its flags is malformed (not a list of strings, a bad URL...)."""


class DatasetNotFound(EtcdlabError, LookupError):
    """No bundled data set has that name."""


class EtcdNotFound(EtcdlabError):
    """No ``etcd`` binary could be found to run a real cluster."""


class EtcdUnavailable(EtcdlabError):
    """An etcd endpoint could not be reached at all (nothing listening, member down)."""


class QuorumLost(EtcdlabError):
    """The cluster is up but cannot reach consensus: writes and linearizable reads fail."""


class TLSError(EtcdlabError):
    """The TLS handshake with etcd failed; ``reason`` says why in plain words."""

    def __init__(self, message: str, reason: str | None = None):
        self.reason = reason
        super().__init__(message)
