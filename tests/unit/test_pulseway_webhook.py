"""Pulseway webhook signatures (reference §3 test vector) and notification body parsing."""

from __future__ import annotations

import json

import pytest

from console.pulseway import (
    WebhookPayloadError,
    parse_webhook_notification,
    sign_body,
    verify_signature,
)
from tests.samples import SAMPLES

VECTOR_BODY = (SAMPLES / "pulseway_notification_critical.json").read_bytes()
VECTOR_SECRET = "0" * 64
UTF8_KEY_SIGNATURE = "2dznMeIRdKttL0pA3/S6xc8BzXadfbs0zTYY2PLron8="
HEX_KEY_SIGNATURE = "EZ4DcJNIRwuzL3aph96UTrFDih3NvXuj9GuUHtgXFbo="


def test_vector_body_is_the_documented_356_bytes() -> None:
    assert len(VECTOR_BODY) == 356


def test_signing_uses_the_utf8_key_like_the_reference_vector() -> None:
    assert sign_body(VECTOR_BODY, VECTOR_SECRET) == UTF8_KEY_SIGNATURE


def test_utf8_key_signature_of_the_vector_verifies() -> None:
    assert verify_signature(VECTOR_BODY, UTF8_KEY_SIGNATURE, VECTOR_SECRET)


def test_hex_decoded_key_signature_of_the_vector_verifies_too() -> None:
    assert verify_signature(VECTOR_BODY, HEX_KEY_SIGNATURE, VECTOR_SECRET)


def test_signature_of_a_body_changed_by_one_byte_is_rejected() -> None:
    tampered = VECTOR_BODY.replace(b"9%", b"8%")
    assert tampered != VECTOR_BODY
    assert not verify_signature(tampered, UTF8_KEY_SIGNATURE, VECTOR_SECRET)


def test_signature_made_with_another_secret_is_rejected() -> None:
    assert not verify_signature(VECTOR_BODY, UTF8_KEY_SIGNATURE, "1" * 64)


def test_surrounding_whitespace_in_the_header_is_ignored() -> None:
    assert verify_signature(VECTOR_BODY, f"  {UTF8_KEY_SIGNATURE}\n", VECTOR_SECRET)


@pytest.mark.parametrize("header", ["", "not base64!", "AAAA", UTF8_KEY_SIGNATURE[:-4]])
def test_malformed_or_truncated_headers_are_rejected(header: str) -> None:
    assert not verify_signature(VECTOR_BODY, header, VECTOR_SECRET)


def test_empty_secret_never_verifies() -> None:
    assert not verify_signature(b"{}", sign_body(b"{}", ""), "")


def test_non_hex_secret_is_used_as_utf8_text() -> None:
    secret = "correct horse battery staple"
    assert verify_signature(b"{}", sign_body(b"{}", secret), secret)


def test_sample_notification_parses_with_string_organization_id() -> None:
    notification = parse_webhook_notification(VECTOR_BODY)
    assert notification.id == 2733
    assert notification.title == "Low disk space"
    assert notification.priority == "Critical"
    assert notification.organization_id == 4821
    assert notification.device_id == "8f3c2a1d-4b5e-6f70-8192-a3b4c5d6e7f8"
    assert notification.occurred_at is not None and notification.occurred_at.tzinfo is not None


def test_integer_organization_id_and_lower_case_priority_are_accepted() -> None:
    body = json.loads(VECTOR_BODY)
    body.update(OrganizationId=4821, Priority="elevated")
    notification = parse_webhook_notification(json.dumps(body).encode())
    assert (notification.organization_id, notification.priority) == (4821, "Elevated")


def test_missing_message_defaults_to_the_title() -> None:
    body = json.loads(VECTOR_BODY)
    del body["Message"]
    assert parse_webhook_notification(json.dumps(body).encode()).message == "Low disk space"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"DeviceIdentifier": None}, "DeviceIdentifier"),
        ({"Title": ""}, "Title"),
        ({"Id": "abc"}, "Id"),
        ({"Id": True}, "Id"),
        ({"Priority": "Urgent"}, "Priority"),
        ({"OrganizationId": "acme"}, "OrganizationId"),
    ],
)
def test_bodies_without_the_documented_fields_are_refused_with_a_reason(
    change: dict[str, object], reason: str
) -> None:
    body = json.loads(VECTOR_BODY)
    body.update(change)
    with pytest.raises(WebhookPayloadError, match=reason):
        parse_webhook_notification(json.dumps(body).encode())


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_bodies_that_are_not_a_json_object_are_refused(raw: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_webhook_notification(raw)
