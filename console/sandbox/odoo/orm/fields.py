"""Field types: how each one is stored in SQLite, read over RPC, written, searched and described.

Storage is chosen so reading is cheap: dates and datetimes are kept as the very strings Odoo puts
on the wire (``YYYY-MM-DD`` / ``YYYY-MM-DD HH:MM:SS``, UTC), so they also compare correctly as text.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from console.sandbox.odoo.orm.models import BaseModel

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_LENGTH = 10
DATETIME_LENGTH = 19
_CANONICAL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CANONICAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

#: ``compute(records) -> {id: value in read format}``
ComputeFn = Callable[["BaseModel"], dict[int, Any]]
#: ``inverse(records, value)`` writes a computed field's value through to stored fields
InverseFn = Callable[["BaseModel", Any], None]
#: ``search(model, operator, value) -> domain`` for a positive operator
SearchFn = Callable[["BaseModel", str, Any], list[Any]]
#: a default: a constant in write format, or ``default(model) -> value``
Default = Any


def to_date_string(value: Any) -> str | None:
    """Odoo's ``fields.Date.to_date`` as the stored string; None for an empty value."""
    if value is None or value is False:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise TypeError(f"{value!r} (field.Date) must be str or date, not {type(value).__name__}")
    text = value[:DATE_LENGTH]
    if _CANONICAL_DATE.match(text):
        dt.date.fromisoformat(text)
        return text
    return dt.datetime.strptime(text, DATE_FORMAT).strftime(DATE_FORMAT)


def to_datetime_string(value: Any) -> str | None:
    """Odoo's ``fields.Datetime.to_datetime`` as the stored string; a bare date means midnight."""
    if value is None or value is False:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0, tzinfo=None).strftime(DATETIME_FORMAT)
    if isinstance(value, dt.date):
        return f"{value.isoformat()} 00:00:00"
    if not isinstance(value, str):
        raise TypeError(
            f"{value!r} (field.Datetime) must be str or datetime, not {type(value).__name__}"
        )
    text = value[:DATETIME_LENGTH]
    if len(text) == DATE_LENGTH:
        text += " 00:00:00"
    if _CANONICAL_DATETIME.match(text):
        dt.datetime.fromisoformat(text)  # validates the calendar, fast
        return text
    return dt.datetime.strptime(text, DATETIME_FORMAT).strftime(DATETIME_FORMAT)


_HTML_TAG = re.compile(r"<[a-zA-Z/!]")
_BARE_AMPERSAND = re.compile(r"&(?!#?[A-Za-z0-9]+;)")


def sanitize_html(value: str) -> str:
    """What Odoo's html sanitizer does to text without markup: parse it as HTML (entities stay
    entities, a bare ``<`` or ``&`` is escaped) and wrap it in a paragraph.

    Markup is kept as given; the real sanitizer also strips unsafe tags, which the sandbox does
    not need to imitate.
    """
    if not value or _HTML_TAG.search(value):
        return value
    text = _BARE_AMPERSAND.sub("&amp;", value).replace("<", "&lt;").replace(">", "&gt;")
    return f"<p>{text}</p>"


