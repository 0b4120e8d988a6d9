"""A small condition language over an object's fields, for leak rules written as data.

Built-in Android inspectors and users' own rules (in the TOML config) say when an object of a
class is leaking or certainly not leaking, e.g.::

    mDestroyed == true
    mFragmentManager == null and (mCalled == true or mLifecycleRegistry.mState == "DESTROYED")
    closed == true or state == "CLOSED"
    mWindowAttachCount > 0

Grammar: ``or`` / ``and`` / ``not`` / parentheses over comparisons ``PATH OP LITERAL`` with OP one
of ``== != > >= < <=``, LITERAL ``true``, ``false``, ``null``, a number or a quoted string. PATH is
a field name, or dotted names that follow references (``mContext.mDestroyed``). A string literal
matches a ``java.lang.String`` by its text and an enum constant by its name.

Logic is three-valued: a field the object does not have (an older framework version, a dump with
the strings trimmed) makes its comparison *unknown*, and ``unknown and x`` / ``unknown or x``
follow Kleene's rules, so a rule never calls an object leaking on a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oomlens.errors import OomlensError

_TOKEN = re.compile(r"""\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>==|!=|>=|<=|>|<|\(|\))
  | (?P<word>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)
)""", re.VERBOSE)

_KEYWORDS = {"and", "or", "not", "true", "false", "null"}
_COMPARISONS = {"==", "!=", ">", ">=", "<", "<="}
UNKNOWN = None  # the third truth value


class _Missing:
    """Stands for a field an object does not have."""


MISSING = _Missing()


@dataclass(frozen=True)
class Comparison:
    path: tuple[str, ...]
    op: str
    value: object


@dataclass(frozen=True)
class Not:
    operand: object


@dataclass(frozen=True)
class And:
    operands: tuple


@dataclass(frozen=True)
class Or:
    operands: tuple


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ConditionError(f"cannot read condition {text!r} at {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class ConditionError(OomlensError):
    """A condition that does not parse."""


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise ConditionError(f"condition {self.text!r} ends too early")
        self.pos += 1
        return token

    def _is_word(self, word: str) -> bool:
        token = self._peek()
        return token is not None and token == ("word", word)

    def parse(self):
        node = self._or()
        if self._peek() is not None:
            raise ConditionError(f"unexpected {self._peek()[1]!r} in condition {self.text!r}")
        return node

    def _or(self):
        operands = [self._and()]
        while self._is_word("or"):
            self._take()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self):
        operands = [self._not()]
        while self._is_word("and"):
            self._take()
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _not(self):
        if self._is_word("not"):
            self._take()
            return Not(self._not())
        if self._peek() == ("op", "("):
            self._take()
            node = self._or()
            if self._peek() != ("op", ")"):
                raise ConditionError(f"missing ')' in condition {self.text!r}")
            self._take()
            return node
        return self._comparison()

    def _comparison(self) -> Comparison:
        kind, path = self._take()
        if kind != "word" or path in _KEYWORDS:
            raise ConditionError(f"expected a field name in condition {self.text!r}, "
                                 f"found {path!r}")
        kind, op = self._take()
        if op not in _COMPARISONS:
            raise ConditionError(f"expected one of {' '.join(sorted(_COMPARISONS))} after "
                                 f"{path!r} in condition {self.text!r}")
        value = self._literal()
        if op not in ("==", "!=") and (isinstance(value, bool)
                                       or not isinstance(value, int | float)):
            raise ConditionError(f"{op} needs a number in condition {self.text!r}")
        return Comparison(tuple(path.split(".")), op, value)

    def _literal(self):
        kind, text = self._take()
        if kind == "string":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "word" and text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        raise ConditionError(f"expected true, false, null, a number or a quoted string in "
                             f"condition {self.text!r}, found {text!r}")


def parse_condition(text: str):
    """Parse a condition; raises ConditionError (a one-line message) when it is malformed."""
    if not text or not text.strip():
        raise ConditionError("empty condition")
    return _Parser(text).parse()


def fields_used(node) -> set[str]:
    """First field names a condition reads (to check rules against a class's fields)."""
    if isinstance(node, Comparison):
        return {node.path[0]}
    if isinstance(node, Not):
        return fields_used(node.operand)
    return set().union(*(fields_used(o) for o in node.operands))


def paths_used(node) -> set[tuple[str, ...]]:
    """Every field path a condition reads (to check that a rule names each field's class)."""
    if isinstance(node, Comparison):
        return {node.path}
    if isinstance(node, Not):
        return paths_used(node.operand)
    return set().union(*(paths_used(o) for o in node.operands))


def evaluate(node, read_path) -> bool | None:
    """True, False or UNKNOWN. ``read_path(path)`` returns a field's value (following
    references), MISSING when there is no such field, or a comparable scalar."""
    if isinstance(node, Comparison):
        return _compare(read_path(node.path), node.op, node.value)
    if isinstance(node, Not):
        inner = evaluate(node.operand, read_path)
        return None if inner is None else not inner
    results = [evaluate(o, read_path) for o in node.operands]
    if isinstance(node, And):
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def _compare(actual, op: str, expected) -> bool | None:
    if actual is MISSING:
        return UNKNOWN
    if op in ("==", "!="):
        if expected is None or actual is None:
            equal = actual is None and expected is None
        elif isinstance(expected, bool) or isinstance(actual, bool):
            if not isinstance(actual, bool | int):
                return UNKNOWN
            equal = bool(actual) == expected
        elif isinstance(expected, str):
            if not isinstance(actual, str):
                return UNKNOWN  # a string the dump does not hold (trimmed), or not a string
            equal = actual == expected
        else:
            if not isinstance(actual, int | float):
                return UNKNOWN
            equal = actual == expected
        return equal if op == "==" else not equal
    if not isinstance(actual, int | float) or isinstance(actual, bool):
        return UNKNOWN
    return {">": actual > expected, ">=": actual >= expected,
            "<": actual < expected, "<=": actual <= expected}[op]
