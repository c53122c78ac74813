"""GET /events (SSE) and GET /api/events over real HTTP: resume, live, scope, back-pressure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from relay_support import USERS, RunningRelay, SseReader, StaticAuthority, notification

from console.relay.sqlite_store import SqliteEventStore
from console.relay.store import StoredEvent


def _seqs(messages: list[tuple[str | None, str, object]]) -> list[int]:
    return [int(event_id) for event_id, _, _ in messages if event_id is not None]


def test_stream_without_a_token_is_401(relay: RunningRelay) -> None:
    response = relay.http.get("/events")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_stream_replays_the_log_then_says_ready(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    seqs = [relay.post_hook(notification()).json()["seq"] for _ in range(3)]

    stream = sse(f"{relay.url}/events", relay.admin())
    messages = stream.until("ready")

    assert _seqs(messages) == seqs
    assert [kind for _, kind, _ in messages] == ["alert", "alert", "alert", "ready"]
    assert messages[-1][2] == {"seq": seqs[-1], "worker": "relay"}


def test_resume_from_last_event_id_delivers_exactly_the_missed_events_in_order(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    seen = [relay.post_hook(notification()).json()["seq"] for _ in range(3)]
    missed = [relay.post_hook(notification()).json()["seq"] for _ in range(5)]

    stream = sse(f"{relay.url}/events", {**relay.admin(), "last-event-id": str(seen[-1])})

    assert _seqs(stream.until("ready")) == missed


def test_resume_with_after_query_parameter(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    seqs = [relay.post_hook(notification()).json()["seq"] for _ in range(4)]

    stream = sse(f"{relay.url}/events", relay.admin(), after=seqs[1])

    assert _seqs(stream.until("ready")) == seqs[2:]


def test_live_events_follow_the_replay_without_gap_or_duplicate(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    before = [relay.post_hook(notification()).json()["seq"] for _ in range(2)]
    stream = sse(f"{relay.url}/events", relay.admin())
    stream.until("ready")

    after = [relay.post_hook(notification()).json()["seq"] for _ in range(3)]

    live = [stream.next() for _ in after]
    assert _seqs(live) == after
    assert before[-1] < after[0]


def test_live_chunks_are_written_by_the_hub_itself(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    # Under the relay's own server a caught-up stream hands the hub its connection: live
    # frames go out without waking the stream's task (the seq the hub wrote moves with them).
    stream = sse(f"{relay.url}/events", relay.admin())
    stream.until("ready")
    (subscription,) = [s for group in relay.app.hub._groups.values() for s in group]

    seqs = [relay.post_hook(notification()).json()["seq"] for _ in range(5)]

    assert _seqs([stream.next() for _ in seqs]) == seqs
    assert subscription.last == seqs[-1]
    assert subscription.direct is not None


def test_stream_data_is_the_event_as_json(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    stream = sse(f"{relay.url}/events", relay.admin())
    stream.until("ready")
    seq = relay.post_hook(notification(77, title="Disk failure")).json()["seq"]

    event_id, kind, data = stream.next()

    assert (event_id, kind) == (str(seq), "alert")
    assert isinstance(data, dict)
    assert data["title"] == "Disk failure"
    assert data["external_id"] == "77"


def test_heartbeat_comments_keep_an_idle_stream_alive(
    relay_factory: Callable[..., RunningRelay], sse: Callable[..., SseReader]
) -> None:
    relay = relay_factory(heartbeat_seconds=0.1)
    stream = sse(f"{relay.url}/events", relay.admin())
    stream.until("ready")

    assert stream.comments.get(timeout=10) == ": heartbeat"


def test_consumer_that_falls_behind_is_told_to_resume_from_its_last_id(
    relay_factory: Callable[..., RunningRelay], sse: Callable[..., SseReader]
) -> None:
    # A queue bound of 2 frames with a slow flush: a burst overflows it (the first event after
    # a quiet spell may go out at once; the rest wait for the flush and overflow).
    relay = relay_factory(consumer_queue_limit=2, stream_flush_seconds=0.5)
    stream = sse(f"{relay.url}/events", relay.admin())
    stream.until("ready")

    statuses = [relay.post_hook(notification()).status_code for _ in range(6)]

    assert statuses == [202] * 6  # ingest is never held up by the consumer
    received: list[int] = []
    while True:
        seq, kind, data = stream.next()
        if kind != "alert":
            break
        received.append(int(seq))
    assert kind == "resync"
    assert len(received) < 6
    assert data == {"after": received[-1] if received else 0, "reason": "too_slow"}
    assert stream.next()[1] == "closed"
    resumed = sse(f"{relay.url}/events", relay.admin(), after=data["after"])
    assert received + _seqs(resumed.until("ready")) == [1, 2, 3, 4, 5, 6]


def test_connected_consumers_are_reported_in_metrics(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    sse(f"{relay.url}/events", relay.admin()).until("ready")
    sse(f"{relay.url}/events", relay.admin()).until("ready")

    assert "psa_relay_consumers 2" in relay.http.get("/metrics").text


def test_two_consumers_see_the_same_state_changes_in_the_same_order(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    seqs = [relay.post_hook(notification(title=f"alert {i}")).json()["seq"] for i in range(3)]
    first = sse(f"{relay.url}/events", relay.admin())
    second = sse(f"{relay.url}/events", relay.admin())
    first.until("ready")
    second.until("ready")

    for seq in seqs:
        assert relay.change(seq, relay.admin(), action="claim").status_code == 200
    assert relay.change(seqs[1], relay.admin(), action="resolve").status_code == 200
    assert relay.change(seqs[0], relay.admin(), action="ack").status_code == 200

    seen_first = [first.next() for _ in range(5)]
    seen_second = [second.next() for _ in range(5)]
    assert seen_first == seen_second
    assert [(d["payload"]["target"], d["payload"]["action"]) for _, _, d in seen_first] == [  # type: ignore[index]
        (seqs[0], "claim"), (seqs[1], "claim"), (seqs[2], "claim"),
        (seqs[1], "resolve"), (seqs[0], "ack"),
    ]  # fmt: skip
    assert all(kind == "state" for _, kind, _ in seen_first)


def test_stream_is_filtered_to_the_session_scope(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    for_sa_1 = relay.post_hook(notification(title="in SA 1")).json()["seq"]
    for_sa_2 = relay.post_hook(notification(title="in SA 2")).json()["seq"]
    unmatched = relay.post_hook(notification(title="unmatched")).json()["seq"]
    relay.change(for_sa_1, relay.admin(), action="link", sa_ids=[1])
    relay.change(for_sa_2, relay.admin(), action="link", sa_ids=[2])

    technician = sse(f"{relay.url}/events", relay.login("tech1"))
    dispatcher = sse(f"{relay.url}/events", relay.login("disp1"))

    technician_seqs = _seqs(technician.until("ready"))
    dispatcher_seqs = _seqs(dispatcher.until("ready"))
    assert for_sa_1 in technician_seqs
    assert for_sa_2 not in technician_seqs and unmatched not in technician_seqs
    assert for_sa_1 in dispatcher_seqs and unmatched in dispatcher_seqs
    assert for_sa_2 not in dispatcher_seqs


def test_unmatched_live_events_reach_dispatchers_only(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    technician = sse(f"{relay.url}/events", relay.login("tech1"))
    dispatcher = sse(f"{relay.url}/events", relay.login("disp1"))
    technician.until("ready")
    dispatcher.until("ready")

    seq = relay.post_hook(notification()).json()["seq"]

    assert _seqs([dispatcher.next()]) == [seq]
    assert technician.messages.empty()


def test_json_pages_are_filtered_to_the_scope_too(relay: RunningRelay) -> None:
    mine = relay.post_hook(notification(title="mine")).json()["seq"]
    relay.post_hook(notification(title="not mine")).json()
    relay.change(mine, relay.admin(), action="link", sa_ids=[1])

    events = relay.events(relay.login("tech1"))

    # The alert itself (now in SA 1) and the link's state row.
    assert [(e["seq"], e["kind"]) for e in events] == [(mine, "alert"), (mine + 2, "state")]


def test_json_pages_respect_after_and_limit(relay: RunningRelay) -> None:
    seqs = [relay.post_hook(notification()).json()["seq"] for _ in range(5)]

    page = relay.http.get(
        "/api/events", params={"after": seqs[0], "limit": 2}, headers=relay.admin()
    ).json()

    assert [e["seq"] for e in page["events"]] == seqs[1:3]
    assert page["next_after"] == seqs[2]
    assert page["last_seq"] == seqs[-1]


def test_malformed_resume_point_is_400(relay: RunningRelay) -> None:
    response = relay.http.get("/events", headers={**relay.admin(), "last-event-id": "abc"})

    assert response.status_code == 400


def test_shutdown_ends_open_streams_so_the_relay_stops_promptly(
    relay_factory: Callable[..., RunningRelay], sse: Callable[..., SseReader]
) -> None:
    relay = relay_factory(authority=StaticAuthority(USERS))
    stream = sse(f"{relay.url}/events", relay.admin())
    stream.until("ready")

    relay.background.stop()

    _, kind, data = stream.next()
    assert (kind, data) == ("resync", {"after": 0, "reason": "shutdown"})
    assert not relay.background._thread.is_alive()


class _FramelessStore(SqliteEventStore):
    """Reports each commit by its last seq only, as a store that tails the file may."""

    def _deliver(self, committed: list[StoredEvent]) -> None:
        for listener in self._listeners:
            listener.advance(committed[-1].seq)


def test_rows_reported_without_frames_are_read_from_the_store_and_streamed_in_order(
    relay_factory: Callable[..., RunningRelay], sse: Callable[..., SseReader], tmp_path: Path
) -> None:
    relay = relay_factory(store=_FramelessStore(tmp_path / "frameless.sqlite3"))
    stream = sse(f"{relay.url}/events", relay.admin())
    stream.until("ready")

    posted = [relay.post_hook(notification(title=f"t{n}")).json()["seq"] for n in range(20)]

    received = [stream.next() for _ in posted]
    assert [int(seq) for seq, _, _ in received] == posted  # each once, in order
    assert {kind for _, kind, _ in received} == {"alert"}


def test_workers_sharing_one_file_stream_each_others_events(
    relay_factory: Callable[..., RunningRelay], sse: Callable[..., SseReader], tmp_path: Path
) -> None:
    # Two relays on one file in shared mode stand for two `psa relay --workers 2` processes.
    path = tmp_path / "shared.sqlite3"
    first = relay_factory(store=SqliteEventStore(path, shared=True))
    second = relay_factory(store=SqliteEventStore(path, shared=True))
    stream = sse(f"{first.url}/events", first.admin())
    stream.until("ready")

    posted = [
        (first if n % 2 else second).post_hook(notification(title=f"t{n}")).json()["seq"]
        for n in range(20)
    ]

    assert sorted(posted) == list(range(1, 21))
    received = [stream.next() for _ in posted]
    assert [int(seq) for seq, _, _ in received] == list(range(1, 21))
