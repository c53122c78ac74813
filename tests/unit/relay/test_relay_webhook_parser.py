"""Pulseway webhook: the signature test vector and the notification schema check."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.relay.pulseway_webhook import NotificationInvalid, SignatureCheck, parse_notification
from tests.samples import SAMPLES

VECTOR_KEY = "0" * 64


def _body(**changes: Any) -> bytes:
    body: dict[str, Any] = {
        "Id": 2733, "Title": "Low disk space", "Message": "m", "DateTime": "2025-06-03T16:15:02Z",
        "Priority": "Critical", "DeviceIdentifier": "8F3C2A1D-4B5E", "OrganizationId": "4821",
    }  # fmt: skip
    for name, value in changes.items():
        if value is ...:
            del body[name]
        else:
            body[name] = value
    return json.dumps(body).encode()


@pytest.fixture
def vector_body() -> bytes:
    path = SAMPLES / "pulseway_notification_critical.json"
    if not path.exists():
        pytest.skip(f"reference sample missing: {path}")
    return path.read_bytes()


def test_signature_vector_with_utf8_key(vector_body: bytes) -> None:
    check = SignatureCheck(VECTOR_KEY)

    assert check.sign(vector_body) == "2dznMeIRdKttL0pA3/S6xc8BzXadfbs0zTYY2PLron8="
    assert check.verify(vector_body, "2dznMeIRdKttL0pA3/S6xc8BzXadfbs0zTYY2PLron8=")


def test_signature_vector_with_hex_decoded_key(vector_body: bytes) -> None:
    assert SignatureCheck(VECTOR_KEY).verify(
        vector_body, b"EZ4DcJNIRwuzL3aph96UTrFDih3NvXuj9GuUHtgXFbo="
    )


def test_signature_over_other_bytes_fails(vector_body: bytes) -> None:
    assert not SignatureCheck(VECTOR_KEY).verify(
        vector_body + b" ", "2dznMeIRdKttL0pA3/S6xc8BzXadfbs0zTYY2PLron8="
    )


def test_missing_signature_fails() -> None:
    assert not SignatureCheck("secret").verify(b"{}", None)
    assert not SignatureCheck("secret").verify(b"{}", "")


def test_non_hex_secret_has_only_its_utf8_key() -> None:
    check = SignatureCheck("not hex!")

    assert check.verify(b"x", check.sign(b"x"))


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        SignatureCheck("")


def test_notification_becomes_an_alert_event() -> None:
    event = parse_notification(_body())

    assert (event.source, event.kind, event.external_id) == ("pulseway", "alert", "2733")
    assert (event.title, event.priority, event.device_id) == (
        "Low disk space", "Critical", "8F3C2A1D-4B5E",
    )  # fmt: skip
    assert event.dedupe_key == "pulseway|8f3c2a1d-4b5e|low disk space"
    assert event.payload["OrganizationId"] == "4821"


def test_priority_is_normalized_to_the_documented_spelling() -> None:
    assert parse_notification(_body(Priority="elevated")).priority == "Elevated"


def test_organization_id_may_be_an_integer() -> None:
    assert parse_notification(_body(OrganizationId=4821)).payload["OrganizationId"] == 4821


def test_numeric_string_id_is_accepted() -> None:
    assert parse_notification(_body(Id="2733")).external_id == "2733"


@pytest.mark.parametrize(
    "field",
    ["Id", "Title", "Message", "DateTime", "Priority", "DeviceIdentifier", "OrganizationId"],
)
def test_each_documented_field_is_required(field: str) -> None:
    with pytest.raises(NotificationInvalid) as refused:
        parse_notification(_body(**{field: ...}))

    assert refused.value.reason == "invalid_schema"
    assert field in str(refused.value)


@pytest.mark.parametrize(
    "changes",
    [
        {"Id": True}, {"Id": -1}, {"Id": 2**63}, {"Id": "12a"}, {"Id": 1.5},
        {"Title": ""}, {"Title": 5}, {"Message": None}, {"DateTime": "yesterday"},
        {"Priority": "Urgent"}, {"DeviceIdentifier": " "}, {"OrganizationId": None},
        {"OrganizationId": False},
    ],
)  # fmt: skip
def test_wrong_types_and_values_are_schema_errors(changes: dict[str, Any]) -> None:
    with pytest.raises(NotificationInvalid) as refused:
        parse_notification(_body(**changes))

    assert refused.value.reason == "invalid_schema"


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"\xff\xfe", b'{"Id": NaN}', b"[" * 5000 + b"]" * 5000,
     b'{"Title": "\\ud800"}'],
)  # fmt: skip
def test_unparsable_bodies_are_json_errors(raw: bytes) -> None:
    with pytest.raises(NotificationInvalid) as refused:
        parse_notification(raw)

    assert refused.value.reason == "invalid_json"


def test_non_object_json_is_a_schema_error() -> None:
    with pytest.raises(NotificationInvalid) as refused:
        parse_notification(b"[1, 2]")

    assert refused.value.reason == "invalid_schema"


@given(st.binary(max_size=300))
def test_parser_accepts_or_refuses_but_never_fails_otherwise(raw: bytes) -> None:
    try:
        parse_notification(raw)
    except NotificationInvalid:
        pass
