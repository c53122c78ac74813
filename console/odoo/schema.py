"""Loads ``resources/odoo/schema.toml``: the one module that reads it.

Everything else receives a :class:`~console.domain.schema.Schema` (for provision and doctor) or
uses the checked constants of ``console.domain.names`` (for field names in code)::

    schema = load_schema()
    spec = schema.model(ClientAsset.MODEL).field(ClientAsset.PULSEWAY_ID)
    spec.index  # True
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

import console
from console.domain.names import missing_names
from console.domain.schema import Schema, SchemaError, parse_schema

__all__ = ["SchemaError", "default_schema_path", "load_schema"]


def default_schema_path() -> Path:
    """``resources/odoo/schema.toml``: beside the console package in a checkout, in the data
    files of a wheel install, inside a PyInstaller bundle (see :mod:`console.resources`)."""
    from console.resources import resources_dir

    try:
        return resources_dir() / "odoo" / "schema.toml"
    except FileNotFoundError:  # the error below names this path
        return Path(console.__file__).resolve().parent.parent / "resources" / "odoo" / "schema.toml"


def load_schema(path: Path | str | None = None) -> Schema:
    """Read, validate and return the schema (the default file is read once per process).

    Raises :class:`SchemaError` when the file is missing, is not TOML, is invalid, or lacks a
    model, field or selection value that ``console.domain.names`` (the product code) uses.
    """
    if path is None:
        return _load_default()
    return _load(Path(path))


@functools.cache
def _load_default() -> Schema:
    return _load(default_schema_path())


def _load(path: Path) -> Schema:
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise SchemaError(
            f"{path}: schema file not found; run from a source checkout of psa-console "
            "(resources/ sits beside the console package) or pass the file's path"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{path}: not valid TOML: {exc}") from None
    try:
        schema = parse_schema(data)
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from None
    problems = missing_names(schema)
    if problems:
        raise SchemaError(
            f"{path}: the product uses names this schema does not declare:\n  "
            + "\n  ".join(problems)
        )
    return schema
