"""Reading untrusted text safely: a size limit, UTF-8 only, PyYAML's *safe* loader, and
a refusal of alias bombs before anything is built from them.

Every problem is a :class:`~etcdlab.errors.ManifestError` naming the file and, through
:class:`Locator`, the line of the value at fault.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
TYPE_CHECKING = False  # typing costs ~10 ms of start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

import yaml

from ..errors import PERMISSION_HINT, ManifestError, PermissionRefused
from ..model.flags import _shown
from .host import current_user


#: Largest file we read (a kubeadm manifest is about 3 kB; a full ``kubectl get po -A -o yaml`` a few MB).
MAX_BYTES = 8 * 1024 * 1024
#: Manifests need no YAML aliases at all; a handful is tolerated, a bomb is not.
MAX_ALIASES = 64
#: Even a few aliases can nest into a bomb (``&a1 [*a0, *a0]``, ``&a2 [*a1, *a1]``, ...: 64 aliases
#: make 2**32 values). So a document may grow by at most this many nodes when its aliases are
#: written out, and an alias may not refer to the collection that contains it.
MAX_ALIAS_EXPANSION = 100_000
#: A Pod nests about 10 levels deep (kubectl's managedFields about 15). PyYAML's scanner slows
#: down with the square of the depth and its composer recurses, so deeper text is refused early.
MAX_DEPTH = 100
_TRUNCATED = re.compile(r"^\s*(#\s*)?(-\s+)?-*\s*TRUNCATED\s*-*\s*$", re.IGNORECASE)


def read_text(path: Path) -> str:
    """Read a file as UTF-8 with a size limit; every failure is a ManifestError."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ManifestError(f"is {size} bytes, more than the {MAX_BYTES} etcdlab reads",
                                file=str(path), hint="give the manifest itself, not a dump")
        # read at most one byte more than the limit: a pipe or a device (/dev/zero) has no size
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ManifestError(f"is more than the {MAX_BYTES} bytes etcdlab reads", file=str(path),
                                hint="give the manifest itself, not a dump")
    except ManifestError:
        raise
    except IsADirectoryError:
        raise ManifestError("is a directory", file=str(path)) from None
    except PermissionError:
        raise PermissionRefused(f"cannot be read by {current_user()} (permission denied)", file=str(path),
                                hint=PERMISSION_HINT) from None
    except OSError as exc:
        raise ManifestError(f"cannot be read ({exc.strerror or exc})", file=str(path),
                            hint="check the path and its permissions") from None
    if data[:2] == b"\x1f\x8b":
        raise ManifestError("is gzip-compressed", file=str(path), hint="gunzip it first")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # what PowerShell 5's `>` writes
        raise ManifestError("is UTF-16 text, not UTF-8", file=str(path),
                            hint="save it as UTF-8 (in PowerShell, pipe it to Out-File -Encoding utf8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ManifestError("is not UTF-8 text", file=str(path), line=line,
                            hint="give a YAML or JSON manifest") from None


def parse_documents(text: str, where: str) -> list[tuple[Any, "Locator"]]:
    """Parse YAML (or JSON) documents safely; return each with a line locator."""
    if not isinstance(text, str):
        raise ManifestError(f"expected text, got {type(text).__name__}", file=where)
    if len(text) > MAX_BYTES:
        raise ManifestError(f"is more than {MAX_BYTES} characters", file=where)
    if not text.strip():
        raise ManifestError("is empty", file=where, hint="give a Pod manifest or kubectl -o yaml output")
    for lineno, line in enumerate(text.splitlines(), 1):
        if _TRUNCATED.match(line):
            raise ManifestError("is truncated output (it contains a --TRUNCATED-- line)", file=where,
                                line=lineno,
                                hint="capture the whole document with kubectl get po NAME -n kube-system -o yaml")
    stripped = text.lstrip()
    if stripped[:1] in "{[" :
        try:
            return [(json.loads(text), Locator(None))]
        except json.JSONDecodeError as exc:
            if stripped[:1] == "{" and not _looks_like_yaml_flow(text):
                raise ManifestError(f"is not valid JSON ({exc.msg})", file=where, line=exc.lineno,
                                    hint="check the syntax, or give YAML") from None
        except RecursionError:
            raise ManifestError("is nested too deeply to be a manifest", file=where) from None
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise ManifestError(f"has a value JSON cannot read ({str(exc).split(':')[0][:80]})", file=where) from None
    fast = _compose_with_libyaml(text)
    if fast is not None:
        return fast
    try:
        loader = _BoundedLoader(text, where)
        try:
            docs = []
            while loader.check_node():
                before = loader.aliases
                node = loader.get_node()
                if loader.aliases > before:  # only a document with aliases can be bigger than its text
                    _check_expansion(node, where)
                docs.append((loader.construct_document(node), Locator(node)))
            return docs
        finally:
            loader.dispose()
    except ManifestError:
        raise
    except yaml.reader.ReaderError as exc:  # a control character (a NUL byte...) anywhere in the text
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else "a control character"
        raise ManifestError(f"contains the control character {char}", file=where,
                            line=text[: exc.position].count("\n") + 1,
                            hint="give a YAML or JSON manifest as plain text") from None
    except yaml.constructor.ConstructorError as exc:  # e.g. !!python/object: the safe loader builds no objects
        mark = exc.problem_mark or exc.context_mark
        raise ManifestError(f"is not valid YAML ({_shown(exc.problem or 'bad value', 120)})", file=where,
                            line=mark.line + 1 if mark else None,
                            hint="manifests use no !! tags; remove it" if "tag" in str(exc.problem)
                            else "check the value there") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ManifestError(f"is not valid YAML ({problem})", file=where,
                            line=mark.line + 1 if mark else None,
                            hint="check the indentation and quoting there") from None
    except RecursionError:
        raise ManifestError("is nested too deeply to be a manifest", file=where) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible timestamp
        raise ManifestError(f"has a value YAML cannot construct ({exc})", file=where) from None


