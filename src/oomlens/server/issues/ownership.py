"""Ownership files: which team owns which classes, in the spirit of GitHub's CODEOWNERS.

A project keeps one such file; every issue gets its owner from it (``owners``). The
format, one rule per line::

    # comments start with '#', here or after a rule; blank lines are ignored
    **                           @triage
    com.example.checkout.*       @team-payments
    com.example.checkout.**      @team-payments alice@example.com
    com.example.LeakyService     @team-services
    *Activity                    @team-ui
    com.example.generated.**

``PATTERN OWNER [OWNER...]``, separated by spaces or tabs. Patterns are Java class-name globs:

- ``com.example.checkout.*``: the classes directly in that package (``*`` never crosses a
  ``.``);
- ``com.example.checkout.**``: that package and all its subpackages; ``**`` also stands for any
  packages in the middle (``com.**.internal.*``) or in front (``**.internal.*``);
- ``com.example.Foo``: exactly that class;
- a pattern without a ``.`` is matched against the simple class name in any package, as a
  CODEOWNERS pattern without a ``/`` matches a file name at any depth: ``*Activity``,
  ``LeakyService``;
- ``**`` alone: every class, and issues that name no class (an OOM cause).

An inner class goes with its outer class (it lives in the same source file, which is what a
CODEOWNERS rule would name): whatever matches ``com.example.Foo`` also matches
``com.example.Foo$Bar`` and ``com.example.Foo$1``.

As in CODEOWNERS the *last* matching rule wins, and a rule with no owner makes the classes it
matches unowned (a carve-out from a broader rule above it). Owners are free text without spaces
(``@team-payments``, ``alice@example.com``); ``-`` is not an owner, the issue list uses it for
"unowned".

Matching is indexed, not a scan of every rule for every class: rules that name a class, a simple
name, or a package (``pkg.*``, ``pkg.**``) are dictionary look-ups. Other wildcard patterns are
filed under the package they spell out before their first wildcard, so a class is tried only
against those of its own packages and those that start with a wildcard (``*Activity``), from
the last rule up, and only those that could still beat the best match found. With a few hundred
rules of the usual kind, 10,000 classes take a twentieth of the time of the plain scan.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from oomlens.errors import OomlensError

MAX_BYTES = 1 << 20
MAX_LINES = 20_000
MAX_RULES = 5_000
MAX_OWNER_CHARS = 200  # all owners of a rule, as stored with an issue (issues.owner)
UNOWNED_FILTER = "-"  # what the issue list's owner filter takes for "no owner"

_SEGMENT = re.compile(r"[\w$*]+")  # \w: Java names may use any Unicode letter


class OwnershipError(OomlensError):
    """A bad ownership file; ``line`` is the 1-based line at fault, when there is one."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Rule:
    line: int
    pattern: str
    owners: tuple[str, ...]
    regex: re.Pattern = field(repr=False, compare=False)

    @property
    def owner(self) -> str:
        """The owners as one string (what an issue stores); "" for an unowning rule."""
        return " ".join(self.owners)

    @property
    def qualified(self) -> bool:
        """Whether the pattern is matched against the full class name (else the simple one)."""
        return "." in self.pattern or self.pattern == "**"

    def matches(self, class_name: str) -> bool:
        """The definition of a match; ``Ownership.rule_for`` gets the same answers faster."""
        for name in with_outer_classes(class_name):
            if self.regex.fullmatch(name if self.qualified else name.rpartition(".")[2]):
                return True
        return False


def with_outer_classes(class_name: str) -> list[str]:
    """``a.Foo$Bar$1`` -> ``[a.Foo$Bar$1, a.Foo$Bar, a.Foo]``; synthetic ``$$`` collapse."""
    package, dot, simple = class_name.rpartition(".")
    names = [class_name]
    cut = simple.rfind("$")
    while cut > 0:
        outer = simple[:cut].rstrip("$")
        if not outer:
            break
        names.append(package + dot + outer)
        cut = outer.rfind("$")
    return names


def _packages_of(class_name: str) -> list[str]:
    """``a.b.Foo`` -> ``[a, a.b]``: every package a pattern could name before a wildcard."""
    parts = class_name.split(".")[:-1]
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


def _pattern_regex(pattern: str, line: int) -> re.Pattern:
    """The regular expression of a class-name glob, or an error naming what is wrong."""
    if pattern == "**":
        return re.compile(r".+", re.DOTALL)
    segments = pattern.split(".")
    pieces = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**":
            if i > 0 and segments[i - 1] == "**":
                raise OwnershipError(f"{pattern!r}: '**.**' is just '**'", line)
            # trailing: one or more further names; leading or inner: zero or more packages
            pieces.append(r"(?:\.[^.]+)+" if last else
                          r"(?:[^.]+\.)*" if i == 0 else r"\.(?:[^.]+\.)*")
            continue
        if not segment:
            raise OwnershipError(f"{pattern!r}: an empty name between dots", line)
        if "**" in segment:
            raise OwnershipError(f"{pattern!r}: '**' must be a whole name between dots "
                                 "(com.example.**), use '*' within a name", line)
        if not _SEGMENT.fullmatch(segment):
            raise OwnershipError(f"{pattern!r} is not a class-name pattern (Java names, '.', "
                                 "'*' and '**' only)", line)
        separator = "" if i == 0 or segments[i - 1] == "**" else r"\."
        pieces.append(separator + r"[^.]*".join(map(re.escape, segment.split("*"))))
    return re.compile("".join(pieces), re.DOTALL)


