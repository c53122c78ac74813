"""Fan-out of committed events to live stream consumers, without letting them slow ingest.

The store calls :meth:`StreamHub.publish` once per committed batch. Publishing must stay cheap
however many consumers are connected, so:

* each event is encoded as an SSE frame once, and filtered once per distinct *scope* (all
  consumers with the same SA scope share the result), not once per consumer;
* a consumer's queue is a list of frames bounded by ``max_pending``; one that falls that far
  behind is marked overflowed, its backlog dropped, and its stream tells it to resume from the
  last id it received (it catches up from the store, which is what the store is for);
* consumers are woken at most once per ``flush_interval`` and send everything pending as one
  chunk, so a burst of 8,000 events/s costs each consumer ~40 writes/s, not 8,000; an event
  after a quiet spell is sent at once (the interval only paces bursts);
* a consumer whose stream is caught up and waiting can hand the hub a :class:`DirectWriter`:
  the flush then writes its chunk itself, the same bytes object for every consumer of a scope
  that is at the same place, instead of waking the consumer's task (which costs a task step,
  a copy and an ASGI ``send`` per consumer). A consumer that does not keep up (its writer
  refuses) is left to its task, which sends and waits for it;
* when rows were committed that the hub got no frames for (a store that only reported the
  new last seq, :meth:`StreamHub.advance`), every consumer is told it has a *gap* and reads
  the missing rows from the store before it sends anything newer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from console.relay.sessions import Principal
from console.relay.store import EncodedEvent, StoredEvent

#: Sent to a consumer whose queue overflowed or whose relay shuts down; no ``id:`` line, so
#: the client's Last-Event-ID stays at the last event it really received.
RESYNC_EVENT: Final = "resync"


_quote = json.encoder.encode_basestring  # a str as JSON, non-ASCII kept (ensure_ascii=False)


def _text_or_null(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _int_or_null(value: int | None) -> str:
    return "null" if value is None else str(value)


def sse_frame(event: StoredEvent) -> bytes:
    """``id: seq`` / ``event: kind`` / ``data: JSON`` as one Server-Sent Events message.

    ``data`` is exactly ``json.dumps(event.to_json(), separators=(",", ":"),
    ensure_ascii=False)`` (a property test holds it to that), written field by field: three
    times cheaper, and one relay builds a frame for every event it stores while consoles
    stream. With the payload's stored JSON text at hand it is spliced in as is (valid JSON: it
    was parsed before it was stored) instead of being encoded again; line breaks between its
    tokens become spaces, as an SSE ``data:`` line may not contain one (inside JSON strings
    they are always escaped).
    """
    text = event.payload_text
    if text is None:
        text = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
    elif "\n" in text or "\r" in text:
        text = text.replace("\r", " ").replace("\n", " ")
    data = (
        f'{{"seq":{event.seq},"source":{_quote(event.source)},"kind":{_quote(event.kind)},'
        f'"received_at":{_quote(event.received_at)},"external_id":{_quote(event.external_id)},'
        f'"title":{_quote(event.title)},"device_id":{_text_or_null(event.device_id)},'
        f'"priority":{_text_or_null(event.priority)},'
        f'"dedupe_key":{_text_or_null(event.dedupe_key)},'
        f'"sa_ids":[{",".join(map(str, event.sa_ids))}],"state":{_quote(event.state)},'
        f'"count":{event.count},"last_seen":{_quote(event.last_seen)},'
        f'"alert_seq":{event.alert_seq},"repeat":{"true" if event.is_repeat else "false"},'
        f'"claimed_by":{_text_or_null(event.claimed_by)},'
        f'"snoozed_until":{_text_or_null(event.snoozed_until)},'
        f'"asset_id":{_int_or_null(event.asset_id)},'
        f'"partner_id":{_int_or_null(event.partner_id)},"payload":{text}}}'
    )
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {data}\n\n".encode()


def encode_events(events: Sequence[StoredEvent]) -> list[EncodedEvent]:
    """``events`` as the hub distributes them (each frame built once)."""
    return [(event.seq, event.sa_ids, sse_frame(event)) for event in events]


def control_frame(kind: str, data: object) -> bytes:
    """An id-less SSE message (``ready``, ``resync``) that does not move Last-Event-ID."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class DirectWriter(Protocol):
    """Writes a consumer's chunks straight to its connection (see
    :class:`console.relay.http_ingest.DirectBody`)."""

    def frame(self, data: bytes) -> bytes:
        """``data`` framed for the connection; one framed chunk can be written to many."""
        ...

    def write(self, framed: bytes) -> bool:
        """Write a framed chunk now; False, writing nothing, if the consumer is not keeping up."""
        ...


