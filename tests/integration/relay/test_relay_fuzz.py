"""Hypothesis fuzz of the ingest body and headers over real HTTP: never a 5xx but 503."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relay_support import RunningRelay, notification, sign

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["Id", "Title", "Message", "DateTime", "Priority", "DeviceIdentifier", "OrganizationId"]
# h11 (the client) refuses header values with surrounding whitespace, so strip them.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(
    str.strip
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Raw bytes, arbitrary JSON, or a notification with fields removed or retyped."""
    shape = draw(st.sampled_from(["bytes", "json", "mutated", "escaped"]))
    if shape == "bytes":
        return draw(st.binary(max_size=512))
    if shape == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    body: dict[str, Any] = notification()
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            del body[name]
        else:
            body[name] = draw(JSON_VALUES)
    text = json.dumps(body, ensure_ascii=shape == "escaped")
    if shape == "escaped" and draw(st.booleans()):
        text = text.replace('"Title": "', '"Title": "\\ud800', 1)  # lone surrogate
    return text.encode()


@st.composite
def headers_for(draw: st.DrawFn, raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    content_type = draw(st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain",
         "application/problem+json", None]
    ) | HEADER_TEXT)  # fmt: skip
    if content_type is not None:
        headers["content-type"] = content_type
    signature = draw(st.sampled_from(["valid", "random", "missing"]))
    if signature == "valid":
        headers["x-hmac-signature"] = sign(raw)
    elif signature == "random":
        headers["x-hmac-signature"] = draw(HEADER_TEXT)
    for name, value in draw(st.dictionaries(
        st.sampled_from(["x-psa-relay-token", "user-agent", "x-extra", "accept"]),
        HEADER_TEXT, max_size=2,
    )).items():  # fmt: skip
        headers[name] = value
    return headers


def test_fuzzed_webhooks_never_get_a_server_error(
    relay_factory: Callable[..., RunningRelay],
) -> None:
    relay = relay_factory()

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def post_anything(data: st.DataObject) -> None:
        raw = data.draw(bodies())
        headers = data.draw(headers_for(raw))
        response = relay.http.post("/hooks/pulseway", content=raw, headers=headers)
        assert response.status_code < 500 or response.status_code == 503, response.text
        if response.status_code in (200, 202):
            assert set(response.json()) == {"seq", "duplicate"}

    post_anything()
    assert relay.http.get("/healthz").status_code == 200
