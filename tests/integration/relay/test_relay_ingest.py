"""POST /hooks/pulseway over real HTTP: acceptance, redelivery, every rejection path."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from relay_support import RunningRelay, notification, sign

from console.relay.sqlite_store import SqliteEventStore
from tests.samples import SAMPLES


def test_signed_notification_is_acknowledged_with_its_seq(relay: RunningRelay) -> None:
    response = relay.post_hook(notification(2733))

    assert response.status_code == 202
    assert response.json() == {"seq": 1, "duplicate": False}
    [event] = relay.events(relay.admin())
    assert (event["seq"], event["kind"], event["external_id"]) == (1, "alert", "2733")
    assert event["title"] == "Low disk space"
    assert event["priority"] == "Critical"
    assert event["device_id"] == "8f3c2a1d-4b5e-6f70-8192-a3b4c5d6e7f8"
    assert event["payload"]["Id"] == 2733


def test_documented_sample_with_reference_signature_is_accepted(relay: RunningRelay) -> None:
    raw = (SAMPLES / "pulseway_notification_critical.json").read_bytes()

    response = relay.post_hook(raw, signature="2dznMeIRdKttL0pA3/S6xc8BzXadfbs0zTYY2PLron8=")

    assert response.status_code == 202


def test_signature_made_with_hex_decoded_key_is_accepted(relay: RunningRelay) -> None:
    raw = (SAMPLES / "pulseway_notification_critical.json").read_bytes()

    response = relay.post_hook(raw, signature="EZ4DcJNIRwuzL3aph96UTrFDih3NvXuj9GuUHtgXFbo=")

    assert response.status_code == 202


def test_stored_payload_is_the_raw_body(relay: RunningRelay) -> None:
    raw = (SAMPLES / "pulseway_notification_normal.json").read_bytes()
    relay.post_hook(raw)

    with sqlite3.connect(relay.config.db) as conn:
        payloads = [row[0] for row in conn.execute("SELECT payload FROM events")]
    assert payloads == [raw.decode()]


def test_redelivery_of_the_same_id_answers_200_with_the_first_seq(relay: RunningRelay) -> None:
    body = notification(4242)
    first = relay.post_hook(body)
    relay.post_hook(notification())

    again = relay.post_hook(body)

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"seq": first.json()["seq"], "duplicate": True}
    assert len(relay.events(relay.admin())) == 2


def test_integer_and_string_organization_ids_are_both_accepted(relay: RunningRelay) -> None:
    assert relay.post_hook(notification(OrganizationId=4821)).status_code == 202
    assert relay.post_hook(notification(OrganizationId="4821")).status_code == 202


def test_repeat_of_an_open_alert_raises_its_count_and_last_seen(relay: RunningRelay) -> None:
    first = relay.post_hook(notification(title="CPU high")).json()["seq"]
    second = relay.post_hook(notification(title="  cpu HIGH ")).json()["seq"]

    events = {e["seq"]: e for e in relay.events(relay.admin())}

    assert events[second]["alert_seq"] == first
    assert events[second]["repeat"] is True
    assert events[first]["count"] == 2
    assert events[first]["last_seen"] == events[second]["received_at"]


def test_repeat_after_resolve_opens_a_new_alert(relay: RunningRelay) -> None:
    first = relay.post_hook(notification(title="Service stopped")).json()["seq"]
    assert relay.change(first, relay.admin(), action="resolve").status_code == 200

    again = relay.post_hook(notification(title="Service stopped")).json()["seq"]

    event = relay.http.get(f"/api/events/{again}", headers=relay.admin()).json()["event"]
    assert event["alert_seq"] == again
    assert event["count"] == 1


def test_body_declared_larger_than_256_kib_is_413(relay: RunningRelay) -> None:
    raw = json.dumps(notification(Message="x" * (256 * 1024))).encode()

    response = relay.post_hook(raw)

    assert response.status_code == 413


def test_streamed_body_larger_than_256_kib_is_413(relay: RunningRelay) -> None:
    raw = json.dumps(notification(Message="x" * (256 * 1024))).encode()

    def chunks():  # no content-length: chunked transfer encoding
        for start in range(0, len(raw), 16 * 1024):
            yield raw[start : start + 16 * 1024]

    response = relay.http.post(
        "/hooks/pulseway",
        content=chunks(),
        headers={"content-type": "application/json", "x-hmac-signature": sign(raw)},
    )

    assert response.status_code == 413


def test_body_of_exactly_256_kib_is_accepted(relay: RunningRelay) -> None:
    body = notification()
    filler = 256 * 1024 - len(json.dumps({**body, "Message": ""}).encode())
    raw = json.dumps({**body, "Message": "x" * filler}).encode()
    assert len(raw) == 256 * 1024

    assert relay.post_hook(raw).status_code == 202


def test_non_json_media_type_is_415(relay: RunningRelay) -> None:
    response = relay.post_hook(notification(), headers={"content-type": "text/plain"})

    assert response.status_code == 415


def test_missing_media_type_is_415(relay: RunningRelay) -> None:
    raw = json.dumps(notification()).encode()
    response = relay.http.post(
        "/hooks/pulseway", content=raw, headers={"x-hmac-signature": sign(raw)}
    )

    assert response.status_code == 415


def test_json_media_type_with_charset_is_accepted(relay: RunningRelay) -> None:
    response = relay.post_hook(
        notification(), headers={"content-type": "application/json; charset=utf-8"}
    )

    assert response.status_code == 202


def test_missing_signature_is_401(relay: RunningRelay) -> None:
    raw = json.dumps(notification()).encode()
    response = relay.http.post(
        "/hooks/pulseway", content=raw, headers={"content-type": "application/json"}
    )

    assert response.status_code == 401


def test_signature_of_another_body_is_401(relay: RunningRelay) -> None:
    response = relay.post_hook(notification(), signature=sign(b"{}"))

    assert response.status_code == 401
    assert relay.events(relay.admin()) == []


def test_signature_with_another_secret_is_401(relay: RunningRelay) -> None:
    raw = json.dumps(notification()).encode()

    response = relay.post_hook(raw, signature=sign(raw, secret="1" * 64))

    assert response.status_code == 401


def test_static_token_is_required_when_configured(
    relay_factory: Callable[..., RunningRelay],
) -> None:
    relay = relay_factory(hook_token="static-token")

    missing = relay.post_hook(notification())
    wrong = relay.post_hook(notification(), headers={"x-psa-relay-token": "nope"})
    right = relay.post_hook(notification(), headers={"x-psa-relay-token": "static-token"})

    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 202)


def test_schema_violation_is_400_and_the_raw_body_is_quarantined(relay: RunningRelay) -> None:
    body = notification()
    del body["DeviceIdentifier"]
    raw = json.dumps(body).encode()

    response = relay.post_hook(raw, headers={"user-agent": "Pulseway-Webhooks"})

    assert response.status_code == 400
    assert "DeviceIdentifier" in response.json()["error"]
    [entry] = relay.http.get("/api/quarantine", headers=relay.admin()).json()["entries"]
    assert entry["id"] == response.json()["quarantine_id"]
    assert entry["body"] == raw.decode()
    assert entry["source"] == "pulseway"
    assert "DeviceIdentifier" in entry["reason"]
    assert entry["headers"]["user-agent"] == "Pulseway-Webhooks"
    assert relay.events(relay.admin()) == []


def test_unparsable_json_is_400_and_quarantined_byte_for_byte(relay: RunningRelay) -> None:
    raw = b'{"Id": 1, "Title": \xff broken'

    response = relay.post_hook(raw)

    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_json"
    [entry] = relay.http.get("/api/quarantine", headers=relay.admin()).json()["entries"]
    assert entry["body"] == raw.decode("utf-8", errors="backslashreplace")


def test_quarantine_never_keeps_the_static_token(
    relay_factory: Callable[..., RunningRelay],
) -> None:
    relay = relay_factory(hook_token="static-token")
    relay.post_hook(b"[1, 2]", headers={"x-psa-relay-token": "static-token"})

    [entry] = relay.http.get("/api/quarantine", headers=relay.admin()).json()["entries"]

    assert "x-psa-relay-token" not in entry["headers"]
    assert "static-token" not in json.dumps(entry)


def test_unknown_priority_is_400(relay: RunningRelay) -> None:
    assert relay.post_hook(notification(Priority="Urgent")).status_code == 400


def test_get_on_the_hook_is_405(relay: RunningRelay) -> None:
    response = relay.http.get("/hooks/pulseway")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_full_store_answers_503_with_retry_after_and_never_2xx(
    relay_factory: Callable[..., RunningRelay], tmp_path: Path
) -> None:
    # SQLite's max_page_count makes the file refuse to grow, exactly like a full disk.
    relay = relay_factory(store=SqliteEventStore(tmp_path / "tiny.sqlite3", max_pages=12))
    statuses = []
    for _ in range(200):
        response = relay.post_hook(notification(Message="m" * 2000))
        statuses.append(response.status_code)
        if response.status_code == 503:
            break

    assert statuses[-1] == 503
    assert set(statuses) <= {202, 503}
    assert response.headers["retry-after"] == "5"
    health = relay.http.get("/healthz")
    assert health.status_code == 503
    assert "full" in health.json()["store"]


def test_unreadable_store_directory_answers_503(
    relay_factory: Callable[..., RunningRelay], tmp_path: Path
) -> None:
    # A regular file where the database's directory should be: nothing can be created.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    relay = relay_factory(store=SqliteEventStore(blocker / "relay.sqlite3"))

    response = relay.post_hook(notification())

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


def test_metrics_count_receipts_duplicates_rejections_and_quarantine(
    relay: RunningRelay,
) -> None:
    body = notification()
    relay.post_hook(body)
    relay.post_hook(body)
    relay.post_hook(notification(), signature="bad")
    relay.post_hook(b"{}")

    text = relay.http.get("/metrics").text

    assert "psa_relay_webhooks_received_total 1" in text
    assert "psa_relay_webhooks_duplicate_total 1" in text
    assert 'psa_relay_webhooks_rejected_total{reason="bad_signature"} 1' in text
    assert 'psa_relay_webhooks_rejected_total{reason="invalid_schema"} 1' in text
    assert "psa_relay_quarantined_total 1" in text
    assert "psa_relay_commit_latency_seconds_count 2" in text
    assert "psa_relay_consumers 0" in text


def test_healthz_reports_ok_and_the_last_seq(relay: RunningRelay) -> None:
    relay.post_hook(notification())

    response = relay.http.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["last_seq"] == 1