class Subscription:
    """One consumer's view of the live feed: frames with seq, filtered to its scope."""

    def __init__(self, hub: StreamHub, principal: Principal, max_pending: int) -> None:
        self.principal = principal
        self.pending: list[tuple[int, bytes]] = []
        self.overflowed = False
        #: rows were committed that this subscription got no frames for: read the store
        self.gap = False
        self.closed = False
        self._max_pending = max_pending
        self._hub = hub
        self._wakeup = asyncio.Event()
        #: set by the consumer while it waits caught up: the flush writes for it
        self.direct: DirectWriter | None = None
        #: the last seq written through ``direct``
        self.last = 0

    def offer(self, frames: list[tuple[int, bytes]]) -> None:
        """Queue frames (called by the hub); past the bound, mark overflowed and drop."""
        if self.overflowed or self.closed:
            return
        if len(self.pending) + len(frames) > self._max_pending:
            self.overflowed = True
            self.pending = []
            self._wakeup.set()
            return
        self.pending.extend(frames)

    def wake(self) -> None:
        """Let the consumer's task send what is pending."""
        self._wakeup.set()

    async def wait(self, within: float) -> bool:
        """Wait until there is something to do; False after ``within`` seconds (heartbeat)."""
        if self.pending or self.overflowed or self.gap or self.closed:
            return True
        self._wakeup.clear()
        try:
            async with asyncio.timeout(within):
                await self._wakeup.wait()
        except TimeoutError:
            return False
        return True

    def take(self) -> list[tuple[int, bytes]]:
        """Everything pending, oldest first."""
        frames, self.pending = self.pending, []
        return frames

    def reset_overflow(self) -> None:
        """Before the consumer reads the store again: forget the overflow, the gap and what is
        pending (the store has all of it)."""
        self.overflowed = False
        self.gap = False
        self.pending = []

    def missed(self) -> None:
        """Rows were committed without frames (called by the hub): read them from the store."""
        if not self.closed:
            self.gap = True
            self._wakeup.set()

    def close(self) -> None:
        """Detach from the hub and wake the consumer so it can end its stream."""
        if not self.closed:
            self.closed = True
            self._hub.detach(self)
            self._wakeup.set()


class StreamHub:
    """Delivers committed events to subscriptions grouped by scope."""

    def __init__(self, *, max_pending: int = 10_000, flush_interval: float = 0.025) -> None:
        self.max_pending = max_pending
        self.flush_interval = flush_interval
        self.last_seq = 0
        self._groups: dict[tuple[bool, bool, frozenset[int]], list[Subscription]] = {}
        self._flush_scheduled = False
        self._last_flush = float("-inf")
        self._closed = False
        #: told the number of consumers whenever it changes (shared with sibling workers)
        self.on_consumers: Callable[[int], None] | None = None

    @property
    def consumers(self) -> int:
        """Connected stream consumers."""
        return sum(len(group) for group in self._groups.values())

    def subscribe(self, principal: Principal) -> Subscription:
        """A new subscription; it receives every event published from now on that it may see."""
        subscription = Subscription(self, principal, self.max_pending)
        if self._closed:
            subscription.closed = True
            return subscription
        self._groups.setdefault(principal.scope_key, []).append(subscription)
        if self.on_consumers is not None:
            self.on_consumers(self.consumers)
        return subscription

    def detach(self, subscription: Subscription) -> None:
        """Remove ``subscription`` (it closed)."""
        key = subscription.principal.scope_key
        group = self._groups.get(key)
        if group is not None and subscription in group:
            group.remove(subscription)
            if not group:
                del self._groups[key]
            if self.on_consumers is not None:
                self.on_consumers(self.consumers)

    @property
    def wants_rows(self) -> bool:
        """Whether anyone is connected to receive rows (store listener protocol)."""
        return bool(self._groups)

    def advance(self, last_seq: int) -> None:
        """Rows up to ``last_seq`` were committed and the hub got no frames for them.

        With nobody connected that is all there is to it; connected consumers are told they
        have a gap (they read those rows from the store)."""
        if last_seq <= self.last_seq:
            return
        self.last_seq = last_seq
        for group in self._groups.values():
            for subscription in group:
                subscription.missed()

    def publish(self, events: Sequence[StoredEvent]) -> None:
        """Queue a committed batch for every subscription that may see it (store listener)."""
        if not events:
            return
        if not self._groups:
            self.last_seq = max(self.last_seq, events[-1].seq)
            return
        self.publish_frames(encode_events(events))

    def publish_frames(self, events: Sequence[EncodedEvent]) -> None:
        """Queue committed rows already encoded (by a tailing store) for whoever may see them."""
        if not events:
            return
        self.last_seq = max(self.last_seq, events[-1][0])
        if not self._groups:
            return
        for group in self._groups.values():
            principal = group[0].principal
            visible = [(seq, frame) for seq, sa_ids, frame in events if principal.can_see(sa_ids)]
            if visible:
                for subscription in group:
                    subscription.offer(visible)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop = asyncio.get_running_loop()
            delay = self._last_flush + self.flush_interval - loop.time()
            if delay > 0:
                loop.call_later(delay, self._flush)
            else:
                loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._last_flush = asyncio.get_running_loop().time()
        for group in self._groups.values():
            # Consumers of one scope that were flushed together last time hold the same frames
            # (same count, first and last seq): they get the same framed chunk, built once.
            shared_key: tuple[int, int, int] | None = None
            shared = b""
            for subscription in group:
                pending = subscription.pending
                if subscription.overflowed:
                    subscription.wake()
                elif pending:
                    direct = subscription.direct
                    if direct is None:
                        subscription.wake()
                        continue
                    key = (len(pending), pending[0][0], pending[-1][0])
                    fresh = pending[0][0] > subscription.last
                    if fresh and key == shared_key:
                        framed = shared
                    elif fresh:
                        framed = shared = direct.frame(b"".join([frame for _, frame in pending]))
                        shared_key = key
                    else:  # overlaps what it read from the store
                        data = b"".join(
                            [frame for seq, frame in pending if seq > subscription.last]
                        )
                        framed = direct.frame(data) if data else b""
                    if not framed or direct.write(framed):
                        subscription.last = max(subscription.last, pending[-1][0])
                        subscription.pending = []
                    else:  # not keeping up: its task sends, and waits for it
                        subscription.direct = None
                        subscription.wake()

    def close(self) -> None:
        """End every subscription (relay shutting down); later subscriptions start closed."""
        self._closed = True
        for group in list(self._groups.values()):
            for subscription in list(group):
                subscription.close()
