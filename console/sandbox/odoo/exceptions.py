"""Exceptions of the Odoo sandbox, named and coded exactly as Odoo 19 puts them on the wire.

The ORM raises these (and plain ``ValueError`` / ``AttributeError`` / ``TypeError`` for the cases
where Odoo raises the builtin); the wire layer turns each into Odoo's envelope for the protocol at
hand using the class attributes below, so the mapping lives in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OdooError(Exception):
    """Base of Odoo's own exceptions (``odoo.exceptions.UserError`` and friends)."""

    #: ``data.name`` in a JSON-RPC error, ``name`` in a JSON-2 error body.
    wire_name: ClassVar[str] = "odoo.exceptions.UserError"
    #: faultCode on ``/xmlrpc/2/*``.
    xmlrpc_code: ClassVar[int] = 2
    #: HTTP status on ``/json/2/*``.
    http_status: ClassVar[int] = 422

    def __init__(self, message: str, *args: Any) -> None:
        super().__init__(message, *args)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(OdooError):
    wire_name = "odoo.exceptions.UserError"


class ValidationError(UserError):
    wire_name = "odoo.exceptions.ValidationError"


class RedirectWarning(UserError):
    wire_name = "odoo.exceptions.RedirectWarning"


class MissingError(UserError):
    wire_name = "odoo.exceptions.MissingError"
    http_status = 404


class AccessError(UserError):
    wire_name = "odoo.exceptions.AccessError"
    xmlrpc_code = 4
    http_status = 403


class AccessDenied(OdooError):
    """Bad credentials. Odoo's message is always the bare ``Access Denied``."""

    wire_name = "odoo.exceptions.AccessDenied"
    xmlrpc_code = 3
    http_status = 403

    def __init__(self, message: str = "Access Denied", *args: Any) -> None:
        super().__init__(message, *args)


class UnknownModel(UserError):
    """``Object x_foo doesn't exist``: a UserError on /jsonrpc, NotFound (code 404) on call_kw,
    HTTP 404 on JSON-2. The wire layer tells them apart by this class."""

    http_status = 404

    def __init__(self, model: str) -> None:
        super().__init__(f"Object {model} doesn't exist")
        self.model = model


class UnknownMethod(AttributeError):
    """``The method 'res.partner.foo' does not exist`` (a builtins.AttributeError in Odoo)."""

    def __init__(self, model: str, method: str) -> None:
        super().__init__(f"The method '{model}.{method}' does not exist")
        self.model = model
        self.method = method


class LockError(UserError):
    wire_name = "odoo.exceptions.LockError"
    http_status = 409


def wire_name_of(exc: BaseException) -> str:
    """``module.ClassName`` of an exception as Odoo's ``serialize_exception`` writes it."""
    if isinstance(exc, OdooError):
        return exc.wire_name
    if isinstance(exc, UnknownMethod):
        return "builtins.AttributeError"
    cls = type(exc)
    module = cls.__module__
    return f"{module}.{cls.__qualname__}"
