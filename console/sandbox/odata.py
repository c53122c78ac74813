"""The subset of OData ``$filter`` / ``$orderby`` the Pulseway stand-in understands.

Pulseway's reference shows expressions such as ``contains(tolower(GroupName), 'mygroup')`` and
``PsaMappingType eq 'AutoTask' and contains(Name, 'myorg')`` (reference §1). Supported here:

* ``Field eq|ne|gt|ge|lt|le <literal>`` with string (``'it''s'``), number, ``true``/``false``,
  ``null`` literals;
* ``contains(F, 's')``, ``startswith(F, 's')``, ``endswith(F, 's')``, where ``F`` is a field or
  ``tolower(Field)`` / ``toupper(Field)``;
* ``not <term>``, ``and``, ``or`` and parentheses.

Anything else raises :class:`ODataError`, which the stand-in answers with 400 — a client that
relies on more should find out in tests, not in production.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Item = Mapping[str, Any]
Predicate = Callable[[Item], bool]


class ODataError(ValueError):
    """The expression is outside the supported subset or malformed."""


_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<punct>[(),])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_/]*))"
)
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}
_TRANSFORMS = {"tolower", "toupper"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ODataError(f"cannot parse $filter near {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


def _field_value(item: Item, name: str) -> Any:
    if name in item:
        return item[name]
    lowered = name.lower()
    for key, value in item.items():
        if key.lower() == lowered:
            return value
    raise ODataError(f"unknown property {name!r} in $filter")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ODataError("unexpected end of $filter")
        self.position += 1
        return token

    def expect(self, value: str) -> None:
        _kind, text = self.take()
        if text.lower() != value:
            raise ODataError(f"expected {value!r} in $filter, found {text!r}")

    def parse(self) -> Predicate:
        predicate = self.parse_or()
        leftover = self.peek()
        if leftover is not None:
            raise ODataError(f"unexpected {leftover[1]!r} in $filter")
        return predicate

    def parse_or(self) -> Predicate:
        left = self.parse_and()
        while (token := self.peek()) and token[0] == "word" and token[1].lower() == "or":
            self.take()
            right = self.parse_and()
            left = (lambda a, b: lambda item: a(item) or b(item))(left, right)
        return left

    def parse_and(self) -> Predicate:
        left = self.parse_unary()
        while (token := self.peek()) and token[0] == "word" and token[1].lower() == "and":
            self.take()
            right = self.parse_unary()
            left = (lambda a, b: lambda item: a(item) and b(item))(left, right)
        return left

    def parse_unary(self) -> Predicate:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() == "not":
            self.take()
            inner = self.parse_unary()
            return lambda item: not inner(item)
        if token == ("punct", "("):
            self.take()
            inner = self.parse_or()
            self.expect(")")
            return inner
        return self.parse_term()

    def parse_operand(self) -> Callable[[Item], Any]:
        kind, text = self.take()
        if kind != "word":
            raise ODataError(f"expected a property name in $filter, found {text!r}")
        lowered = text.lower()
        if lowered in _TRANSFORMS:
            self.expect("(")
            inner = self.parse_operand()
            self.expect(")")
            if lowered == "tolower":
                return lambda item: _text(inner(item)).lower()
            return lambda item: _text(inner(item)).upper()
        return lambda item: _field_value(item, text)

    def parse_literal(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "word" and text.lower() == "null":
            return None
        raise ODataError(f"expected a literal in $filter, found {text!r}")

    def parse_term(self) -> Predicate:
        kind, text = self.peek() or ("", "")
        if kind == "word" and text.lower() in _FUNCTIONS:
            self.take()
            self.expect("(")
            operand = self.parse_operand()
            self.expect(",")
            needle = self.parse_literal()
            self.expect(")")
            if not isinstance(needle, str):
                raise ODataError(f"{text}() needs a string literal")
            return _string_function(text.lower(), operand, needle)
        operand = self.parse_operand()
        kind, operator = self.take()
        if kind != "word" or operator.lower() not in _COMPARISONS:
            raise ODataError(f"expected a comparison operator in $filter, found {operator!r}")
        literal = self.parse_literal()
        return _comparison(operator.lower(), operand, literal)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _string_function(name: str, operand: Callable[[Item], Any], needle: str) -> Predicate:
    if name == "contains":
        return lambda item: needle in _text(operand(item))
    if name == "startswith":
        return lambda item: _text(operand(item)).startswith(needle)
    return lambda item: _text(operand(item)).endswith(needle)


def _comparison(operator: str, operand: Callable[[Item], Any], literal: Any) -> Predicate:
    def compare(item: Item) -> bool:
        value = operand(item)
        if operator == "eq":
            return bool(value == literal)
        if operator == "ne":
            return bool(value != literal)
        if value is None or literal is None:
            return False
        try:
            if operator == "gt":
                return bool(value > literal)
            if operator == "ge":
                return bool(value >= literal)
            if operator == "lt":
                return bool(value < literal)
            return bool(value <= literal)
        except TypeError:
            return False

    return compare


def parse_filter(text: str) -> Predicate:
    """Compile a ``$filter`` expression into a predicate over API items."""
    if not text.strip():
        return lambda item: True
    return _Parser(text).parse()


def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """``"GroupId desc, Name"`` → ``[("GroupId", True), ("Name", False)]`` (True = descending)."""
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise ODataError(f"cannot parse $orderby {part.strip()!r}")
        keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return keys


def apply_orderby(
    items: list[dict[str, Any]], keys: list[tuple[str, bool]]
) -> list[dict[str, Any]]:
    """Sort API items by ``keys`` (stable; ``None`` sorts first)."""
    ordered = list(items)
    for name, descending in reversed(keys):

        def sort_key(item: dict[str, Any], name: str = name) -> tuple[int, Any]:
            value = _field_value(item, name)
            return (0, "") if value is None else (1, value)

        ordered.sort(key=sort_key, reverse=descending)
    return ordered
