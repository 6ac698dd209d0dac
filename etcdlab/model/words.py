"""How the model is put into English words, in one place for every sentence etcdlab prints."""

from __future__ import annotations


def plural(n: int, word: str) -> str:
    """``1 failure``, ``2 failures``; ``info`` has no plural. The doctor's report and the
    quorum model's sentences both count with it."""
    return f"{n} {word}{'' if n == 1 or word == 'info' else 's'}"
