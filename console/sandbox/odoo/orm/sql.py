"""SQL fragments with their parameters, identifier quoting and LIKE patterns for SQLite.

The ORM builds every query from :class:`Sql` pieces so a fragment always travels with its
parameters in the right order; nothing user-supplied is ever pasted into SQL text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Sql:
    """A piece of SQL with ``?`` placeholders and the parameters that fill them, in order."""

    code: str
    params: tuple[Any, ...] = ()

    def __add__(self, other: Sql) -> Sql:
        return Sql(self.code + other.code, self.params + other.params)

    def wrap(self, before: str, after: str = "") -> Sql:
        """This fragment between two literal strings."""
        return Sql(before + self.code + after, self.params)


TRUE = Sql("1")
FALSE = Sql("0")


def join(separator: str, parts: Iterable[Sql]) -> Sql:
    """The parts joined by a literal separator, parameters concatenated in order."""
    codes: list[str] = []
    params: list[Any] = []
    for part in parts:
        codes.append(part.code)
        params.extend(part.params)
    return Sql(separator.join(codes), tuple(params))


def and_(parts: Sequence[Sql]) -> Sql:
    """Conjunction, simplified when a part is a constant."""
    kept = [p for p in parts if p is not TRUE]
    if any(p is FALSE for p in kept):
        return FALSE
    if not kept:
        return TRUE
    if len(kept) == 1:
        return kept[0]
    return join(" AND ", (p.wrap("(", ")") for p in kept))


def or_(parts: Sequence[Sql]) -> Sql:
    """Disjunction, simplified when a part is a constant."""
    kept = [p for p in parts if p is not FALSE]
    if any(p is TRUE for p in kept):
        return TRUE
    if not kept:
        return FALSE
    if len(kept) == 1:
        return kept[0]
    return join(" OR ", (p.wrap("(", ")") for p in kept))


def check_identifier(name: str) -> str:
    """``name`` if it is a safe lowercase SQL identifier, else ValueError."""
    if not _IDENTIFIER.match(name) or len(name) > 63:
        raise ValueError(f"Invalid SQL identifier {name!r}")
    return name


def quote(name: str) -> str:
    """A double-quoted identifier (names are validated when models and fields are defined)."""
    return '"' + name.replace('"', '""') + '"'


def column(alias: str, name: str) -> str:
    return f"{alias}.{quote(name)}"


def in_list(expr: str, values: Sequence[Any]) -> Sql:
    """``expr IN (?, ?, ...)``; large lists go through ``json_each`` to stay under SQLite's
    parameter limit."""
    if len(values) > 500:
        import json

        return Sql(f"{expr} IN (SELECT value FROM json_each(?))", (json.dumps(list(values)),))
    marks = ", ".join("?" * len(values))
    return Sql(f"{expr} IN ({marks})", tuple(values))


def glob_pattern(like_pattern: str) -> str:
    """A case-sensitive GLOB pattern equivalent to a PostgreSQL LIKE pattern (``\\`` escapes)."""
    out: list[str] = []
    chars = iter(like_pattern)
    for ch in chars:
        if ch == "\\":
            literal = next(chars, "\\")
            out.append(_glob_literal(literal))
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        else:
            out.append(_glob_literal(ch))
    return "".join(out)


def _glob_literal(ch: str) -> str:
    return f"[{ch}]" if ch in "*?[" else ch


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def unicode_ilike(value: Any, pattern: Any) -> int | None:
    """PostgreSQL ``ILIKE`` for any Unicode text; registered as the SQLite function ``odoo_ilike``.

    SQLite's own LIKE folds ASCII case only, which is exact for ASCII patterns (the ORM uses it
    for those) but not for patterns with accented letters.
    """
    if value is None or pattern is None:
        return None
    return 1 if _like_regex(str(pattern)).fullmatch(str(value)) else 0
