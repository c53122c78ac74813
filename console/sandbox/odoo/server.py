"""Odoo 19's RPC wire protocols over the sandbox ORM.

Routes, envelopes, status codes and error shapes follow ``shared/reference/odoo19_rpc.md``
(§1, §2, §8, §9): JSON-RPC on ``/jsonrpc`` and the ``/web/...`` session routes, XML-RPC on
``/xmlrpc/2/*`` and the legacy ``/xmlrpc/*``, and Odoo 19's JSON-2 on ``/json/2/<model>/<method>``.
The ORM (:class:`console.sandbox.odoo.orm.Database`) does the work; this module only translates.
Blocking ORM calls run in Starlette's thread pool so one slow call never stalls the others.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import traceback
import xmlrpc.client
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from console.sandbox.odoo.exceptions import (
    AccessDenied,
    AccessError,
    MissingError,
    OdooError,
    RedirectWarning,
    UnknownMethod,
    UnknownModel,
    UserError,
    wire_name_of,
)
from console.sandbox.odoo.orm import SUPERUSER_ID, Database

log = logging.getLogger(__name__)

SERVER_VERSION = "19.0"
SERVER_VERSION_INFO: list[Any] = [19, 0, 0, "final", 0, ""]
VERSION_INFO: dict[str, Any] = {
    "server_version": SERVER_VERSION,
    "server_version_info": SERVER_VERSION_INFO,
    "server_serie": SERVER_VERSION,
    "protocol_version": 1,
}
SESSION_COOKIE = "session_id"
SESSION_MAX_AGE = 7 * 24 * 3600
NOT_FOUND_DESCRIPTION = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)
#: Methods of the db service that need the master password, which the sandbox never accepts.
_DB_MASTER_METHODS = frozenset(
    {
        "create_database",
        "duplicate_database",
        "drop",
        "dump",
        "restore",
        "rename",
        "change_admin_password",
        "migrate_databases",
    }
)


class JsonRpcError(Exception):
    """An error whose JSON-RPC envelope is not the default ``code 0`` one."""

    def __init__(self, code: int, message: str, name: str, data_message: str) -> None:
        super().__init__(data_message)
        self.code = code
        self.message = message
        self.name = name
        self.data_message = data_message


def _session_expired() -> JsonRpcError:
    return JsonRpcError(
        100, "Odoo Session Expired", "odoo.http.SessionExpiredException", "Session expired"
    )


def _not_found(detail: str = NOT_FOUND_DESCRIPTION) -> JsonRpcError:
    return JsonRpcError(
        404, "404: Not Found", "werkzeug.exceptions.NotFound", f"404 Not Found: {detail}"
    )


class DatabaseNotFound(Exception):
    """Raised where Odoo's registry would fail to open a database that does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(f'connection to server failed: FATAL:  database "{name}" does not exist')


def _exception_arguments(exc: BaseException) -> list[Any]:
    if isinstance(exc, OdooError):
        return [exc.message]
    return [a if isinstance(a, (str, int, float, bool)) or a is None else str(a) for a in exc.args]


def serialize_exception(exc: BaseException) -> dict[str, Any]:
    """``odoo.http.serialize_exception``: the ``data`` of a JSON-RPC error."""
    name = wire_name_of(exc)
    if isinstance(exc, DatabaseNotFound):
        name = "psycopg2.OperationalError"
    return {
        "name": name,
        "message": str(exc),
        "arguments": _exception_arguments(exc),
        "context": {},
        "debug": "".join(traceback.format_exception(exc)),
    }


@dataclass
class Session:
    sid: str
    db: str
    uid: int
    login: str


