"""The async Odoo gateway against the sandbox over real HTTP: results, paging, typed errors."""

from __future__ import annotations

import asyncio

import pytest

from console.odoo import errors
from console.odoo.gateway import Endpoint, OdooGateway, list_databases
from console.sandbox.serving import bind_socket


def run(coro):
    return asyncio.run(coro)


async def connect(odoo, login: str = "admin", password: str = "admin") -> OdooGateway:
    return await OdooGateway.connect(odoo.url, odoo.db_name, login, password)


def test_connect_reports_the_logged_in_user(odoo) -> None:
    async def scenario() -> None:
        gateway = await connect(odoo)
        try:
            assert gateway.user is not None
            assert gateway.user.uid == 2
            assert gateway.user.login == "admin"
            assert gateway.user.partner_id > 0
        finally:
            gateway.close()

    run(scenario())


def test_wrong_password_is_wrong_credentials_with_a_plain_message(odoo) -> None:
    with pytest.raises(errors.WrongCredentials, match="refused the login or password"):
        run(connect(odoo, password="nope"))


def test_unknown_database_is_reported_as_such(odoo) -> None:
    async def scenario() -> None:
        await OdooGateway.connect(odoo.url, "nope", "admin", "admin")

    with pytest.raises(errors.DatabaseNotFound):
        run(scenario())


def test_nothing_listening_is_server_unreachable() -> None:
    sock = bind_socket()  # a port that is ours but never answers HTTP
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(errors.ServerUnreachable, match="Cannot reach Odoo"):
        run(OdooGateway.connect(f"http://127.0.0.1:{port}", "psa", "admin", "admin"))


def test_list_databases(odoo) -> None:
    assert run(list_databases(odoo.url)) == ["psa"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("odoo.example.com", ("http://odoo.example.com:80", "jsonrpc")),
        ("https://odoo.example.com", ("https://odoo.example.com:443", "jsonrpc+ssl")),
        ("http://127.0.0.1:8069/", ("http://127.0.0.1:8069", "jsonrpc")),
    ],
)
def test_endpoint_parsing(url: str, expected: tuple[str, str]) -> None:
    endpoint = Endpoint.parse(url)
    assert (endpoint.url, endpoint.protocol) == expected


@pytest.mark.parametrize("url", ["ftp://odoo", "http://odoo/web/login", "http://"])
def test_endpoint_rejects_what_is_not_a_server_root(url: str) -> None:
    with pytest.raises(errors.ServerUnreachable):
        Endpoint.parse(url)


def test_unknown_model_is_a_schema_mismatch_pointing_at_provision(odoo) -> None:
    async def scenario() -> None:
        gateway = await connect(odoo)
        try:
            await gateway.search_read("x_client_asset", [], ["x_name"])
        finally:
            gateway.close()

    with pytest.raises(errors.SchemaMismatch, match="psa provision"):
        run(scenario())


def test_write_to_a_deleted_record_is_record_gone(odoo) -> None:
    async def scenario() -> None:
        gateway = await connect(odoo)
        try:
            [partner] = await gateway.call("res.partner", "create", [{"name": "Ephemeral"}])
            await gateway.call("res.partner", "unlink", [partner])
            await gateway.call("res.partner", "write", [partner], {"name": "Back?"})
        finally:
            gateway.close()

    with pytest.raises(errors.RecordGone, match="no longer exists"):
        run(scenario())


def test_missing_acl_is_access_denied(odoo) -> None:
    async def scenario() -> None:
        gateway = await connect(odoo)
        try:
            await gateway.call(
                "ir.model", "create", {"name": "Locked", "model": "x_locked", "state": "manual"}
            )
            await gateway.search_read("x_locked", [], ["x_name"])
        finally:
            gateway.close()

    with pytest.raises(errors.AccessDenied, match="does not allow"):
        run(scenario())


def test_rpcs_are_counted_per_operation(odoo) -> None:
    async def scenario() -> OdooGateway:
        gateway = await connect(odoo)
        with gateway.operation("partners"):
            await gateway.search_read("res.partner", [], ["name"])
            await gateway.search_count("res.partner", [])
        with gateway.operation("tickets"):
            await gateway.search_read("helpdesk.ticket", [], ["name"])
        gateway.close()
        return gateway

    gateway = run(scenario())
    assert gateway.stats.counts["partners"] == 2
    assert gateway.stats.counts["tickets"] == 1
    assert gateway.stats.last_latency_s is not None


def test_paged_load_yields_every_row_once_and_reports_progress(odoo) -> None:
    async def scenario() -> tuple[list[int], list[tuple[int, int]], int]:
        gateway = await connect(odoo)
        await gateway.call("res.partner", "create", [{"name": f"Paged {i:03d}"} for i in range(57)])
        progress: list[tuple[int, int]] = []
        ids: list[int] = []
        with gateway.operation("load"):
            async for page in gateway.search_read_pages(
                "res.partner",
                [["name", "=like", "Paged %"]],
                ["name"],
                page_size=10,
                on_progress=lambda done, total: progress.append((done, total)),
            ):
                ids.extend(row["id"] for row in page)
        gateway.close()
        return ids, progress, gateway.stats.counts["load"]

    ids, progress, rpcs = run(scenario())
    assert len(ids) == len(set(ids)) == 57
    assert progress[0] == (0, 57) and progress[-1] == (57, 57)
    assert rpcs == 1 + 6  # one count, six pages


def test_a_call_cancelled_while_its_rpc_runs_is_still_counted_and_raises_nothing_else(
    odoo,
) -> None:
    """Cancelling a load (SA switch, shutdown) while an RPC is on the worker thread: the
    caller sees CancelledError only, and the RPC is still accounted to its operation."""
    import threading

    async def scenario() -> int:
        gateway = await connect(odoo)
        started, release = threading.Event(), threading.Event()

        def slow_rpc() -> str:
            started.set()
            release.wait(10)
            return "done"

        try:
            with gateway.operation("cancelled"):
                task = asyncio.ensure_future(gateway._run(slow_rpc))
            assert await asyncio.to_thread(started.wait, 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            release.set()
            return gateway.stats.counts["cancelled"]
        finally:
            release.set()
            gateway.close()

    assert run(scenario()) == 1
