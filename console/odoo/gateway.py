"""The Odoo gateway: an asyncio facade over unmodified odoorpc.

odoorpc is blocking, so every call runs on the gateway's thread pool through the running loop's
``run_in_executor``; the GUI thread never waits on the network. Errors come back typed
(:mod:`console.odoo.errors`) with messages a user understands; every RPC is counted per named
operation (so "loading the Assets pane took 21 RPCs" is a fact, not a guess) and timed (the
status bar shows the last latency).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import time
import urllib.error
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

import odoorpc
from odoorpc.error import RPCError

from console.odoo import errors

log = logging.getLogger(__name__)

T = TypeVar("T")
Domain = list[Any]

_operation: contextvars.ContextVar[str] = contextvars.ContextVar("odoo_operation", default="")

#: Page size for loading large panes: big enough to amortise a round trip, small enough that
#: the first rows show quickly and a cancelled load stops soon.
DEFAULT_PAGE_SIZE = 5000


@dataclass(frozen=True)
class Endpoint:
    """Where Odoo is: odoorpc wants host, port and protocol rather than a URL."""

    url: str
    host: str
    port: int
    protocol: str  # "jsonrpc" or "jsonrpc+ssl"

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        text = url.strip()
        if "://" not in text:
            text = f"http://{text}"
        parsed = urlparse(text)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise errors.ServerUnreachable(
                f"{url!r} is not an Odoo address; use e.g. https://odoo.example.com"
            )
        if parsed.path not in ("", "/"):
            raise errors.ServerUnreachable(
                f"{url!r} has a path; give the server's root address (Odoo's RPC lives at /jsonrpc)"
            )
        ssl = parsed.scheme == "https"
        port = parsed.port or (443 if ssl else 80)
        root = f"{parsed.scheme}://{parsed.hostname}:{port}"
        return cls(root, parsed.hostname, port, "jsonrpc+ssl" if ssl else "jsonrpc")


@dataclass(frozen=True)
class UserInfo:
    uid: int
    login: str
    name: str
    partner_id: int
    db: str


@dataclass
class RpcStats:
    """RPC counts per named operation and the latest round-trip time."""

    counts: Counter[str]
    last_latency_s: float | None = None

    def total(self) -> int:
        return sum(self.counts.values())


def _is_transport_error(exc: BaseException) -> bool:
    return isinstance(exc, urllib.error.URLError | OSError | TimeoutError)


def _client(endpoint: Endpoint, timeout: float) -> odoorpc.ODOO:
    try:
        return odoorpc.ODOO(
            endpoint.host, protocol=endpoint.protocol, port=endpoint.port, timeout=timeout
        )
    except RPCError as exc:
        raise errors.from_rpc_error(getattr(exc, "info", None), str(exc)) from exc
    except Exception as exc:
        if _is_transport_error(exc):
            raise errors.from_transport_error(exc, endpoint.url) from exc
        raise errors.ServerUnreachable(
            f"{endpoint.url} does not speak Odoo's RPC protocol: {exc}", detail=repr(exc)
        ) from exc


async def list_databases(url: str, *, rpc_timeout: float = 15.0) -> list[str]:
    """The server's database names (for the login dialog), or a typed error."""
    endpoint = Endpoint.parse(url)

    def fetch() -> list[str]:
        client = _client(endpoint, rpc_timeout)
        try:
            return list(client.db.list())
        except RPCError as exc:
            info = getattr(exc, "info", None) or {}
            if (info.get("data") or {}).get("name") == "odoo.exceptions.AccessDenied":
                return []  # list_db disabled: the user types the name
            raise errors.from_rpc_error(info, str(exc)) from exc
        except Exception as exc:
            if _is_transport_error(exc):
                raise errors.from_transport_error(exc, endpoint.url) from exc
            raise

    return await asyncio.get_running_loop().run_in_executor(None, fetch)


