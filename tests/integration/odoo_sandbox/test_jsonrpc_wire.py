"""The JSON-RPC and web-session wire exactly as Odoo 19 answers it (envelopes, codes, cookies)."""

from __future__ import annotations

import httpx
import pytest


def rpc(client: httpx.Client, path: str, params: dict | None = None, request_id=1) -> dict:
    response = client.post(
        path, json={"jsonrpc": "2.0", "method": "call", "params": params or {}, "id": request_id}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


@pytest.fixture
def http(odoo):
    with httpx.Client(base_url=odoo.url, timeout=30) as client:
        yield client


def test_version_info(http) -> None:
    body = rpc(http, "/web/webclient/version_info")
    assert body["result"]["server_version"] == "19.0"
    assert body["result"]["server_version_info"][:2] == [19, 0]


def test_plain_version_routes(http) -> None:
    for path in ("/web/version", "/json/version"):
        assert http.get(path).json() == {
            "version_info": [19, 0, 0, "final", 0, ""],
            "version": "19.0",
        }


def test_request_id_is_echoed_as_sent(http) -> None:
    for request_id in (7, "a1b2", None):
        body = rpc(
            http,
            "/jsonrpc",
            {"service": "common", "method": "version", "args": []},
            request_id=request_id,
        )
        assert body["id"] == request_id


def test_invalid_json_is_http_400(http) -> None:
    response = http.post(
        "/jsonrpc", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "Invalid JSON data" in response.text


def test_json_that_is_not_an_object_is_http_400(http) -> None:
    response = http.post("/jsonrpc", json=[1, 2])
    assert response.status_code == 400
    assert "Invalid JSON-RPC data" in response.text


def test_login_with_bad_password_returns_false_not_error(http) -> None:
    body = rpc(
        http, "/jsonrpc", {"service": "common", "method": "login", "args": ["psa", "admin", "bad"]}
    )
    assert body["result"] is False


def test_application_error_envelope(http) -> None:
    body = rpc(
        http,
        "/jsonrpc",
        {
            "service": "object",
            "method": "execute_kw",
            "args": ["psa", 2, "admin", "res.partner", "read", [[1]], {"fields": ["nope"]}],
        },
    )
    error = body["error"]
    assert error["code"] == 0
    assert error["message"] == "Odoo Server Error"
    data = error["data"]
    assert set(data) == {"name", "message", "arguments", "context", "debug"}
    assert data["name"] == "builtins.ValueError"
    assert data["context"] == {}


def test_wrong_password_on_execute_kw_is_access_denied(http) -> None:
    body = rpc(
        http,
        "/jsonrpc",
        {
            "service": "object",
            "method": "execute_kw",
            "args": ["psa", 2, "bad", "res.partner", "search", [[]]],
        },
    )
    assert body["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
    assert body["error"]["data"]["message"] == "Access Denied"


def test_unknown_method_is_attribute_error(http) -> None:
    body = rpc(
        http,
        "/jsonrpc",
        {
            "service": "object",
            "method": "execute_kw",
            "args": ["psa", 2, "admin", "res.partner", "frobnicate", [[]]],
        },
    )
    assert body["error"]["data"]["name"] == "builtins.AttributeError"
    assert body["error"]["data"]["message"] == "The method 'res.partner.frobnicate' does not exist"


def test_unknown_common_method(http) -> None:
    body = rpc(http, "/jsonrpc", {"service": "common", "method": "nope", "args": []})
    assert body["error"]["data"]["message"] == "Method not found: nope"


def test_session_authenticate_sets_cookie_and_call_kw_uses_it(http) -> None:
    body = rpc(
        http, "/web/session/authenticate", {"db": "psa", "login": "admin", "password": "admin"}
    )
    info = body["result"]
    assert info["uid"] == 2
    assert info["db"] == "psa"
    assert info["username"] == "admin"
    assert info["user_context"]["uid"] == 2
    assert info["is_system"] is True
    assert "session_id" in http.cookies

    rows = rpc(
        http,
        "/web/dataset/call_kw/res.partner/search_read",
        {
            "model": "res.partner",
            "method": "search_read",
            "args": [[["is_company", "=", True]], ["name"]],
            "kwargs": {"limit": 1},
        },
    )
    assert len(rows["result"]) == 1

    assert rpc(http, "/web/session/get_session_info")["result"]["uid"] == 2
    destroyed = rpc(http, "/web/session/destroy")
    assert "result" not in destroyed and "error" not in destroyed


def test_session_routes_without_cookie_answer_code_100(http) -> None:
    body = rpc(
        http,
        "/web/dataset/call_kw",
        {"model": "res.partner", "method": "search", "args": [[]], "kwargs": {}},
    )
    assert body["error"]["code"] == 100
    assert body["error"]["message"] == "Odoo Session Expired"
    assert body["error"]["data"]["name"] == "odoo.http.SessionExpiredException"


def test_session_authenticate_bad_password_is_access_denied(http) -> None:
    body = rpc(
        http, "/web/session/authenticate", {"db": "psa", "login": "admin", "password": "nope"}
    )
    assert body["error"]["code"] == 0
    assert body["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"


def test_session_authenticate_unknown_database(http) -> None:
    body = rpc(
        http, "/web/session/authenticate", {"db": "nope", "login": "admin", "password": "admin"}
    )
    assert body["error"]["data"]["name"] == "odoo.exceptions.AccessError"
    assert body["error"]["data"]["message"] == "Database not found."


def test_call_kw_unknown_model_is_code_404(http) -> None:
    rpc(http, "/web/session/authenticate", {"db": "psa", "login": "admin", "password": "admin"})
    body = rpc(
        http,
        "/web/dataset/call_kw",
        {"model": "x_nothing", "method": "search", "args": [[]], "kwargs": {}},
    )
    assert body["error"]["code"] == 404
    assert body["error"]["data"]["name"] == "werkzeug.exceptions.NotFound"


def test_database_list_route(http) -> None:
    assert rpc(http, "/web/database/list")["result"] == ["psa"]


def test_unknown_url_posted_as_json_is_code_404(http) -> None:
    body = rpc(http, "/web/nothing/here")
    assert body["error"]["code"] == 404
    assert body["error"]["message"] == "404: Not Found"


def test_doc_endpoints_are_not_found(http) -> None:
    assert http.get("/doc/res.device.json").status_code == 404
