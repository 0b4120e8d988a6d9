"""The condition language of leak rules: parsing, three-valued logic, errors."""

from __future__ import annotations

import pytest

from oomlens.analysis.conditions import MISSING, ConditionError, evaluate, parse_condition


def check(text: str, fields: dict):
    def read(path):
        value = fields
        for name in path:
            if not isinstance(value, dict) or name not in value:
                return MISSING
            value = value[name]
        return value
    return evaluate(parse_condition(text), read)


@pytest.mark.parametrize("text, fields, expected", [
    ("mDestroyed == true", {"mDestroyed": True}, True),
    ("mDestroyed == true", {"mDestroyed": False}, False),
    ("mDestroyed == true", {}, None),  # no such field: unknown, never leaking by guess
    ("owner == null", {"owner": None}, True),
    ("owner != null", {"owner": None}, False),
    ('state == "CLOSED"', {"state": "CLOSED"}, True),
    ('state == "CLOSED"', {"state": object()}, None),  # not a string the dump holds
    ("count > 0", {"count": 3}, True),
    ("count >= 4", {"count": 3}, False),
    ("a == null and (b == true or c.d == 'X')", {"a": None, "b": False, "c": {"d": "X"}}, True),
    ("a == null and (b == true or c.d == 'X')", {"a": None, "b": False, "c": {"d": "Y"}}, False),
    ("x == 1 and y == 1", {"x": 0}, False),  # false and unknown is false
    ("x == 1 or y == 1", {"x": 0}, None),  # false or unknown is unknown
    ("x == 1 or y == 1", {"y": 1}, True),  # unknown or true is true
    ("not x == 1", {"x": 2}, True),
    ("ratio < 0.5", {"ratio": 0.25}, True),
    ("s == 'it\\'s'", {"s": "it's"}, True),
])
def test_evaluation(text, fields, expected):
    assert check(text, fields) is expected


@pytest.mark.parametrize("text, message", [
    ("", "empty condition"),
    ("closed ==", "ends too early"),
    ("closed = true", "cannot read condition"),
    ("closed == maybe", "expected true, false, null"),
    ("closed > true", "needs a number"),
    ("(closed == true", "missing ')'"),
    ("closed == true extra", "unexpected 'extra'"),
    ("true == closed", "expected a field name"),
])
def test_errors(text, message):
    with pytest.raises(ConditionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_condition(text)
