"""The exercise engine: kinds, answer forms, stepped hints, gated solutions, progress.

An exercise is one of four kinds (``Exercise.kind``):

* ``"value"``   — a value the student computes; the check compares *values*, after turning
  the answer into a plain ``str``/``int``/``tuple`` (:func:`plain`) and normalising the
  natural ways of writing it (:class:`Form`);
* ``"edit"``    — manifests the student edits in a copy of a data set
  (:func:`etcdlab.teach.workspace.exercise_copy`); the check re-runs the doctor and the
  topology on the student's files;
* ``"cluster"`` — the state of a real :class:`~etcdlab.real.lab.LocalCluster`
  (:func:`etcdlab.teach.live_tasks.exercise_cluster`); the check asks the cluster;
* ``"lab"``     — the state of notebook 04's quorum lab (the widget's cluster model) that the
  student set up; the check reads that state.

Expected values are never stored in the clear: a value exercise keeps a salted SHA-256 of
its normalised answer (:func:`digest`), and a solution is kept sealed (:func:`seal`) and
opened by :func:`solution` only after two tries. That is no protection against reading
this package's source (nothing is), but tab-completion in a notebook shows nothing useful,
and an object whose ``__eq__`` says yes to everything is refused before any comparison.

Hints come in steps: an unanswered check says only what form the answer takes;
:func:`hint` (or a second wrong try) gives the next hint; :func:`solution` the solution.
Progress lives in this kernel only (:data:`PROGRESS`); :func:`reset` forgets it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import zlib
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Callable

SALT = "etcdlab-exercises-v1"
#: tries (checks with an answer) before :func:`solution` opens
TRIES_FOR_SOLUTION = 2
KINDS = ("value", "edit", "cluster", "lab")


class Unanswered(Exception):
    """Raised by a judge when there is nothing to judge yet (no answer, files unchanged)."""


class WrongType(Exception):
    """The answer is not of a type this exercise takes; its message says which form to use."""


# -- plain values ---------------------------------------------------------------------------------


def plain(value: Any, depth: int = 0) -> Any:
    """The answer as plain built-in data, or :class:`WrongType`.

    Only ``str``, ``int``, ``float``, ``bool``, paths and lists/tuples/sets of those are
    taken, and each is *copied* into its exact built-in type (a ``str`` subclass with a
    clever ``__eq__`` becomes a plain ``str``), so no comparison ever calls the answer's
    own methods. numpy scalars are taken through ``.item()``.
    """
    t = type(value)
    if value is None or value is Ellipsis:
        raise Unanswered
    if t is bool:
        return value
    if isinstance(value, bool):
        return bool.__bool__(value)  # pragma: no cover - bool cannot be subclassed
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, PurePath) and t.__module__ == "pathlib":
        return value.as_posix()
    if t.__module__ == "numpy" and hasattr(value, "item") and getattr(value, "shape", None) == ():
        return plain(value.item(), depth)
    if t in (list, tuple, set, frozenset) or (t.__module__ == "builtins" and t.__name__ in ("dict_keys", "dict_values")):
        if depth > 1:
            raise WrongType("a flat list")
        return tuple(plain(v, depth + 1) for v in list(value))
    raise WrongType(f"a {t.__name__} object")


def digest(key: str, normalised: Any) -> str:
    """The salted hash a value exercise stores for its normalised answer."""
    return hashlib.sha256(f"{SALT}:{key}:{normalised!r}".encode()).hexdigest()[:32]


def seal(text: str) -> str:
    """Keep a solution out of sight (not secret: see the module docstring)."""
    return base64.b85encode(zlib.compress(text.encode())).decode()


def unseal(sealed: str) -> str:
    return zlib.decompress(base64.b85decode(sealed.encode())).decode()


# -- answer forms ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value).strip().strip("'\"").strip()).lower()


@dataclass(frozen=True)
class Form:
    """How an answer is written (``describe``) and how it is normalised (``normalise``)."""

    describe: str
    normalise: Callable[[Any], Any]


def _number(value: Any) -> int:
    if isinstance(value, bool):
        raise WrongType("True/False")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise WrongType("a fraction")
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(-?\d+)(\.0+)?\s*([a-z ()]*)\s*", value.lower())
        if m and (not m.group(3) or re.fullmatch(r"(members?|links?|failures?|down|peers?)", m.group(3).strip())):
            return int(m.group(1))
        raise WrongType("text that is not a number")
    raise WrongType("a list")


def _word(value: Any) -> str:
    if not isinstance(value, str):
        raise WrongType("not text")
    return _text(value)


def _flag(value: Any) -> str:
    """``--etcd-certfile``, ``etcd-certfile``, ``--etcd-certfile=/etc/...`` are one flag."""
    text = _word(value).split("=", 1)[0].strip()
    return text.lstrip("-")


def _path(value: Any) -> str:
    if not isinstance(value, str):
        raise WrongType("not a path")
    text = re.sub(r"/+", "/", value.strip().strip("'\""))
    return text.rstrip("/") or "/"


def _member(value: Any) -> str:
    if isinstance(value, bool):
        raise WrongType("True/False")
    if isinstance(value, int):
        return f"cp{value}"
    text = _word(value)
    for prefix in ("etcd-", "member "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if text.isdigit():
        return f"cp{text}"
    return text


def _members(value: Any) -> tuple[str, ...]:
    items = re.split(r"[,\s|/]+", value.strip()) if isinstance(value, str) else (
        list(value) if isinstance(value, tuple) else [value])
    names = sorted({_member(v) for v in items if str(v).strip()})
    if not names:
        raise WrongType("an empty list")
    return tuple(names)


INT = Form("a whole number, e.g. answer = 4", _number)
WORD = Form('a word or short phrase in quotes, e.g. answer = "leader"', _word)
FLAG = Form('a flag name in quotes, e.g. answer = "--data-dir" (with or without the dashes)', _flag)
PATH = Form('a path in quotes, e.g. answer = "/etc/kubernetes"', _path)
MEMBER = Form('a member name in quotes, such as "cp2"', _member)
MEMBERS = Form('a list of member names, e.g. answer = ["cp1", "cp2"] (any order)', _members)


def choice(describe: str, synonyms: dict[str, tuple[str, ...]], *, plural_ok: bool = True) -> Form:
    """One of a few words, each with the other ways people write it; a list of the same word
    (``['discarded', 'discarded']``) counts as that word."""
    table = {}
    for word, others in synonyms.items():
        for w in (word, *others):
            table[_text(w)] = word

    def normalise(value: Any) -> Any:
        if isinstance(value, tuple):
            words = {normalise(v) for v in value}
            if len(words) == 1 and plural_ok:
                return words.pop()
            return tuple(sorted(str(w) for w in words))
        text = _word(value)
        text = re.sub(r"^[a-z]*(error|exception):\s*", "", text)   # "TLSError: not TLS"
        text = text.rstrip(".!")
        if text in table:
            return table[text]
        for w in sorted(table, key=len, reverse=True):                # "serializable read(s)"
            if re.search(rf"\b{re.escape(w)}\b", text) and not any(
                    re.search(rf"\b{re.escape(o)}\b", text) for o in table if table[o] != table[w]):
                rest = re.sub(rf"\b{re.escape(w)}\b", " ", text)
                if re.search(r"\b(not|no|never|neither|nor|un\w+)\b", rest):  # "not serializable"
                    return text
                return table[w]
        return text
    return Form(describe, normalise)


# -- exercises and verdicts -----------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    ok: bool
    feedback: str = ""


@dataclass(frozen=True, eq=False)
class Exercise:
    """One exercise. ``judge(answer)`` returns a :class:`Result` or raises :class:`Unanswered`.

    Its hints, why-it-matters and solution are kept sealed (``sealed``): they often name
    the answer, and tab-completion should show nothing of it. :func:`opened` opens them.
    """

    key: str
    kind: str
    question: str
    form: str
    judge: Callable[[Any], Result] = field(repr=False)
    sealed: str = field(repr=False, default="")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if not opened(self)["hints"]:
            raise ValueError(f"exercise {self.key} needs at least one hint")

    def __repr__(self) -> str:
        return f"<exercise {self.key} ({self.kind}): {self.question}>"


def make(key: str, kind: str, question: str, form: str, judge: Callable[[Any], Result], *,
         hints: tuple[str, ...], why: str, solution: str) -> Exercise:
    """An exercise, with its hints, why and solution sealed."""
    sealed = seal(json.dumps({"hints": list(hints), "why": why, "solution": solution}))
    return register(Exercise(key=key, kind=kind, question=question, form=form, judge=judge, sealed=sealed))


def opened(ex: Exercise) -> dict:
    """``{"hints": [...], "why": ..., "solution": ...}`` of an exercise."""
    return json.loads(unseal(ex.sealed))


@dataclass
class Progress:
    tries: int = 0
    hints_shown: int = 0
    solved: bool = False
    solution_shown: bool = False


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`check` (and of :func:`hint`, :func:`solution`); prints as text."""

    key: str
    ok: bool
    message: str

    def __repr__(self) -> str:
        return self.message

    def __str__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.ok


