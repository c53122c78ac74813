"""Turning fetched SQL rows into ``read`` dicts fast.

``search_read`` of thousands of rows is the sandbox's hot path (the console pages through
100,000 assets). Calling a converter per field per row costs more than the query itself, so for
each layout of fields one list comprehension is generated, compiled once and cached: every
conversion is an inline expression. Only field names (validated identifiers, inserted with
``repr``) and integer positions ever enter the generated source.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

#: ``(field name, kind, row index, side table slot)``; kinds:
#: ``text`` NULL -> False; ``int`` NULL -> 0; ``float`` NULL -> 0.0; ``bool``; ``json``;
#: ``m2o`` [id, label] from a side table; ``raw_id`` id or False; ``map`` value from a side table
#: keyed by record id; ``maplist`` list from such a table; ``delegated`` value from the parent
#: record's dict (side table keyed by the delegating many2one in the row).
Layout = tuple[tuple[str, str, int, int], ...]
Formatter = Callable[..., list[dict[str, Any]]]

_EXPRESSIONS = {
    "text": "(False if r[{i}] is None else r[{i}])",
    "int": "(r[{i}] or 0)",
    "float": "(r[{i}] or 0.0)",
    "bool": "(r[{i}] == 1)",
    "json": "(False if r[{i}] is None else _json(r[{i}]))",
    "m2o": "([r[{i}], s{s}.get(r[{i}], False)] if r[{i}] else False)",
    "raw_id": "(r[{i}] or False)",
    "map": "s{s}.get(r[0], False)",
    "maplist": "list(s{s}.get(r[0], ()))",
    "delegated": "(s{s}[r[{i}]][{key}] if r[{i}] in s{s} else False)",
}


@functools.lru_cache(maxsize=512)
def formatter(layout: Layout, slots: int) -> Formatter:
    """``fmt(rows, s0, s1, ...) -> [{"id": ..., name: value, ...}, ...]`` for ``layout``."""
    items = ["'id': r[0]"]
    for name, kind, index, slot in layout:
        if not name.isidentifier():
            raise ValueError(f"Invalid field name {name!r}")
        expression = _EXPRESSIONS[kind].format(i=index, s=slot, key=repr(name))
        items.append(f"{name!r}: {expression}")
    arguments = "".join(f", s{slot}" for slot in range(slots))
    source = f"def fmt(rows{arguments}):\n    return [{{{', '.join(items)}}} for r in rows]\n"
    namespace: dict[str, Any] = {"_json": json.loads}
    exec(compile(source, "<sandbox-orm-row-format>", "exec"), namespace)
    result: Formatter = namespace["fmt"]
    return result