class OdooGateway:
    """One logged-in Odoo user. Create with :meth:`connect`; close with :meth:`close`."""

    def __init__(
        self,
        endpoint: Endpoint,
        db: str,
        login: str,
        password: str,
        *,
        timeout: float = 60.0,
        max_workers: int = 4,
    ) -> None:
        self.endpoint = endpoint
        self.db = db
        self.login = login
        self._password = password
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="odoo-rpc")
        self._client: odoorpc.ODOO | None = None
        self._client_lock = threading.Lock()
        self.user: UserInfo | None = None
        self.stats = RpcStats(Counter())
        self._stats_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    async def connect(
        cls, url: str, db: str, login: str, password: str, **options: Any
    ) -> OdooGateway:
        """Log in; raises :class:`errors.WrongCredentials`, :class:`errors.ServerUnreachable`…"""
        gateway = cls(Endpoint.parse(url), db, login, password, **options)
        try:
            await gateway._run(gateway._login_blocking, count=False)
        except BaseException:
            gateway.close()
            raise
        return gateway

    def _login_blocking(self) -> UserInfo:
        client = _client(self.endpoint, self._timeout)
        try:
            client.login(self.db, self.login, self._password)
        except RPCError as exc:
            info = getattr(exc, "info", None)
            if not info and "Wrong login ID or password" in str(exc):
                raise errors.WrongCredentials(
                    "Odoo refused the login or password. Check them and sign in again."
                ) from exc
            raise errors.from_rpc_error(info, str(exc)) from exc
        except Exception as exc:
            if _is_transport_error(exc):
                raise errors.from_transport_error(exc, self.endpoint.url) from exc
            raise
        with self._client_lock:
            self._client = client
        user = client.env.user
        info = UserInfo(
            uid=client.env.uid,
            login=self.login,
            name=user.name,
            partner_id=user.partner_id.id,
            db=self.db,
        )
        self.user = info
        return info

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._client_lock:
            self._client = None

    # ------------------------------------------------------------------ accounting
    @contextlib.contextmanager
    def operation(self, name: str) -> Iterator[None]:
        """Attribute the RPCs made inside this block (in this task) to ``name``."""
        token = _operation.set(name)
        try:
            yield
        finally:
            _operation.reset(token)

    def _count(self, operation: str, latency: float) -> None:
        with self._stats_lock:
            self.stats.counts[operation or "unnamed"] += 1
            self.stats.last_latency_s = latency

    # ------------------------------------------------------------------ calls
    async def _run(self, func: Callable[[], T], *, count: bool = True) -> T:
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        operation = _operation.get()
        started = time.perf_counter()
        try:
            return await loop.run_in_executor(self._executor, context.run, func)
        finally:
            # not through ``context``: a cancelled await leaves it entered on the worker thread
            if count:
                self._count(operation, time.perf_counter() - started)

    def _execute_blocking(
        self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        with self._client_lock:
            client = self._client
        if client is None:
            raise errors.SessionExpired("Not signed in to Odoo.")
        try:
            return client.execute_kw(model, method, args, kwargs)
        except RPCError as exc:
            raise errors.from_rpc_error(getattr(exc, "info", None), str(exc)) from exc
        except Exception as exc:
            if _is_transport_error(exc):
                raise errors.from_transport_error(exc, self.endpoint.url) from exc
            raise

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """``execute_kw(model, method, args, kwargs)``; one RPC, re-login once if the session ended."""
        try:
            return await self._run(
                lambda: self._execute_blocking(model, method, list(args), kwargs)
            )
        except errors.SessionExpired:
            await self._run(self._login_blocking, count=False)
            return await self._run(
                lambda: self._execute_blocking(model, method, list(args), kwargs)
            )

    async def search_read(
        self,
        model: str,
        domain: Domain,
        fields: Sequence[str],
        *,
        order: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"fields": list(fields), "offset": offset}
        if order:
            kwargs["order"] = order
        if limit is not None:
            kwargs["limit"] = limit
        rows: list[dict[str, Any]] = await self.call(model, "search_read", domain, **kwargs)
        return rows

    async def search_count(self, model: str, domain: Domain) -> int:
        count: int = await self.call(model, "search_count", domain)
        return count

    async def search_read_pages(
        self,
        model: str,
        domain: Domain,
        fields: Sequence[str],
        *,
        order: str = "id",
        page_size: int = DEFAULT_PAGE_SIZE,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield pages of ``search_read`` rows; ``on_progress(loaded, total)`` after each page.

        One ``search_count`` then one RPC per page. Pages are fetched one ahead while the caller
        consumes the current one, so the network and the consumer overlap. Cancelling the
        consuming task stops the load.
        """
        total = await self.search_count(model, domain)
        if on_progress:
            on_progress(0, total)
        loaded = 0
        offsets = list(range(0, total, page_size))
        pending: asyncio.Task[list[dict[str, Any]]] | None = None

        def fetch(offset: int) -> asyncio.Task[list[dict[str, Any]]]:
            return asyncio.ensure_future(
                self.search_read(model, domain, fields, order=order, limit=page_size, offset=offset)
            )

        try:
            for index, _offset in enumerate(offsets):
                current = pending or fetch(offsets[index])
                pending = fetch(offsets[index + 1]) if index + 1 < len(offsets) else None
                page = await current
                loaded += len(page)
                if on_progress:
                    on_progress(loaded, max(total, loaded))
                yield page
        finally:
            if pending is not None:
                pending.cancel()

    async def read_group(
        self,
        model: str,
        domain: Domain,
        groupby: Sequence[str],
        aggregates: Sequence[str] = ("__count",),
        *,
        order: str | None = None,
    ) -> list[dict[str, Any]]:
        """Odoo 19's ``formatted_read_group`` (one RPC for all groups)."""
        kwargs: dict[str, Any] = {
            "domain": domain,
            "groupby": list(groupby),
            "aggregates": list(aggregates),
        }
        if order:
            kwargs["order"] = order
        rows: list[dict[str, Any]] = await self.call(model, "formatted_read_group", **kwargs)
        return rows

    async def ref(self, xmlid: str) -> int | None:
        """Database id of an xmlid (``module.name``), or None when it does not exist."""
        module, _, name = xmlid.partition(".")
        rows = await self.search_read(
            "ir.model.data", [["module", "=", module], ["name", "=", name]], ["res_id"], limit=1
        )
        return int(rows[0]["res_id"]) if rows else None

    async def model_exists(self, model: str) -> bool:
        ids = await self.call("ir.model", "search", [["model", "=", model]])
        return bool(ids)