EXERCISES: dict[str, Exercise] = {}
PROGRESS: dict[str, Progress] = {}


def register(ex: Exercise) -> Exercise:
    EXERCISES[ex.key] = ex
    return ex


#: what else :func:`reset` forgets (the copies of "edit" exercises, say)
RESET_HOOKS: list[Callable[[str | None], None]] = []


def reset(key: str | None = None) -> None:
    """Forget the tries and hints of one exercise (or all), and which copy it checks."""
    if key is None:
        PROGRESS.clear()
    else:
        PROGRESS.pop(key, None)
    for forget in RESET_HOOKS:
        forget(key)


def _get(key: Any) -> Exercise | Verdict:
    k = str(key).strip() if isinstance(key, (str, int, float)) else key
    ex = EXERCISES.get(k) if isinstance(k, str) else None
    if ex is None:
        return Verdict(str(key), False, f"There is no exercise {key!r}; the keys are {', '.join(sorted(EXERCISES))}.")
    return ex


def _progress(key: str) -> Progress:
    return PROGRESS.setdefault(key, Progress())


def _next_hint(ex: Exercise, p: Progress) -> str:
    hints = opened(ex)['hints']
    if p.hints_shown < len(hints):
        p.hints_shown += 1
        n = p.hints_shown
        last = " (the last one)" if n == len(hints) else ""
        return f"Hint {n} of {len(hints)}{last}: {hints[n - 1]}"
    return f"Hint {len(hints)} of {len(hints)} (the last one): {hints[-1]}"


