"""The stream hub: frames built once (payload text spliced in), scope filtering, gaps, pacing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from console.relay.hub import StreamHub, encode_events, sse_frame
from console.relay.sessions import ADMIN, Principal
from console.relay.store import StoredEvent

pytestmark = pytest.mark.anyio

PAYLOAD = {"Id": 7, "Title": 'Disk "C:" low\nreally', "Message": "é ✓ \u2028", "Nested": [1, {}]}


def event(
    seq: int, *, sa_ids: tuple[int, ...] = (), payload_text: str | None = None
) -> StoredEvent:
    return StoredEvent(
        seq=seq, source="pulseway", kind="alert", received_at="2026-11-23T10:00:00.000Z",
        external_id=str(seq), title="Disk low", device_id="dev-1", priority="Critical",
        dedupe_key="pulseway|dev-1|Disk low", sa_ids=sa_ids, state="open", count=1,
        last_seen="2026-11-23T10:00:00.000Z", alert_seq=seq, payload=PAYLOAD,
        payload_text=payload_text,
    )  # fmt: skip


def parse(frame: bytes) -> tuple[list[str], dict[str, Any]]:
    text = frame.decode()
    assert text.endswith("\n\n")
    lines = text[:-2].split("\n")
    data = [line for line in lines if line.startswith("data: ")]
    assert len(data) == 1, lines
    return lines, json.loads(data[0].removeprefix("data: "))


def member(*sa_ids: int) -> Principal:
    return Principal("tech", 5, "Tech", sa_ids, ("technician",), sees_unmatched=False)


def test_a_frame_with_the_stored_payload_text_says_what_the_encoded_one_says() -> None:
    compact = json.dumps(PAYLOAD, separators=(",", ":"), ensure_ascii=False)
    _, encoded = parse(sse_frame(event(3)))
    lines, spliced = parse(sse_frame(event(3, payload_text=compact)))

    assert spliced == encoded
    assert lines[:2] == ["id: 3", "event: alert"]
    assert spliced["payload"] == PAYLOAD


def test_line_breaks_between_the_tokens_of_a_pretty_printed_payload_stay_on_one_data_line() -> None:
    pretty = json.dumps(PAYLOAD, indent=2).replace("\n", "\r\n")  # as a sender might format it

    _, document = parse(sse_frame(event(4, payload_text=pretty)))

    assert document["payload"] == PAYLOAD  # escaped line breaks inside strings are untouched


async def test_published_frames_reach_only_the_subscriptions_that_may_see_them() -> None:
    hub = StreamHub(flush_interval=0)
    admin, tech, other = hub.subscribe(ADMIN), hub.subscribe(member(1)), hub.subscribe(member(2))

    hub.publish_frames(encode_events([event(1, sa_ids=(1,)), event(2, sa_ids=(2,)), event(3)]))

    assert [seq for seq, _ in admin.take()] == [1, 2, 3]
    assert [seq for seq, _ in tech.take()] == [1]
    assert [seq for seq, _ in other.take()] == [2]
    assert hub.last_seq == 3


async def test_rows_committed_without_frames_give_connected_consumers_a_gap() -> None:
    hub = StreamHub()
    hub.advance(5)  # nobody connected: only the last seq moves
    assert hub.last_seq == 5

    subscription = hub.subscribe(ADMIN)
    hub.advance(5)  # nothing new
    assert not subscription.gap
    hub.advance(9)

    assert subscription.gap
    assert await subscription.wait(0.01)  # woken: it reads seqs 6..9 from the store
    subscription.reset_overflow()
    assert not subscription.gap and hub.last_seq == 9


async def test_an_event_after_a_quiet_spell_goes_out_at_once_and_a_burst_is_paced() -> None:
    hub = StreamHub(flush_interval=60)  # a burst would wait a minute for its next write
    subscription = hub.subscribe(ADMIN)
    woken = subscription._wakeup

    hub.publish([event(1)])
    await asyncio.sleep(0)  # one loop turn, not the interval

    assert woken.is_set()
    assert [seq for seq, _ in subscription.take()] == [1]
    woken.clear()

    hub.publish([event(2)])  # right after a write: waits for the interval
    for _ in range(3):
        await asyncio.sleep(0)
    assert not woken.is_set()
    assert [seq for seq, _ in subscription.pending] == [2]


class Writer:
    """A consumer connection for the hub's direct writes: records chunks, or refuses them."""

    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.chunks: list[bytes] = []

    @staticmethod
    def frame(data: bytes) -> bytes:
        return b"<" + data + b">"

    def write(self, framed: bytes) -> bool:
        if self.accept:
            self.chunks.append(framed)
        return self.accept


async def test_caught_up_consumers_get_one_shared_chunk_written_by_the_flush() -> None:
    hub = StreamHub(flush_interval=0)
    first, second = hub.subscribe(ADMIN), hub.subscribe(ADMIN)
    writers = Writer(), Writer()
    for subscription, writer in zip((first, second), writers, strict=True):
        subscription.direct = writer

    hub.publish([event(1), event(2)])
    await asyncio.sleep(0)  # the flush

    assert writers[0].chunks == writers[1].chunks
    assert writers[0].chunks[0] is writers[1].chunks[0]  # built once for both
    assert writers[0].chunks[0] == b"<" + sse_frame(event(1)) + sse_frame(event(2)) + b">"
    assert (first.last, second.last) == (2, 2)
    assert not first.pending and not second.pending
    assert not first._wakeup.is_set()  # nothing for the consumer's task to do


async def test_a_direct_write_skips_what_the_consumer_already_read_from_the_store() -> None:
    hub = StreamHub(flush_interval=0)
    subscription = hub.subscribe(ADMIN)
    writer = Writer()
    subscription.direct, subscription.last = writer, 2  # read up to seq 2 while catching up

    hub.publish([event(1), event(2), event(3)])
    await asyncio.sleep(0)

    assert writer.chunks == [b"<" + sse_frame(event(3)) + b">"]
    assert subscription.last == 3


async def test_a_consumer_that_does_not_keep_up_is_left_to_its_task_with_nothing_lost() -> None:
    hub = StreamHub(flush_interval=0)
    subscription = hub.subscribe(ADMIN)
    subscription.direct = Writer(accept=False)  # its connection's buffer is full

    hub.publish([event(1)])
    await asyncio.sleep(0)

    assert subscription.direct is None  # the task sends from now on, waiting for the client
    assert subscription._wakeup.is_set()
    assert [seq for seq, _ in subscription.take()] == [1]
    assert subscription.last == 0


def test_the_direct_body_refuses_rather_than_guess_with_an_unknown_server_cycle() -> None:
    from console.relay.http_ingest import DirectBody

    direct = DirectBody()
    assert not direct.write(b"x")  # no response yet

    direct.cycle = object()  # type: ignore[assignment]  # not uvicorn's cycle as we know it
    assert not direct.write(direct.frame(b"data"))
    assert direct.cycle is None  # and it stops asking
    assert direct.frame(b"data") == b"4\r\ndata\r\n"
