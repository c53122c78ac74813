"""Plain xmlrpc.client against /xmlrpc/2 and the legacy /xmlrpc routes, with Odoo's fault codes."""

from __future__ import annotations

import xmlrpc.client

import pytest


def proxies(odoo):
    common = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/common")
    models = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/object")
    return common, models


def test_version_and_authenticate(odoo) -> None:
    common, _ = proxies(odoo)
    assert common.version()["server_version"] == "19.0"
    assert common.authenticate("psa", "admin", "admin", {}) == 2


def test_authenticate_with_bad_password_returns_false(odoo) -> None:
    common, _ = proxies(odoo)
    assert common.authenticate("psa", "admin", "wrong", {}) is False
    assert common.login("psa", "admin", "wrong") is False


def test_execute_kw_search_read_and_write(odoo) -> None:
    _, models = proxies(odoo)
    rows = models.execute_kw(
        "psa",
        2,
        "admin",
        "res.partner",
        "search_read",
        [[["is_company", "=", True]]],
        {"fields": ["name"], "limit": 3},
    )
    assert 1 <= len(rows) <= 3
    first = rows[0]["id"]
    assert (
        models.execute_kw("psa", 2, "admin", "res.partner", "write", [[first], {"ref": "XR-1"}])
        is True
    )
    assert (
        models.execute_kw("psa", 2, "admin", "res.partner", "read", [[first]], {"fields": ["ref"]})[
            0
        ]["ref"]
        == "XR-1"
    )


def test_execute_without_kwargs(odoo) -> None:
    _, models = proxies(odoo)
    count = models.execute("psa", 2, "admin", "res.partner", "search_count", [])
    assert isinstance(count, int) and count > 0


def fault_of(call) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as raised:
        call()
    return raised.value


def test_bad_password_on_object_call_is_fault_3(odoo) -> None:
    _, models = proxies(odoo)
    fault = fault_of(lambda: models.execute_kw("psa", 2, "nope", "res.partner", "search", [[]]))
    assert fault.faultCode == 3
    assert fault.faultString == "Access Denied"


def test_user_error_is_fault_2(odoo) -> None:
    _, models = proxies(odoo)
    fault = fault_of(lambda: models.execute_kw("psa", 2, "admin", "x_nothing", "search", [[]]))
    assert fault.faultCode == 2
    assert fault.faultString == "Object x_nothing doesn't exist"


def test_private_method_is_fault_4(odoo) -> None:
    _, models = proxies(odoo)
    fault = fault_of(lambda: models.execute_kw("psa", 2, "admin", "res.partner", "_secret", [[]]))
    assert fault.faultCode == 4
    assert "cannot be called remotely" in fault.faultString


def test_value_error_is_fault_1_with_traceback(odoo) -> None:
    _, models = proxies(odoo)
    fault = fault_of(
        lambda: models.execute_kw("psa", 2, "admin", "res.partner", "search", [[["nope", "=", 1]]])
    )
    assert fault.faultCode == 1
    assert "Traceback" in fault.faultString
    assert "Invalid field res.partner.nope" in fault.faultString


def test_legacy_route_uses_string_fault_codes(odoo) -> None:
    models = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/object")
    denied = fault_of(lambda: models.execute_kw("psa", 2, "nope", "res.partner", "search", [[]]))
    assert denied.faultCode == "AccessDenied"
    assert denied.faultString == "Access Denied"
    user_error = fault_of(lambda: models.execute_kw("psa", 2, "admin", "x_nothing", "search", [[]]))
    assert user_error.faultCode == "warning -- UserError\n\nObject x_nothing doesn't exist"
    assert user_error.faultString == ""


def test_db_service(odoo) -> None:
    db = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/db")
    assert db.list() == ["psa"]
    assert db.server_version() == "19.0"
    assert db.db_exist("psa") is True
    assert db.db_exist("other") is False