class Field:
    """A field of a model. Subclasses set the storage and conversion rules of one type."""

    type: ClassVar[str] = ""
    #: SQLite column type, or None when the field has no column (x2many)
    column_type: ClassVar[str | None] = None
    #: the SQL value Odoo treats as "not set" next to NULL (``False``, ``0``, ``''``), if any
    falsy_value: ClassVar[Any] = None
    relational: ClassVar[bool] = False
    default_aggregator: ClassVar[str | None] = None
    #: how a raw column value becomes the RPC value (see ``row_format``)
    read_kind: ClassVar[str] = "text"
    #: the target model of a relational field ("" for the others)
    comodel: str = ""

    def __init__(
        self,
        string: str | None = None,
        *,
        required: bool = False,
        readonly: bool = False,
        help: str | None = None,
        index: bool = False,
        default: Default = None,
        copy: bool = True,
        store: bool = True,
        compute: ComputeFn | None = None,
        inverse: InverseFn | None = None,
        search: SearchFn | None = None,
        translate: bool = False,
        size: int | None = None,
        aggregator: str | None = None,
        domain: Any = None,
        context: dict[str, Any] | None = None,
        state: str = "base",
        related: str | None = None,
        depends: tuple[str, ...] = (),
    ) -> None:
        self.string = string
        self.required = required
        self.readonly = readonly or (compute is not None and inverse is None)
        self.help = help
        self.index = index
        self.default = default
        self.copy = copy if compute is None else False
        self.store = store and compute is None
        self.compute = compute
        self.inverse = inverse
        self.search = search
        self.translate = translate
        self.size = size
        self.aggregator = aggregator if aggregator is not None else self.default_aggregator
        self.domain = domain
        self.context = context or {}
        self.state = state
        self.related = related
        self.depends = depends
        self.name = ""
        self.model_name = ""
        #: ``(parent model, delegating many2one)`` for fields reached through ``_inherits``
        self.inherited_from: tuple[str, str] | None = None

    # ------------------------------------------------------------------ identity
    def bound(self, model_name: str, name: str) -> Field:
        """A copy of this definition attached to ``model_name.name``."""
        field = copy.copy(self)
        field.model_name = model_name
        field.name = name
        field.context = dict(self.context)
        if field.string is None:
            field.string = name.replace("_", " ").title() if name != "id" else "ID"
        return field

    def __repr__(self) -> str:
        return f"{self.model_name}.{self.name}"

    @property
    def has_column(self) -> bool:
        """Whether the value lives in a column of the model's own table."""
        return self.store and self.column_type is not None and self.inherited_from is None

    @property
    def searchable(self) -> bool:
        return self.store or self.search is not None or self.inherited_from is not None

    # ------------------------------------------------------------------ conversions
    def convert_to_column(self, value: Any) -> Any:
        """The SQL value stored for a value written over RPC (raises ValueError/TypeError)."""
        if value is None or value is False:
            return None
        return value

    def convert_to_read(self, raw: Any) -> Any:
        """The RPC value of a raw column value."""
        return False if raw is None else raw

    def convert_domain_value(self, value: Any) -> Any:
        """A domain literal as compared against the column (never called with False/None)."""
        return self.convert_to_column(value)

    # ------------------------------------------------------------------ description
    def describe(self) -> dict[str, Any]:
        """The attributes ``fields_get`` reports for this field."""
        desc: dict[str, Any] = {
            "type": self.type,
            "string": self.string,
            "name": self.name,
            "required": self.required,
            "readonly": self.readonly,
            "store": self.store and self.inherited_from is None,
            "searchable": self.searchable,
            "sortable": self.has_column
            or self.inherited_from is not None
            or self.name == "display_name",
            "groupable": self.has_column and self.type not in ("text", "html", "binary", "json"),
            "manual": self.state == "manual",
            "depends": list(self.depends),
            "company_dependent": False,
            "change_default": False,
            "exportable": True,
        }
        if self.help:
            desc["help"] = self.help
        if self.related:
            desc["related"] = self.related
        if self.aggregator:
            desc["aggregator"] = self.aggregator
        return desc


class _Textual(Field):
    column_type = "TEXT"
    falsy_value = ""

    def convert_to_column(self, value: Any) -> Any:
        if value is None or value is False:
            return None
        text = value if isinstance(value, str) else str(value)
        return text[: self.size] if self.size else text

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["translate"] = self.translate
        return desc


class Char(_Textual):
    type = "char"

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["trim"] = True
        if self.size:
            desc["size"] = self.size
        return desc


class Text(_Textual):
    type = "text"


class Html(_Textual):
    type = "html"

    def convert_to_column(self, value: Any) -> Any:
        text = super().convert_to_column(value)
        return sanitize_html(text) if text else text

    def convert_domain_value(self, value: Any) -> Any:
        return _Textual.convert_to_column(self, value)


class Integer(Field):
    type = "integer"
    column_type = "INTEGER"
    read_kind = "int"
    falsy_value: ClassVar[Any] = 0
    default_aggregator: ClassVar[str | None] = "sum"

    def convert_to_column(self, value: Any) -> Any:
        return int(value or 0)

    def convert_to_read(self, raw: Any) -> Any:
        return raw or 0


class Id(Integer):
    """The primary key: never NULL, never written."""

    falsy_value: ClassVar[Any] = None
    default_aggregator: ClassVar[str | None] = None

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["readonly"] = True
        return desc


class Float(Field):
    type = "float"
    column_type = "REAL"
    read_kind = "float"
    falsy_value = 0.0
    default_aggregator = "sum"

    def convert_to_column(self, value: Any) -> Any:
        return float(value or 0.0)

    def convert_to_read(self, raw: Any) -> Any:
        return raw or 0.0