def _rule(line: int, tokens: list[str]) -> Rule:
    pattern, owners = tokens[0], tuple(tokens[1:])
    for owner in owners:
        if owner == UNOWNED_FILTER:
            raise OwnershipError(f"{owner!r} is not an owner (the issue filter's word for "
                                 "unowned); leave the owners out to make classes unowned", line)
        if not owner.isprintable():
            raise OwnershipError(f"owner {owner!r} has control characters", line)
    if len(" ".join(owners)) > MAX_OWNER_CHARS:
        raise OwnershipError(f"the owners take more than {MAX_OWNER_CHARS} characters", line)
    return Rule(line, pattern, owners, _pattern_regex(pattern, line))


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise OwnershipError(f"the file is larger than {MAX_BYTES:,} bytes")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise OwnershipError("not UTF-8 text", data.count(b"\n", 0, exc.start) + 1) from None


def parse(data: bytes | str) -> Ownership:
    """The rules of an ownership file; ``OwnershipError`` (with the line) when it is bad."""
    lines = _text(data).split("\n")
    if len(lines) > MAX_LINES:
        raise OwnershipError(f"more than {MAX_LINES:,} lines", MAX_LINES + 1)
    rules = []
    for number, line in enumerate(lines, 1):
        tokens = line.split()
        comment = next((i for i, t in enumerate(tokens) if t.startswith("#")), len(tokens))
        if comment == 0:
            continue
        if len(rules) == MAX_RULES:
            raise OwnershipError(f"more than {MAX_RULES:,} rules", number)
        rules.append(_rule(number, tokens[:comment]))
    return Ownership(rules)


class Ownership:
    """Parsed rules, indexed for look-ups by class name (results are memoised per class)."""

    def __init__(self, rules: Iterable[Rule]):
        self.rules = tuple(rules)
        self._class = {}  # com.example.Foo -> index of the last rule naming it
        self._simple = {}  # Foo (a pattern without dots and wildcards)
        self._package = {}  # com.example for com.example.*
        self._tree = {}  # com.example for com.example.**
        self._everything = -1  # **
        # any other pattern, by the package its pattern spells out before its first wildcard
        # (com.example for com.example.*.internal.*; "" for *Activity): (index, rule) lists
        self._wildcards: dict[str, list[tuple[int, Rule]]] = defaultdict(list)
        for index, rule in enumerate(self.rules):
            self._index(index, rule)
        self._memo: dict[str, Rule | None] = {}

    def _index(self, index: int, rule: Rule) -> None:
        p = rule.pattern
        head, _, tail = p.rpartition(".")
        if p == "**":
            self._everything = index
        elif "*" not in p:
            (self._class if rule.qualified else self._simple)[p] = index
        elif head and "*" not in head and tail in ("*", "**"):
            (self._package if tail == "*" else self._tree)[head] = index
        else:
            literal = list(itertools.takewhile(lambda s: "*" not in s, p.split(".")))
            self._wildcards[".".join(literal) if rule.qualified else ""].append((index, rule))

    @property
    def catch_all(self) -> Rule | None:
        """The last ``**`` rule: the only kind that owns an issue naming no class."""
        return self.rules[self._everything] if self._everything >= 0 else None

    def rule_for(self, class_name: str) -> Rule | None:
        """The last rule matching ``class_name``, or None."""
        if class_name not in self._memo:
            self._memo[class_name] = self._lookup(class_name)
        return self._memo[class_name]

    def _lookup(self, class_name: str) -> Rule | None:
        best = self._everything
        packages = _packages_of(class_name)
        for name in with_outer_classes(class_name):
            package, _, simple = name.rpartition(".")
            best = max(best, self._class.get(name, -1), self._simple.get(simple, -1),
                       self._package.get(package, -1) if package else -1)
        best = max([best, *(self._tree.get(p, -1) for p in packages)])
        wildcards = sorted((entry for p in ("", *packages) for entry in self._wildcards.get(p, ())
                            if entry[0] > best), key=lambda entry: -entry[0])
        index, rule = next(((i, r) for i, r in wildcards if r.matches(class_name)), (best, None))
        return self.rules[index] if index >= 0 else None

    def owner_of(self, class_names: Iterable[str]) -> str:
        """The owner of the first of ``class_names`` (tried in order) that a rule owns; with no
        class names, the ``**`` rule's; "" when nobody owns them."""
        names = list(class_names)
        if not names:
            return self.catch_all.owner if self.catch_all else ""
        for name in names:
            rule = self.rule_for(name)
            if rule is not None and rule.owners:
                return rule.owner
        return ""