def _shown(answer: Any) -> str:
    try:
        text = repr(plain(answer))
    except (WrongType, Unanswered):
        text = f"a {type(answer).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def check(key: str, answer: Any = None) -> Verdict:
    """Check exercise ``key``: right (and why it matters), or not yet (with feedback; the
    hints come with :func:`hint`, and by themselves from the second wrong try on)."""
    ex = _get(key)
    if isinstance(ex, Verdict):
        return ex
    p = _progress(ex.key)
    try:
        result = ex.judge(answer)
    except Unanswered as u:
        say = str(u) or f"Not answered yet. Answer with {ex.form}."
        return Verdict(ex.key, False, f"[{ex.key}] {say} Stuck? el.hint({ex.key!r}).")
    except WrongType as w:
        return Verdict(ex.key, False, f"[{ex.key}] Not yet: this exercise takes {ex.form}; "
                                      f"what you gave is {w}.")
    except Exception as e:  # a malformed answer or a broken student file is simply not right
        result = Result(False, f"checking it failed: {type(e).__name__}: {e}")
    p.tries += 1
    if result.ok:
        p.solved = True
        return Verdict(ex.key, True, f"[{ex.key}] Right. {_sentence(result.feedback or opened(ex)['why'])}".rstrip())
    first = f"[{ex.key}] Not yet" + (f": {_shown(answer)} is not it." if ex.kind == "value" else ".")
    if result.feedback:
        first += " " + _sentence(result.feedback)
    lines = [first]
    if p.tries >= 2:
        lines.append(_next_hint(ex, p))
    else:
        lines.append(f"el.hint({ex.key!r}) gives a nudge.")
    if p.tries >= TRIES_FOR_SOLUTION:
        lines.append(f"el.solution({ex.key!r}) shows the solution.")
    return Verdict(ex.key, False, "\n".join(lines))


