"""Odoo 19's JSON-2 API: bearer API keys, named arguments, raw results, HTTP status errors."""

from __future__ import annotations

import httpx
import pytest

from console.sandbox.odoo.orm import ADMIN_API_KEY


@pytest.fixture
def http(odoo):
    with httpx.Client(
        base_url=odoo.url, timeout=30, headers={"Authorization": f"bearer {ADMIN_API_KEY}"}
    ) as client:
        yield client


def test_search_read_returns_raw_list(http) -> None:
    response = http.post(
        "/json/2/res.partner/search_read",
        json={"domain": [["is_company", "=", True]], "fields": ["name"], "limit": 2},
    )
    assert response.status_code == 200
    rows = response.json()
    assert isinstance(rows, list) and len(rows) == 2
    assert set(rows[0]) == {"id", "name"}


def test_create_returns_a_list_even_for_one_record(http) -> None:
    response = http.post("/json/2/res.partner/create", json={"vals_list": [{"name": "Solo"}]})
    assert response.status_code == 200
    assert isinstance(response.json(), list) and len(response.json()) == 1


def test_context_get_reports_the_keys_user(http) -> None:
    response = http.post("/json/2/res.users/context_get", json={})
    assert response.json()["uid"] == 2


def test_bad_key_is_401_with_json_body(odoo) -> None:
    response = httpx.post(
        f"{odoo.url}/json/2/res.users/context_get",
        json={},
        headers={"Authorization": "Bearer admin"},
    )
    assert response.status_code == 401
    body = response.json()
    assert body["name"] == "werkzeug.exceptions.Unauthorized"
    assert body["message"] == "Invalid apikey"
    assert body["arguments"] == ["Invalid apikey", 401]


def test_wrong_content_type_is_415(http) -> None:
    response = http.post(
        "/json/2/res.partner/search",
        content=b"domain=[]",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415


def test_body_not_an_object_is_400(http) -> None:
    assert http.post("/json/2/res.partner/search", json=[1]).status_code == 400


def test_unknown_model_is_404(http) -> None:
    response = http.post("/json/2/x_nothing/search", json={"domain": []})
    assert response.status_code == 404
    assert "x_nothing" in response.json()["message"]


def test_missing_argument_is_422(http) -> None:
    response = http.post("/json/2/res.partner/search", json={})
    assert response.status_code == 422
    assert response.json()["message"] == "missing a required argument: 'domain'"


def test_ids_on_a_model_method_is_422(http) -> None:
    response = http.post("/json/2/res.users/create", json={"ids": [2], "vals_list": [{}]})
    assert response.status_code == 422
    assert "cannot call res.users.create with ids" in response.json()["message"]


def test_private_method_is_403(http) -> None:
    response = http.post("/json/2/res.partner/_compute_display_name", json={"ids": [1]})
    assert response.status_code == 403
    assert response.json()["name"] == "odoo.exceptions.AccessError"


def test_get_on_index_points_to_post(http) -> None:
    response = http.get("/json/2")
    assert response.status_code == 404
    assert "Did you mean POST /json/2/<model>/<method>?" in response.json()["message"]
