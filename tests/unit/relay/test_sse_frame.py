"""The stream's frames, written field by field, are exactly the JSON of ``StoredEvent.to_json``."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from console.relay.hub import sse_frame
from console.relay.store import StoredEvent

# any code point but lone surrogates (not UTF-8; never in a parsed webhook): quotes,
# backslashes, control characters, line breaks, non-ASCII
characters = st.characters(exclude_categories=("Cs",))
texts = st.text(characters, max_size=40)
optional_texts = st.none() | texts
ids = st.integers(min_value=1, max_value=2**53)
optional_ids = st.none() | ids
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(characters, max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(characters, max_size=8), inner)
    ),
    max_leaves=12,
)


@st.composite
def events(draw: st.DrawFn) -> StoredEvent:
    seq = draw(ids)
    payload = draw(st.dictionaries(st.text(characters, max_size=10), json_values, max_size=5))
    # the stored text as received: compact, or with line breaks and indentation
    payload_text = draw(
        st.sampled_from(
            [
                None,
                json.dumps(payload, ensure_ascii=False),
                json.dumps(payload, indent=2),
                json.dumps(payload, separators=(",", ":")),
            ]
        )
    )
    return StoredEvent(
        seq=seq,
        source=draw(texts),
        kind=draw(st.sampled_from(["alert", "state", "device.changed", "incident.opened"])),
        received_at=draw(texts),
        external_id=draw(texts),
        title=draw(texts),
        device_id=draw(optional_texts),
        priority=draw(optional_texts),
        dedupe_key=draw(optional_texts),
        sa_ids=tuple(draw(st.lists(ids, max_size=4))),
        state=draw(st.sampled_from(["open", "claimed", "acked", "snoozed", "resolved"])),
        count=draw(st.integers(min_value=1, max_value=10**6)),
        last_seen=draw(texts),
        alert_seq=draw(st.sampled_from([seq, max(1, seq - 7)])),
        claimed_by=draw(optional_texts),
        snoozed_until=draw(optional_texts),
        asset_id=draw(optional_ids),
        partner_id=draw(optional_ids),
        payload=payload,
        payload_text=payload_text,
    )


def _reference(event: StoredEvent) -> bytes:
    """The frame as the relay first wrote it: json.dumps of to_json, stored text spliced in."""
    document: dict[str, Any] = event.to_json()
    text = event.payload_text
    if text is None:
        data = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    else:
        del document["payload"]
        text = text.replace("\r", " ").replace("\n", " ")
        head = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        data = f'{head[:-1]},"payload":{text}}}'
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {data}\n\n".encode()


@settings(max_examples=300, deadline=None)
@given(events())
def test_frames_are_the_json_of_to_json(event: StoredEvent) -> None:
    frame = sse_frame(event)
    assert frame == _reference(event)
    head, _, rest = frame.decode().partition("data: ")
    assert head == f"id: {event.seq}\nevent: {event.kind}\n"
    assert "\n" not in rest[:-2]  # one data line
    assert json.loads(rest) == json.loads(json.dumps(event.to_json()))