class SessionStore:
    """In-memory web sessions (``session_id`` cookie), as Odoo's filesystem store would hold them."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, db: str, uid: int, login: str) -> Session:
        session = Session(sid=secrets.token_urlsafe(63)[:84], db=db, uid=uid, login=login)
        with self._lock:
            self._sessions[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            return self._sessions.get(sid)

    def close(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)


def _to_wire(value: Any) -> Any:
    """Values from XML-RPC (``DateTime``, ``Binary``) into the plain JSON-ish ones the ORM takes."""
    if isinstance(value, xmlrpc.client.DateTime):
        text = value.value
        # xmlrpc's compact form 20240101T12:00:00 -> Odoo's "2024-01-01 12:00:00"
        if len(text) >= 17 and "T" in text and "-" not in text[:8]:
            return f"{text[0:4]}-{text[4:6]}-{text[6:8]} {text[9:]}"
        return text.replace("T", " ")
    if isinstance(value, xmlrpc.client.Binary):
        return value.data.decode("latin-1")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [_to_wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_wire(v) for k, v in value.items()}
    return value


class OdooServer:
    """The sandbox server: a set of databases and the Starlette app serving them."""

    def __init__(self, databases: Mapping[str, Database], *, list_db: bool = True) -> None:
        self.databases = dict(databases)
        self.list_db = list_db
        self.sessions = SessionStore()
        self.app = Starlette(routes=self._routes())

    # ------------------------------------------------------------------ routing
    def _routes(self) -> list[Route]:
        jsonrpc = self._jsonrpc_route
        return [
            Route("/jsonrpc", jsonrpc(self._rpc_dispatch), methods=["POST"]),
            Route("/web/webclient/version_info", jsonrpc(self._version_info), methods=["POST"]),
            Route("/web/version", self._plain_version, methods=["GET", "POST"]),
            Route("/json/version", self._plain_version, methods=["GET", "POST"]),
            Route("/web/database/list", jsonrpc(self._web_database_list), methods=["POST"]),
            Route(
                "/web/session/authenticate", jsonrpc(self._session_authenticate), methods=["POST"]
            ),
            Route("/web/session/get_session_info", jsonrpc(self._session_info), methods=["POST"]),
            Route("/web/session/destroy", jsonrpc(self._session_destroy), methods=["POST"]),
            Route("/web/session/check", jsonrpc(self._session_check), methods=["POST"]),
            Route("/web/dataset/call_kw", jsonrpc(self._call_kw), methods=["POST"]),
            Route("/web/dataset/call_kw/{path:path}", jsonrpc(self._call_kw), methods=["POST"]),
            Route("/web/dataset/call_button", jsonrpc(self._call_kw), methods=["POST"]),
            Route("/xmlrpc/2/{service}", self._xmlrpc_2, methods=["POST"]),
            Route("/xmlrpc/{service}", self._xmlrpc_legacy, methods=["POST"]),
            Route("/json/2", self._json2_index, methods=["GET", "POST"]),
            Route("/json/2/{model}/{method}", self._json2, methods=["POST"]),
            Route("/{path:path}", self._fallback, methods=["GET", "POST", "PUT", "DELETE"]),
        ]

    # ------------------------------------------------------------------ JSON-RPC plumbing
    JsonHandler = Callable[[Request, dict[str, Any]], Awaitable[Any]]

    def _jsonrpc_route(self, handler: JsonHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return PlainTextResponse("Invalid JSON data", status_code=400)
            if not isinstance(payload, dict):
                return PlainTextResponse("Invalid JSON-RPC data", status_code=400)
            request_id = payload.get("id")
            params = payload.get("params", {})
            if params is None:
                params = {}
            response = Response(media_type="application/json; charset=utf-8")
            try:
                if not isinstance(params, dict):
                    raise TypeError("params must be an object (keyword arguments)")
                request.state.response = response
                result = await handler(request, params)
                envelope: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
                if result is not None:
                    envelope["result"] = result
            except JsonRpcError as exc:
                envelope = {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {
                        "code": exc.code,
                        "message": exc.message,
                        "data": {
                            "name": exc.name,
                            "message": exc.data_message,
                            "arguments": [exc.data_message],
                            "context": {},
                            "debug": exc.data_message,
                        },
                    },
                }
            except Exception as exc:  # every application error becomes Odoo's envelope
                self._log_rpc_error(exc)
                envelope = {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {
                        "code": 0,
                        "message": "Odoo Server Error",
                        "data": serialize_exception(exc),
                    },
                }
            response.body = json.dumps(envelope, separators=(",", ":"), default=str).encode("utf-8")
            response.headers["content-length"] = str(len(response.body))
            return response

        return endpoint

    @staticmethod
    def _log_rpc_error(exc: BaseException) -> None:
        if isinstance(exc, OdooError | UnknownMethod | ValueError | TypeError):
            log.info("RPC refused: %s: %s", wire_name_of(exc), exc)
        else:
            log.exception("RPC failed", exc_info=exc)

    # ------------------------------------------------------------------ services
    def _database(self, name: Any) -> Database:
        db = self.databases.get(name) if isinstance(name, str) else None
        if db is None:
            raise DatabaseNotFound(str(name))
        return db

    async def _rpc_dispatch(self, request: Request, params: dict[str, Any]) -> Any:
        service = params.get("service")
        method = params.get("method")
        args = params.get("args", [])
        if not isinstance(args, list):
            raise TypeError("args must be a list")
        return await self.dispatch(service, method, args)

    async def dispatch(self, service: Any, method: Any, args: list[Any]) -> Any:
        """``odoo.http.dispatch_rpc``: the services behind /jsonrpc and /xmlrpc."""
        if service == "common":
            return await self._common(method, args)
        if service == "object":
            return await self._object(method, args)
        if service == "db":
            return self._db_service(method, args)
        raise Exception(f"Unknown service: {service}")

    async def _common(self, method: Any, args: list[Any]) -> Any:
        if method == "version":
            return dict(VERSION_INFO)
        if method == "about":
            return "See http://openerp.com"
        if method in ("login", "authenticate"):
            if len(args) < 3:
                raise TypeError(f"{method}() missing required positional arguments")
            db = self._database(args[0])
            login, password = args[1], args[2]
            if not isinstance(login, str) or not isinstance(password, str):
                return False
            uid = await run_in_threadpool(db.authenticate, login, password)
            return uid if uid is not None else False
        raise Exception(f"Method not found: {method}")

    async def _object(self, method: Any, args: list[Any]) -> Any:
        if method not in ("execute", "execute_kw"):
            raise Exception(f"Method not found: {method}")
        if len(args) < 5:
            raise TypeError(f"{method}() missing required positional arguments")
        db_name, uid, password, model, model_method = args[:5]
        db = self._database(db_name)
        if not isinstance(uid, int) or isinstance(uid, bool) or not isinstance(password, str):
            raise AccessDenied()
        if not await run_in_threadpool(db.check_credentials, uid, password):
            raise AccessDenied()
        if not isinstance(model, str) or not isinstance(model_method, str):
            raise TypeError("model and method must be strings")
        if method == "execute_kw":
            call_args = args[5] if len(args) > 5 else []
            call_kwargs = args[6] if len(args) > 6 else {}
            if call_kwargs is None:
                call_kwargs = {}
            if not isinstance(call_args, list) or not isinstance(call_kwargs, dict):
                raise TypeError("execute_kw expects a list of args and a dict of kwargs")
        else:
            call_args, call_kwargs = list(args[5:]), {}
        return await run_in_threadpool(
            db.call_kw, uid, model, model_method, call_args, dict(call_kwargs)
        )

    def _db_service(self, method: Any, args: list[Any]) -> Any:
        if method == "list":
            if not self.list_db:
                raise AccessDenied()
            return sorted(self.databases)
        if method == "server_version":
            return SERVER_VERSION
        if method == "db_exist":
            return bool(args) and args[0] in self.databases
        if method == "list_lang":
            return [["en_US", "English (US)"]]
        if method == "list_countries":
            return []
        if method in _DB_MASTER_METHODS:
            raise AccessDenied()
        raise Exception(f"Method not found: {method}")

    # ------------------------------------------------------------------ /web routes
    async def _version_info(self, request: Request, params: dict[str, Any]) -> Any:
        return dict(VERSION_INFO)

    async def _plain_version(self, request: Request) -> Response:
        return JSONResponse({"version_info": SERVER_VERSION_INFO, "version": SERVER_VERSION})

    async def _web_database_list(self, request: Request, params: dict[str, Any]) -> Any:
        if not self.list_db:
            raise AccessDenied()
        return sorted(self.databases)

    def _current_session(self, request: Request) -> Session:
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None or session.db not in self.databases:
            raise _session_expired()
        return session

    async def _session_authenticate(self, request: Request, params: dict[str, Any]) -> Any:
        db_name = params.get("db")
        login = params.get("login")
        password = params.get("password")
        if not isinstance(db_name, str) or db_name not in self.databases:
            raise AccessError("Database not found.")
        db = self.databases[db_name]
        if not isinstance(login, str) or not isinstance(password, str):
            raise AccessDenied()
        uid = await run_in_threadpool(db.authenticate, login, password)
        if uid is None:
            raise AccessDenied()
        session = self.sessions.open(db_name, uid, login)
        response: Response = request.state.response
        response.set_cookie(
            SESSION_COOKIE,
            session.sid,
            max_age=SESSION_MAX_AGE,
            httponly=True,
            path="/",
            samesite="lax",
        )
        return await run_in_threadpool(self.session_info, db, uid)

    async def _session_info(self, request: Request, params: dict[str, Any]) -> Any:
        session = self._current_session(request)
        return await run_in_threadpool(self.session_info, self.databases[session.db], session.uid)

    async def _session_destroy(self, request: Request, params: dict[str, Any]) -> Any:
        self._current_session(request)
        self.sessions.close(request.cookies.get(SESSION_COOKIE))
        response: Response = request.state.response
        response.delete_cookie(SESSION_COOKIE, path="/")
        return None

    async def _session_check(self, request: Request, params: dict[str, Any]) -> Any:
        self._current_session(request)
        return None

    def session_info(self, db: Database, uid: int) -> dict[str, Any]:
        """``ir.http.session_info()`` for ``uid`` (the keys Odoo 19 sends)."""
        su = SUPERUSER_ID
        [user] = db.call_kw(
            su,
            "res.users",
            "read",
            [[uid]],
            {
                "fields": [
                    "name",
                    "login",
                    "partner_id",
                    "lang",
                    "tz",
                    "company_id",
                    "company_ids",
                    "all_group_ids",
                    "share",
                ],
            },
        )
        system_group = db.call_kw(
            su, "ir.model.data", "check_object_reference", ["base", "group_system", False], {}
        )
        admin_group = db.call_kw(
            su, "ir.model.data", "check_object_reference", ["base", "group_erp_manager", False], {}
        )
        groups = set(user.get("all_group_ids") or [])
        is_system = bool(system_group) and system_group[1] in groups
        is_admin = is_system or (bool(admin_group) and admin_group[1] in groups)
        [partner] = db.call_kw(
            su,
            "res.partner",
            "read",
            [[user["partner_id"][0]]],
            {"fields": ["display_name", "write_date"]},
        )
        company_ids = user.get("company_ids") or []
        companies = (
            db.call_kw(
                su,
                "res.company",
                "read",
                [company_ids],
                {
                    "fields": ["name", "sequence", "child_ids", "parent_id", "currency_id"],
                    "load": None,
                },
            )
            if company_ids
            else []
        )
        lang = user.get("lang") or "en_US"
        tz = user.get("tz") or "Europe/Brussels"
        return {
            "uid": uid,
            "is_system": is_system,
            "is_admin": is_admin,
            "is_public": False,
            "is_internal_user": not user.get("share"),
            "user_context": {"lang": lang, "tz": tz, "uid": uid},
            "db": db.name,
            "registry_hash": "sandbox",
            "user_settings": {"id": uid, "user_id": [uid, user["name"]]},
            "server_version": SERVER_VERSION,
            "server_version_info": SERVER_VERSION_INFO,
            "support_url": "https://www.odoo.com/help",
            "name": user["name"],
            "username": user["login"],
            "partner_id": user["partner_id"][0],
            "partner_display_name": partner["display_name"],
            "partner_write_date": partner["write_date"],
            "web.base.url": "http://localhost",
            "active_ids_limit": 20000,
            "max_file_upload_size": 134217728,
            "home_action_id": False,
            "currencies": {},
            "bundle_params": {"lang": lang},
            "test_mode": False,
            "view_info": {},
            "groups": {"base.group_allow_export": True},
            "user_companies": {
                "current_company": user["company_id"][0] if user.get("company_id") else False,
                "allowed_companies": {
                    str(c["id"]): {
                        "id": c["id"],
                        "name": c["name"],
                        "sequence": c.get("sequence", 10),
                        "child_ids": c.get("child_ids", []),
                        "parent_id": c.get("parent_id") or False,
                        "currency_id": c.get("currency_id") or False,
                    }
                    for c in companies
                },
                "disallowed_ancestor_companies": {},
            },
            "show_effect": True,
        }

    async def _call_kw(self, request: Request, params: dict[str, Any]) -> Any:
        session = self._current_session(request)
        model = params.get("model")
        method = params.get("method")
        if "args" not in params or "kwargs" not in params:
            missing = "args" if "args" not in params else "kwargs"
            raise TypeError(f"call_kw() missing 1 required positional argument: '{missing}'")
        args, kwargs = params["args"], params["kwargs"] or {}
        if not isinstance(model, str) or not isinstance(method, str):
            raise TypeError("model and method must be strings")
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise TypeError("args must be a list and kwargs an object")
        db = self.databases[session.db]
        try:
            return await run_in_threadpool(db.call_kw, session.uid, model, method, args, kwargs)
        except UnknownModel:
            # the web controller's readonly pre-check fails before call_kw: NotFound, code 404
            raise _not_found() from None

    # ------------------------------------------------------------------ XML-RPC
    async def _xmlrpc_call(self, request: Request, service: str, legacy: bool) -> Response:
        body = await request.body()
        try:
            params, method = xmlrpc.client.loads(body)
        except Exception as exc:  # malformed XML is a fault, as in Odoo's dispatcher
            return self._xmlrpc_fault_response(exc, legacy)
        try:
            result = await self.dispatch(service, method, _to_wire(list(params)))
            payload = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=False)
        except Exception as exc:
            self._log_rpc_error(exc)
            return self._xmlrpc_fault_response(exc, legacy)
        return Response(payload, media_type="text/xml")

    async def _xmlrpc_2(self, request: Request) -> Response:
        return await self._xmlrpc_call(request, request.path_params["service"], legacy=False)

    async def _xmlrpc_legacy(self, request: Request) -> Response:
        return await self._xmlrpc_call(request, request.path_params["service"], legacy=True)

    @staticmethod
    def _xmlrpc_fault_response(exc: BaseException, legacy: bool) -> Response:
        fault = xmlrpc_fault_legacy(exc) if legacy else xmlrpc_fault(exc)
        return Response(xmlrpc.client.dumps(fault, allow_none=False), media_type="text/xml")

    # ------------------------------------------------------------------ JSON-2
    async def _json2_index(self, request: Request) -> Response:
        return self._json2_error(
            404, "werkzeug.exceptions.NotFound", "Did you mean POST /json/2/<model>/<method>?"
        )

    def _json2_error(
        self,
        status: int,
        name: str,
        message: str,
        exc: BaseException | None = None,
        arguments: list[Any] | None = None,
    ) -> Response:
        body: dict[str, Any] = {
            "name": name,
            "message": message,
            "arguments": arguments if arguments is not None else [message, status],
            "context": {},
            "debug": "".join(traceback.format_exception(exc)) if exc else "",
        }
        return JSONResponse(body, status_code=status)

    def _json2_database(self, request: Request) -> Database | None:
        name = request.headers.get("x-odoo-database")
        if name:
            return self.databases.get(name)
        if len(self.databases) == 1:
            return next(iter(self.databases.values()))
        return None

    async def _json2(self, request: Request) -> Response:
        model = request.path_params["model"]
        method = request.path_params["method"]
        auth = request.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        db = self._json2_database(request)
        if db is None:
            return self._json2_error(
                404,
                "werkzeug.exceptions.NotFound",
                "No database selected: send the X-Odoo-Database header.",
            )
        uid = None
        if scheme.lower() == "bearer" and key.strip():
            uid = await run_in_threadpool(db.api_key_uid, key.strip())
        if uid is None:
            return self._json2_error(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self._json2_error(
                415,
                "werkzeug.exceptions.UnsupportedMediaType",
                "The server does not support the media type transmitted in the request.",
            )
        try:
            params = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            return self._json2_error(
                400, "werkzeug.exceptions.BadRequest", f"Invalid JSON data: {exc}", exc
            )
        if not isinstance(params, dict):
            return self._json2_error(
                400,
                "werkzeug.exceptions.BadRequest",
                "Invalid JSON data: the body must be a JSON object",
            )
        try:
            result = await run_in_threadpool(db.call_json2, uid, model, method, params)
        except UnknownModel as exc:
            return self._json2_error(
                404, "werkzeug.exceptions.NotFound", f"the model {model!r} does not exist", exc
            )
        except UnknownMethod as exc:
            return self._json2_error(404, "werkzeug.exceptions.NotFound", str(exc), exc)
        except OdooError as exc:
            return self._json2_error(
                exc.http_status, exc.wire_name, exc.message, exc, [exc.message]
            )
        except Exception as exc:
            self._log_rpc_error(exc)
            return self._json2_error(
                500, wire_name_of(exc), str(exc), exc, _exception_arguments(exc)
            )
        return Response(
            json.dumps(result, separators=(",", ":"), default=str), media_type="application/json"
        )

    # ------------------------------------------------------------------ anything else
    async def _fallback(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and content_type.startswith("application/json"):
            try:
                request_id = json.loads(await request.body()).get("id")
            except Exception:
                request_id = None
            error = _not_found()
            return JSONResponse(
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {
                        "code": error.code,
                        "message": error.message,
                        "data": {
                            "name": error.name,
                            "message": error.data_message,
                            "arguments": [error.data_message],
                            "context": {},
                            "debug": error.data_message,
                        },
                    },
                }
            )
        return PlainTextResponse(f"404 Not Found\n\n{NOT_FOUND_DESCRIPTION}", status_code=404)


def xmlrpc_fault(exc: BaseException) -> xmlrpc.client.Fault:
    """``xmlrpc_handle_exception_int``: /xmlrpc/2 faults with integer codes."""
    if isinstance(exc, RedirectWarning):
        return xmlrpc.client.Fault(2, str(exc))
    if isinstance(exc, AccessError):
        return xmlrpc.client.Fault(4, str(exc))
    if isinstance(exc, AccessDenied):
        return xmlrpc.client.Fault(3, str(exc))
    if isinstance(exc, UserError):
        return xmlrpc.client.Fault(2, str(exc))
    return xmlrpc.client.Fault(1, "".join(traceback.format_exception(exc)))


def xmlrpc_fault_legacy(exc: BaseException) -> xmlrpc.client.Fault:
    """``xmlrpc_handle_exception_string``: the legacy /xmlrpc/<service> faults."""
    if isinstance(exc, RedirectWarning):
        return xmlrpc.client.Fault(f"warning -- Warning\n\n{exc}", "")  # type: ignore[arg-type]
    if isinstance(exc, MissingError):
        return xmlrpc.client.Fault(f"warning -- MissingError\n\n{exc}", "")  # type: ignore[arg-type]
    if isinstance(exc, AccessError):
        return xmlrpc.client.Fault(f"warning -- AccessError\n\n{exc}", "")  # type: ignore[arg-type]
    if isinstance(exc, AccessDenied):
        return xmlrpc.client.Fault("AccessDenied", str(exc))  # type: ignore[arg-type]
    if isinstance(exc, UserError):
        return xmlrpc.client.Fault(f"warning -- UserError\n\n{exc}", "")  # type: ignore[arg-type]
    return xmlrpc.client.Fault(str(exc), "".join(traceback.format_exception(exc)))  # type: ignore[arg-type]
