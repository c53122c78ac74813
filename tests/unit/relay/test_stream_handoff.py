"""Hand-over of event-stream connections over a Unix socket (stream_handoff.py),
with real sockets: the adopted descriptor is the same connection the client holds."""

from __future__ import annotations

import array
import asyncio
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.relay.stream_handoff import StreamHandoff, StreamReceiver

HEAD = b"GET /events HTTP/1.1\r\nhost: relay\r\n\r\n"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # a Unix socket path has ~107 bytes; pytest's tmp paths can be longer
    with tempfile.TemporaryDirectory(prefix="psa-") as name:
        yield Path(name)


async def _adopted(
    receiver_path: Path, send: list[tuple[bytes, list[int]]]
) -> list[tuple[socket.socket, bytes]]:
    """Send raw messages to a receiver; what it adopted."""
    loop = asyncio.get_running_loop()
    adopted: list[tuple[socket.socket, bytes]] = []
    arrived = asyncio.Event()

    def adopt(connection: socket.socket, head: bytes) -> None:
        adopted.append((connection, head))
        arrived.set()

    receiver = StreamReceiver(receiver_path, adopt)
    receiver.start(loop)
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        raw.connect(str(receiver_path))
        for data, fds in send:
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
            raw.sendmsg([data], rights)
        async with asyncio.timeout(5):
            while len(adopted) < sum(1 for _, fds in send if len(fds) == 1):
                arrived.clear()
                await arrived.wait()
    finally:
        raw.close()
        receiver.stop()
    return adopted


def test_an_offered_connection_is_adopted_with_its_head(short_dir: Path) -> None:
    path = short_dir / "streams.sock"
    client, server_side = socket.socketpair()

    async def scenario() -> list[tuple[socket.socket, bytes]]:
        loop = asyncio.get_running_loop()
        adopted: list[tuple[socket.socket, bytes]] = []
        arrived = asyncio.Event()
        receiver = StreamReceiver(path, lambda c, h: (adopted.append((c, h)), arrived.set()))
        receiver.start(loop)
        handoff = StreamHandoff(path)
        try:
            assert handoff.offer(server_side.fileno(), HEAD)
            server_side.close()  # the ingest worker forgets it: the adopted copy lives on
            async with asyncio.timeout(5):
                await arrived.wait()
        finally:
            receiver.stop()
            handoff.close()
        assert (handoff.handed, handoff.kept, receiver.received) == (1, 0, 1)
        return adopted

    [(connection, head)] = asyncio.run(scenario())
    assert head == HEAD
    connection.sendall(b"HTTP/1.1 200 OK\r\n\r\n")  # answered from the adopting process
    assert client.recv(100) == b"HTTP/1.1 200 OK\r\n\r\n"
    client.sendall(b"ping")
    assert connection.recv(4) == b"ping"
    connection.close()
    assert client.recv(1) == b""  # the last descriptor closed: the client sees the end
    client.close()


def test_without_a_stream_worker_the_offer_fails_and_waits_before_trying_again(
    short_dir: Path,
) -> None:
    path = short_dir / "streams.sock"
    client, server_side = socket.socketpair()
    handoff = StreamHandoff(path)

    assert handoff.offer(server_side.fileno(), HEAD) is False
    # within the retry window, later offers fail without a send (even once it is back)
    loop = asyncio.new_event_loop()
    receiver = StreamReceiver(path, lambda c, h: None)
    receiver.start(loop)
    try:
        assert handoff.offer(server_side.fileno(), HEAD) is False
        assert (handoff.handed, handoff.kept, receiver.received) == (0, 2, 0)
    finally:
        receiver.stop()
        handoff.close()
        loop.close()
    client.sendall(b"still ours")  # nothing was taken from the connection
    assert server_side.recv(10) == b"still ours"
    client.close()
    server_side.close()


def test_a_head_too_large_for_one_datagram_is_kept(short_dir: Path) -> None:
    handoff = StreamHandoff(short_dir / "streams.sock")
    assert handoff.offer(0, b"x" * 40_000) is False
    assert handoff.kept == 1
    handoff.close()


def test_malformed_hand_overs_are_dropped_and_the_next_one_is_adopted(short_dir: Path) -> None:
    path = short_dir / "streams.sock"
    one, one_peer = socket.socketpair()
    two, two_peer = socket.socketpair()
    try:
        adopted = asyncio.run(
            _adopted(
                path,
                [
                    (b"no descriptor", []),
                    (b"two descriptors", [one_peer.fileno(), two_peer.fileno()]),
                    (HEAD, [two_peer.fileno()]),
                ],
            )
        )
        assert [head for _, head in adopted] == [HEAD]
        adopted[0][0].sendall(b"ok")
        assert two.recv(2) == b"ok"
        adopted[0][0].close()
    finally:
        for sock in (one, one_peer, two, two_peer):
            sock.close()


def test_stopping_closes_queued_hand_overs_and_removes_the_socket(short_dir: Path) -> None:
    path = short_dir / "streams.sock"
    client, server_side = socket.socketpair()
    loop = asyncio.new_event_loop()
    receiver = StreamReceiver(path, lambda c, h: None)
    receiver.start(loop)  # the loop never runs: the hand-over stays queued
    handoff = StreamHandoff(path)
    assert handoff.offer(server_side.fileno(), HEAD)
    server_side.close()

    receiver.stop()

    assert not path.exists()
    assert client.recv(1) == b""  # the queued copy was closed: the client reconnects
    assert handoff.offer(client.fileno(), HEAD) is False
    handoff.close()
    client.close()
    loop.close()
