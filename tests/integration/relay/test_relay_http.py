"""The relay's own HTTP/1.1 protocol (console/relay/http_ingest.py), spoken to with raw bytes.

Webhooks are answered by the protocol itself; any other request hands the connection to
uvicorn. These tests check what a client of a web server relies on: pipelined answers in
order, the hand-over in the middle of a connection, chunked bodies, ``Expect:
100-continue``, ``Connection: close`` and HTTP/1.0, refusals that close, malformed requests.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from relay_support import RunningRelay, notification, sign

HOOK = b"/hooks/pulseway"


def hook_request(
    notification_id: int,
    *,
    headers: dict[str, str] | None = None,
    chunked: bool = False,
    version: bytes = b"1.1",
) -> bytes:
    body = json.dumps(notification(notification_id, title=f"t{notification_id}")).encode()
    head = {
        "Host": "relay",
        "Content-Type": "application/json",
        "X-Hmac-Signature": sign(body),
        **(headers or {}),
    }
    if chunked:
        head["Transfer-Encoding"] = "chunked"
        middle = len(body) // 2
        payload = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:middle], body[middle:])
        )
        payload += b"0\r\n\r\n"
    else:
        head["Content-Length"] = str(len(body))
        payload = body
    lines = b"".join(f"{name}: {value}\r\n".encode() for name, value in head.items())
    return b"POST " + HOOK + b" HTTP/" + version + b"\r\n" + lines + b"\r\n" + payload


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> dict[str, object]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data


class RawConnection:
    """One TCP connection; reads answers that carry a Content-Length."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def read_head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"connection closed mid-answer: {self.buffer!r}"
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers

    def read(self) -> Answer:
        status, headers = self.read_head()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            assert self._fill(), "connection closed mid-body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(status, headers, body)

    def closed_by_server(self) -> bool:
        try:
            return not self.buffer and not self._fill()
        except ConnectionResetError:
            return True


@pytest.fixture
def connect(relay: RunningRelay) -> Iterator[Callable[[], RawConnection]]:
    opened: list[RawConnection] = []

    def open_one() -> RawConnection:
        connection = RawConnection(relay.url)
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        connection.sock.close()


@contextmanager
def _no_leftovers(connection: RawConnection) -> Iterator[RawConnection]:
    yield connection
    assert connection.buffer == b"", "the server sent more than the answers asked for"