#: What the fast path leaves to the careful one: a token that starts with an anchor, alias or
#: tag indicator (``&a``, ``*a``, ``!tag`` where a token can start: at a line's start, after
#: white space, a flow indicator or ``:``; inside a plain scalar such as
#: ``/health?exclude=NOSPACE&serializable=true`` they are just characters), a directive
#: (``%YAML``), tabs, carriage returns and control characters.
_NOT_FOR_LIBYAML = re.compile(r"(?:^|[\s\[\]{},:])[&*!]|^%|[\t\r\x00-\x08\x0b-\x1f\x7f]", re.MULTILINE)


def _compose_with_libyaml(text: str) -> list[tuple[Any, "Locator"]] | None:
    """The same documents through libyaml, PyYAML's C parser (about ten times faster than
    :class:`_BoundedLoader`, which is most of a command's start-up), or None to say "use
    the careful loader".

    libyaml cannot count aliases or nesting as it composes, so it only gets text that can
    hold neither a bomb nor deep nesting: no anchor, alias or tag character, plain ASCII,
    and a bound on the depth (each level of a block collection starts further right, or
    after a ``- ``; each flow level needs a bracket) below :data:`MAX_DEPTH`. Anything it
    refuses goes to the careful loader, whose messages are the ones users see.
    """
    if not _LIBYAML or not text.isascii() or _NOT_FOR_LIBYAML.search(text):
        return None
    widest = max((len(line) - len(line.lstrip(" -")) for line in text.splitlines()), default=0)
    if 2 * widest + 2 + text.count("[") + text.count("{") >= MAX_DEPTH:
        return None
    loader = yaml.CSafeLoader(text)
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            docs.append((loader.construct_document(node), Locator(node)))
        return docs
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
        return None
    finally:
        loader.dispose()


_LIBYAML = getattr(yaml, "__with_libyaml__", False) and hasattr(yaml, "CSafeLoader")


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting aliases as it composes, so that an alias bomb is refused
    before anything is built from it (and the text is parsed only once)."""

    def __init__(self, text: str, where: str):
        super().__init__(text)
        self.where = where
        self.aliases = 0
        self.depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise ManifestError(f"uses more than {MAX_ALIASES} YAML aliases, which looks like an alias bomb",
                                    file=self.where, line=mark.line + 1 if mark else None,
                                    hint="manifests need no aliases; write the values out")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ManifestError(f"is nested more than {MAX_DEPTH} levels deep, which no manifest is",
                                    file=self.where, line=mark.line + 1 if mark else None)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _children(node: yaml.Node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root: yaml.Node, where: str) -> None:
    """Refuse a composed document whose aliases, written out, would add more than
    MAX_ALIAS_EXPANSION nodes, or that contains itself. Each distinct node is visited once
    (sizes are remembered), so this is linear in the text, however big the expansion."""
    sizes: dict[int, int] = {}
    distinct = 0
    open_: set[int] = set()  # nodes whose children are being sized: the path from the root
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            continue
        if key in sizes:
            continue
        if key in open_:
            raise ManifestError("has a YAML alias that refers to the collection containing it", file=where,
                                line=node.start_mark.line + 1 if node.start_mark else None,
                                hint="manifests need no aliases; write the values out")
        distinct += 1
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    if sizes[id(root)] - distinct > MAX_ALIAS_EXPANSION:
        raise ManifestError(f"would grow to {sizes[id(root)]} values when its YAML aliases are written out, "
                            "which looks like an alias bomb", file=where,
                            line=root.start_mark.line + 1 if root.start_mark else None,
                            hint="manifests need no aliases; write the values out")


def _looks_like_yaml_flow(text: str) -> bool:
    return "\n" not in text.strip() and ":" in text and '"' not in text


class Locator:
    """Finds the line of a value inside a composed YAML document (None for JSON)."""

    def __init__(self, node: yaml.Node | None):
        self.node = node

    def find(self, *path: str | int) -> yaml.Node | None:
        node = self.node
        for key in path:
            if node is None:
                return None
            if isinstance(key, int):
                if not isinstance(node, yaml.SequenceNode) or key >= len(node.value):
                    return None
                node = node.value[key]
            else:
                if not isinstance(node, yaml.MappingNode):
                    return None
                node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        return node

    def line(self, *path: str | int) -> int | None:
        node = self.find(*path)
        return node.start_mark.line + 1 if node is not None else None

    def item_lines(self, *path: str | int) -> list[int]:
        node = self.find(*path)
        if isinstance(node, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in node.value]
        return []

    def sub(self, *path: str | int) -> "Locator":
        return Locator(self.find(*path))
