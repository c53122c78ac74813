"""POST /api/session: Odoo logins checked against the Odoo sandbox, scope from SA memberships."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from relay_support import RunningRelay, notification, provision_sa_models

from console.relay.sessions import OdooSessionAuthority


def _relay_on(odoo: Any, relay_factory: Callable[..., RunningRelay]) -> RunningRelay:
    authority = OdooSessionAuthority(odoo.url, odoo.db_name, "admin", "admin")
    return relay_factory(authority=authority)


def test_without_odoo_settings_sessions_are_refused_with_what_to_configure(
    relay_factory: Callable[..., RunningRelay],
) -> None:
    relay = relay_factory()

    response = relay.http.post("/api/session", json={"login": "alice", "password": "pw"})

    assert response.status_code == 503
    assert "PSA_ODOO_URL" in response.json()["error"]


def test_without_odoo_settings_ingest_and_the_admin_stream_still_work(
    relay_factory: Callable[..., RunningRelay],
) -> None:
    relay = relay_factory()

    assert relay.post_hook(notification()).status_code == 202
    assert len(relay.events(relay.admin())) == 1


def test_odoo_login_opens_a_session_bound_to_the_user(
    odoo: Any, relay_factory: Callable[..., RunningRelay]
) -> None:
    relay = _relay_on(odoo, relay_factory)

    response = relay.http.post("/api/session", json={"login": "admin", "password": "admin"})

    assert response.status_code == 200
    body = response.json()
    assert body["principal"]["login"] == "admin"
    me = relay.http.get("/api/session", headers={"authorization": f"Bearer {body['token']}"}).json()
    assert me["principal"]["uid"] == body["principal"]["uid"]


def test_wrong_odoo_password_is_401(odoo: Any, relay_factory: Callable[..., RunningRelay]) -> None:
    relay = _relay_on(odoo, relay_factory)

    response = relay.http.post("/api/session", json={"login": "admin", "password": "nope"})

    assert response.status_code == 401
    assert "refused" in response.json()["error"]


def test_unreachable_odoo_is_503_with_a_message(
    relay_factory: Callable[..., RunningRelay],
) -> None:
    authority = OdooSessionAuthority("http://127.0.0.1:9", "psa", "admin", "admin", timeout=2)
    relay = relay_factory(authority=authority)

    response = relay.http.post("/api/session", json={"login": "admin", "password": "admin"})

    assert response.status_code == 503
    assert "Cannot reach Odoo" in response.json()["error"]


def test_manager_membership_extends_scope_to_child_sas(
    odoo: Any, relay_factory: Callable[..., RunningRelay]
) -> None:
    rpc = provision_sa_models(odoo.url, odoo.db_name)
    root = rpc.env["x_sa"].create({"x_name": "North"})
    child = rpc.env["x_sa"].create({"x_name": "North / Branch", "x_parent_id": root})
    other = rpc.env["x_sa"].create({"x_name": "South"})
    manager = rpc.env["res.users"].create({"name": "Mona", "login": "mona", "password": "pw1"})
    technician = rpc.env["res.users"].create({"name": "Tom", "login": "tom", "password": "pw2"})
    memberships = rpc.env["x_sa_membership"]
    memberships.create({"x_user_id": manager, "x_sa_id": root, "x_role": "manager"})
    memberships.create({"x_user_id": technician, "x_sa_id": other, "x_role": "technician"})
    relay = _relay_on(odoo, relay_factory)

    mona = relay.http.post("/api/session", json={"login": "mona", "password": "pw1"}).json()
    tom = relay.http.post("/api/session", json={"login": "tom", "password": "pw2"}).json()

    assert mona["principal"]["sa_ids"] == sorted([root, child])
    assert mona["principal"]["sees_unmatched"] is True
    assert tom["principal"]["sa_ids"] == [other]
    assert tom["principal"]["sees_unmatched"] is False


def test_user_without_membership_is_told_to_ask_for_one(
    odoo: Any, relay_factory: Callable[..., RunningRelay]
) -> None:
    rpc = provision_sa_models(odoo.url, odoo.db_name)
    rpc.env["res.users"].create({"name": "Nina", "login": "nina", "password": "pw"})
    relay = _relay_on(odoo, relay_factory)

    response = relay.http.post("/api/session", json={"login": "nina", "password": "pw"})

    assert response.status_code == 403
    assert "membership" in response.json()["error"]


def test_logout_revokes_the_token(relay: RunningRelay) -> None:
    headers = relay.login("tech1")

    assert relay.http.delete("/api/session", headers=headers).status_code == 204
    assert relay.http.get("/api/session", headers=headers).status_code == 401


def test_unknown_token_is_401(relay: RunningRelay) -> None:
    response = relay.http.get("/api/events", headers={"authorization": "Bearer made-up"})

    assert response.status_code == 401


def test_session_request_needs_login_and_password(relay: RunningRelay) -> None:
    assert relay.http.post("/api/session", json={"login": "x"}).status_code == 400
    assert relay.http.post("/api/session", content=b"not json").status_code == 400


@pytest.mark.parametrize("login", ["tech1", "disp1"])
def test_token_survives_a_relay_restart_on_the_same_store(
    relay_factory: Callable[..., RunningRelay], login: str
) -> None:
    from relay_support import USERS, StaticAuthority

    from console.relay.sqlite_store import SqliteEventStore

    first = relay_factory(authority=StaticAuthority(USERS))
    headers = first.login(login)
    first.background.stop()

    second = relay_factory(
        store=SqliteEventStore(first.config.db), authority=StaticAuthority(USERS)
    )

    assert second.http.get("/api/session", headers=headers).status_code == 200
