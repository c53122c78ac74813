"""Odoo failures as the product talks about them: typed, with a message a user understands.

The gateway turns odoorpc's ``RPCError`` (which carries Odoo's JSON-RPC error object in
``.info``) and urllib's connection errors into these. The technical details stay on the
exception (``detail``) for the log; ``str(exc)`` is the user-facing sentence.
"""

from __future__ import annotations

import socket
import urllib.error
from typing import Any


class OdooGatewayError(Exception):
    """Base: something went wrong talking to Odoo. ``str()`` is for the user."""

    #: whether retrying the same call later can succeed without the user changing anything
    retryable = False

    def __init__(self, message: str, *, detail: str = "", odoo_name: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.odoo_name = odoo_name


class WrongCredentials(OdooGatewayError):
    """The login or password (or API key) was refused."""


class ServerUnreachable(OdooGatewayError):
    """No answer from the server: address wrong, server down, network gone, or timeout."""

    retryable = True


class DatabaseNotFound(OdooGatewayError):
    """The server answers but has no database of that name."""


class AccessDenied(OdooGatewayError):
    """Odoo's access rights or record rules refuse the operation (``AccessError``)."""


class RecordGone(OdooGatewayError):
    """The record was deleted meanwhile (``MissingError``)."""


class ValidationFailed(OdooGatewayError):
    """Odoo refused the values (``ValidationError`` / ``UserError``): the message says why."""


class SessionExpired(OdooGatewayError):
    """The web session ended; the gateway logs in again transparently once."""

    retryable = True


class SchemaMismatch(OdooGatewayError):
    """A model, field or method the product needs is missing (run ``psa provision``)."""


class OdooServerError(OdooGatewayError):
    """Any other server-side failure."""

    retryable = True


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def from_rpc_error(
    info: dict[str, Any] | None, fallback: str, *, url: str = ""
) -> OdooGatewayError:
    """Map Odoo's JSON-RPC error object (``{"code", "message", "data": {...}}``) to a typed error."""
    info = info or {}
    data = info.get("data") or {}
    name = str(data.get("name") or "")
    message = str(data.get("message") or info.get("message") or fallback)
    code = info.get("code")
    detail = str(data.get("debug") or message)
    if code == 100 or name == "odoo.http.SessionExpiredException":
        return SessionExpired("Your Odoo session expired.", detail=detail, odoo_name=name)
    if name == "odoo.exceptions.AccessDenied":
        return WrongCredentials(
            "Odoo refused the login or password. Check them and sign in again.",
            detail=detail,
            odoo_name=name,
        )
    if name == "odoo.exceptions.AccessError":
        return AccessDenied(
            f"Odoo does not allow this: {_first_line(message)}", detail=detail, odoo_name=name
        )
    if name == "odoo.exceptions.MissingError":
        return RecordGone(
            "The record no longer exists in Odoo (someone deleted it). Refresh and try again.",
            detail=detail,
            odoo_name=name,
        )
    if name in ("odoo.exceptions.ValidationError", "odoo.exceptions.UserError"):
        if "doesn't exist" in message and message.startswith("Object "):
            return SchemaMismatch(
                f"Odoo has no model {message.split()[1]}: run `psa provision` for this database.",
                detail=detail,
                odoo_name=name,
            )
        return ValidationFailed(_first_line(message), detail=detail, odoo_name=name)
    if name == "psycopg2.OperationalError" and "does not exist" in message:
        return DatabaseNotFound(
            "Odoo has no database of that name: check the database name "
            "(the login dialog lists this server's databases).",
            detail=detail,
            odoo_name=name,
        )
    if name in ("builtins.ValueError", "builtins.AttributeError") and (
        "Invalid field" in message or "does not exist" in message
    ):
        return SchemaMismatch(
            f"Odoo does not know a field or method the console needs ({_first_line(message)}). "
            "Run `psa doctor` to see what is missing.",
            detail=detail,
            odoo_name=name,
        )
    return OdooServerError(
        f"Odoo reported an error: {_first_line(message)}", detail=detail, odoo_name=name
    )


def from_transport_error(exc: BaseException, url: str) -> OdooGatewayError:
    """Map a connection-level failure (refused, DNS, timeout, TLS, HTTP 5xx page) to a typed error."""
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code == 404:
            return ServerUnreachable(
                f"{url} answered but is not an Odoo server (HTTP 404). Check the address.",
                detail=str(exc),
            )
        return ServerUnreachable(
            f"Odoo at {url} answered HTTP {exc.code}. It may be restarting; try again shortly.",
            detail=str(exc),
        )
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, TimeoutError | socket.timeout):
        return ServerUnreachable(
            f"Odoo at {url} did not answer in time. It may be overloaded; try again.",
            detail=str(exc),
        )
    if isinstance(reason, socket.gaierror):
        return ServerUnreachable(
            f"Cannot find the Odoo server {url}: the host name does not resolve.",
            detail=str(exc),
        )
    return ServerUnreachable(
        f"Cannot reach Odoo at {url}. Check the address and that the server is running.",
        detail=str(exc),
    )