_PLAIN_WORDS = {"the", "a", "an", "that", "they", "it", "with", "in", "at", "each", "every", "only", "one",
                "your", "two", "no", "all", "after", "there", "this", "these", "so", "its", "right", "either",
                "what", "which", "when", "why", "how", "at", "n", "on", "everything", "nothing", "both"}


def _sentence(text: str) -> str:
    """Start with a capital, unless the text starts with a name (etcd-master, kubeadm, cp3)."""
    text = text.strip()
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first in _PLAIN_WORDS else text


def hint(key: str) -> Verdict:
    """The next hint of exercise ``key`` (one more each call)."""
    ex = _get(key)
    if isinstance(ex, Verdict):
        return ex
    p = _progress(ex.key)
    text = _next_hint(ex, p)
    if p.hints_shown >= len(opened(ex)['hints']) and p.tries < TRIES_FOR_SOLUTION:
        text += f"\nAfter {TRIES_FOR_SOLUTION} tries, el.solution({ex.key!r}) shows the solution."
    return Verdict(ex.key, False, f"[{ex.key}] {text}")


def solution(key: str) -> Verdict:
    """The solution of exercise ``key``, once it was tried at least twice (or solved)."""
    ex = _get(key)
    if isinstance(ex, Verdict):
        return ex
    p = _progress(ex.key)
    if p.tries < TRIES_FOR_SOLUTION and not p.solved:
        tried = {0: "not tried it yet", 1: "tried once"}.get(p.tries, f"tried {p.tries} times")
        return Verdict(ex.key, False, f"[{ex.key}] The solution opens after {TRIES_FOR_SOLUTION} tries with "
                                      f"el.check; you have {tried}. el.hint({ex.key!r}) gives a nudge.")
    p.solution_shown = True
    return Verdict(ex.key, True, f"[{ex.key}] Solution: {opened(ex)['solution']}")


# -- building value exercises ----------------------------------------------------------------------


def value_judge(key: str, form: Form, answer_digest: str, wrong: dict[Any, str] | None = None,
                ) -> Callable[[Any], Result]:
    """A judge that compares the normalised answer's digest with ``answer_digest``; ``wrong``
    maps common wrong answers (normalised) to their own feedback."""
    wrong = dict(wrong or {})

    def judge(answer: Any) -> Result:
        value = plain(answer)
        try:
            norm = form.normalise(value)
        except WrongType:
            raise
        except Exception:
            raise WrongType("not in that form") from None
        if digest(key, norm) == answer_digest:
            return Result(True)
        for w, feedback in wrong.items():
            if norm == w:
                return Result(False, feedback)
        return Result(False, "")
    return judge


def value_exercise(key: str, question: str, form: Form, answer_digest: str, *, hints: tuple[str, ...],
                   why: str, solution: str, wrong: dict[Any, str] | None = None) -> Exercise:
    return make(key, "value", question, form.describe, value_judge(key, form, answer_digest, wrong),
                hints=hints, why=why, solution=solution)