def test_pipelined_webhooks_are_answered_in_order(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    connection = connect()
    connection.send(b"".join(hook_request(700 + i) for i in range(5)))
    with _no_leftovers(connection):
        answers = [connection.read() for _ in range(5)]
    assert [a.status for a in answers] == [202] * 5
    seqs = [a.json()["seq"] for a in answers]
    assert seqs == sorted(seqs)
    stored = {e["external_id"]: e["seq"] for e in relay.events(relay.admin())}
    assert [stored[str(700 + i)] for i in range(5)] == seqs
    assert all(a.headers["content-type"] == "application/json" for a in answers)
    assert all("date" in a.headers for a in answers)


def test_other_requests_on_a_webhook_connection_go_to_the_app_in_order(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    connection = connect()
    # webhook, health check and webhook again, pipelined: the connection changes hands in
    # the middle and the answers still come back in request order
    connection.send(
        hook_request(801) + b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n" + hook_request(802)
    )
    first, health, third = connection.read(), connection.read(), connection.read()
    assert first.status == 202 and third.status == 202
    assert health.status == 200 and health.json()["status"] == "ok"
    assert third.json()["seq"] == int(str(first.json()["seq"])) + 1
    # later requests on the same connection still work (through uvicorn now)
    connection.send(b"GET /api/events?after=0 HTTP/1.1\r\nHost: relay\r\n"
                    b"Authorization: Bearer " + relay.admin()["authorization"].split()[1].encode()
                    + b"\r\n\r\n")  # fmt: skip
    listed = connection.read()
    assert listed.status == 200
    assert [e["external_id"] for e in listed.json()["events"]] == ["801", "802"]  # type: ignore[union-attr]


def test_chunked_webhook_body_is_stored(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    connection = connect()
    connection.send(hook_request(901, chunked=True))
    answer = connection.read()
    assert answer.status == 202, answer.body
    assert relay.events(relay.admin())[-1]["external_id"] == "901"


def test_chunked_body_to_the_app_is_passed_on(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    connection = connect()
    body = json.dumps({"login": "tech1", "password": "secret"}).encode()
    connection.send(
        b"POST /api/session HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (5, body[:5])
        + b"%x\r\n%s\r\n" % (len(body) - 5, body[5:])
        + b"0\r\n\r\n"
    )
    answer = connection.read()
    assert answer.status == 200, answer.body
    assert "token" in answer.json()


def test_expect_100_continue_is_honoured(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    connection = connect()
    request = hook_request(1001, headers={"Expect": "100-continue"})
    head, body = request.split(b"\r\n\r\n", 1)
    connection.send(head + b"\r\n\r\n")
    status, _ = connection.read_head()
    assert status == 100
    connection.send(body)
    assert connection.read().status == 202


def test_declared_oversize_body_is_refused_before_it_is_sent_and_the_connection_closes(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    connection = connect()
    connection.send(
        b"POST /hooks/pulseway HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000\r\nExpect: 100-continue\r\n\r\n"
    )
    answer = connection.read()
    assert answer.status == 413
    assert answer.headers["connection"] == "close"
    assert connection.closed_by_server()


def test_oversize_chunked_body_is_refused_while_it_arrives(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    connection = connect()
    piece = b"x" * 65536
    connection.send(
        b"POST /hooks/pulseway HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    try:
        for _ in range(6):  # 384 KiB > 256 KiB
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the relay may close before the client has sent everything
    answer = connection.read()
    assert answer.status == 413
    assert answer.headers["connection"] == "close"


def test_connection_close_and_http_10_end_the_connection_after_the_answer(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    closing = connect()
    closing.send(hook_request(1101, headers={"Connection": "close"}))
    answer = closing.read()
    assert answer.status == 202
    assert answer.headers["connection"] == "close"
    assert closing.closed_by_server()

    old = connect()
    old.send(hook_request(1102, version=b"1.0"))
    assert old.read().status == 202
    assert old.closed_by_server()


def test_malformed_request_gets_400_and_the_connection_closes(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    connection = connect()
    connection.send(hook_request(1201) + b"THIS IS NOT HTTP\r\n\r\n")
    assert connection.read().status == 202  # the request before the garbage is answered
    answer = connection.read()
    assert answer.status == 400
    assert connection.closed_by_server()


def test_wrong_method_is_405_and_the_connection_stays_usable(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    connection = connect()
    connection.send(b"PUT /hooks/pulseway HTTP/1.1\r\nHost: relay\r\nContent-Length: 2\r\n\r\n{}")
    answer = connection.read()
    assert answer.status == 405
    assert answer.headers["allow"] == "POST"
    connection.send(hook_request(1301))
    assert connection.read().status == 202


def test_query_string_on_the_hook_path_is_still_the_hook(
    relay: RunningRelay, connect: Callable[[], RawConnection]
) -> None:
    connection = connect()
    request = hook_request(1401).replace(HOOK + b" ", HOOK + b"?source=pulseway ", 1)
    connection.send(request)
    assert connection.read().status == 202


def test_webhooks_skip_asgi_until_the_connection_is_handed_over(
    relay: RunningRelay, connect: Callable[[], RawConnection], monkeypatch: pytest.MonkeyPatch
) -> None:
    through_asgi: list[bytes] = []
    original = relay.app._ingest

    async def counting(scope, receive, send):  # type: ignore[no-untyped-def]
        through_asgi.append(scope["path"].encode())
        await original(scope, receive, send)

    monkeypatch.setattr(relay.app, "_ingest", counting)
    connection = connect()
    connection.send(hook_request(1501) + hook_request(1502))
    assert [connection.read().status for _ in range(2)] == [202, 202]
    assert through_asgi == []  # answered by the relay's protocol
    connection.send(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n" + hook_request(1503))
    assert [connection.read().status for _ in range(2)] == [200, 202]
    assert through_asgi == [HOOK]  # after the hand-over, uvicorn and ASGI carry it


def test_a_failure_inside_the_relay_is_a_500_and_the_connection_survives(
    relay: RunningRelay, connect: Callable[[], RawConnection], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    connection = connect()
    with monkeypatch.context() as patch:
        patch.setattr(relay.app.ingest, "take", broken)
        connection.send(hook_request(1601))
        answer = connection.read()
    assert answer.status == 500
    assert "internal error" in str(answer.json()["error"])
    connection.send(hook_request(1601))  # Pulseway retries; now it goes through
    assert connection.read().status == 202