class Monetary(Float):
    type = "monetary"

    def __init__(
        self, string: str | None = None, *, currency_field: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(string, **kwargs)
        self.currency_field = currency_field

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["currency_field"] = self.currency_field or "currency_id"
        return desc


class Boolean(Field):
    type = "boolean"
    column_type = "INTEGER"
    read_kind = "bool"
    falsy_value = 0

    def convert_to_column(self, value: Any) -> Any:
        return 1 if value else 0

    def convert_to_read(self, raw: Any) -> Any:
        return bool(raw)


class Date(Field):
    type = "date"
    column_type = "TEXT"

    def convert_to_column(self, value: Any) -> Any:
        return to_date_string(value)


class Datetime(Field):
    type = "datetime"
    column_type = "TEXT"

    def convert_to_column(self, value: Any) -> Any:
        return to_datetime_string(value)


class Selection(Field):
    type = "selection"
    column_type = "TEXT"

    def __init__(
        self,
        selection: list[tuple[str, str]] | None = None,
        string: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(string, **kwargs)
        self.selection: list[tuple[str, str]] = list(selection or [])

    def bound(self, model_name: str, name: str) -> Field:
        field = super().bound(model_name, name)
        assert isinstance(field, Selection)
        field.selection = list(self.selection)
        return field

    def convert_to_column(self, value: Any) -> Any:
        if value is None or value is False:
            return None
        if value not in {key for key, _label in self.selection}:
            raise ValueError(f"Wrong value for {self.model_name}.{self.name}: {value!r}")
        return value

    def convert_domain_value(self, value: Any) -> Any:
        return value

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["selection"] = [[key, label] for key, label in self.selection]
        return desc


class Binary(Field):
    type = "binary"
    column_type = "TEXT"

    def __init__(
        self, string: str | None = None, *, attachment: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(string, **kwargs)
        self.attachment = attachment

    def convert_to_column(self, value: Any) -> Any:
        if value is None or value is False:
            return None
        if isinstance(value, bytes):
            return value.decode("ascii")
        return str(value)

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["attachment"] = self.attachment
        return desc


class Json(Field):
    type = "json"
    column_type = "TEXT"
    read_kind = "json"

    def convert_to_column(self, value: Any) -> Any:
        if value is None or value is False:
            return None
        return json.dumps(value)

    def convert_to_read(self, raw: Any) -> Any:
        return False if raw is None else json.loads(raw)


class _Relational(Field):
    relational = True

    def __init__(self, comodel: str, string: str | None = None, **kwargs: Any) -> None:
        super().__init__(string, **kwargs)
        self.comodel = comodel

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["relation"] = self.comodel
        desc["context"] = dict(self.context)
        desc["domain"] = self.domain if self.domain is not None else []
        return desc


class Many2one(_Relational):
    type = "many2one"
    column_type = "INTEGER"

    def __init__(
        self,
        comodel: str,
        string: str | None = None,
        *,
        ondelete: str = "set null",
        delegate: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("index", True)
        super().__init__(comodel, string, **kwargs)
        self.ondelete = ondelete
        self.delegate = delegate

    def convert_to_column(self, value: Any) -> Any:
        if value is None or value is False:
            return None
        if isinstance(value, list | tuple) and value:
            value = value[0]  # a [id, name] pair read back from Odoo
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"Wrong value for {self.model_name}.{self.name}: {value!r}")
        return value

    def convert_domain_value(self, value: Any) -> Any:
        return int(value)


class One2many(_Relational):
    type = "one2many"

    def __init__(
        self, comodel: str, inverse_name: str, string: str | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("copy", False)
        super().__init__(comodel, string, **kwargs)
        self.inverse_name = inverse_name

    @property
    def searchable(self) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["relation_field"] = self.inverse_name
        desc["store"] = True
        desc["sortable"] = False
        return desc


class Many2many(_Relational):
    type = "many2many"

    def __init__(
        self,
        comodel: str,
        relation: str | None = None,
        column1: str | None = None,
        column2: str | None = None,
        string: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(comodel, string, **kwargs)
        self.relation = relation or ""
        self.column1 = column1 or ""
        self.column2 = column2 or ""

    @property
    def searchable(self) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["store"] = True
        desc["sortable"] = False
        desc["groupable"] = True
        return desc


#: field classes by the ``ttype`` Odoo writes in ``ir.model.fields``
FIELD_TYPES: dict[str, type[Field]] = {
    cls.type: cls
    for cls in (
        Char,
        Text,
        Html,
        Integer,
        Float,
        Monetary,
        Boolean,
        Date,
        Datetime,
        Selection,
        Binary,
        Json,
        Many2one,
        One2many,
        Many2many,
    )
}

#: ttypes Odoo knows but the sandbox cannot create at runtime
UNSUPPORTED_TTYPES = frozenset(
    {"many2one_reference", "reference", "properties", "properties_definition"}
)
