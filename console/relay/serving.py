"""Serving a :class:`RelayApp` with uvicorn: bound sockets, ready signal, graceful shutdown.

uvicorn's graceful shutdown stops accepting, lets in-flight requests finish, then runs the
lifespan shutdown (which commits what the store still has queued). Event streams never finish
by themselves, so :class:`RelayServer` ends them first; otherwise every connected console
would hold the shutdown for the whole grace period. A stream worker (``stream_socket``) listens
on no TCP socket: it serves the event-stream connections the ingest workers hand it
(console/relay/stream_handoff.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, Self

import uvicorn

from console.relay.app import RelayApp
from console.relay.http_ingest import RelayHttpProtocol
from console.relay.stream_handoff import StreamReceiver


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one (read it back with ``getsockname``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def socket_url(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class RelayServer(uvicorn.Server):
    """uvicorn serving a relay: ends event streams before draining, signals readiness.

    ``handle_signals`` False leaves SIGINT/SIGTERM to the owner (tests, ``--demo`` threads).
    """

    def __init__(
        self,
        relay: RelayApp,
        *,
        log_level: str = "warning",
        graceful_seconds: float = 10.0,
        handle_signals: bool = True,
        on_ready: Callable[[], None] | None = None,
        stream_socket: Path | None = None,
    ) -> None:
        config = uvicorn.Config(
            relay,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=int(graceful_seconds),
            server_header=False,
            # Behind a reverse proxy, the proxy logs client addresses; skipping uvicorn's
            # proxy-headers middleware saves a wrapper call on every webhook.
            proxy_headers=False,
            # The ingest path answers small JSON bodies; keep-alive connections from Pulseway
            # or a load balancer are reused, idle ones closed after 30 s.
            timeout_keep_alive=30,
            # Webhooks are answered by the relay's own protocol; the rest goes through
            # uvicorn's httptools protocol and ASGI (console/relay/http_ingest.py).
            http=RelayHttpProtocol,
        )
        super().__init__(config)
        self.relay = relay
        self.ready = threading.Event()
        self._handle_signals = handle_signals
        self._on_ready = on_ready
        self._receiver = (
            StreamReceiver(stream_socket, self._adopt) if stream_socket is not None else None
        )
        self._adopting: set[asyncio.Task[None]] = set()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """uvicorn's signal handling, unless the owner handles signals."""
        if self._handle_signals:
            with super().capture_signals():
                yield
                # uvicorn re-raises the signal once drained, so the process would die "killed
                # by SIGTERM"; a requested, completed graceful stop is a clean exit (status 0)
                captured = getattr(self, "_captured_signals", None)
                if isinstance(captured, list):
                    captured.clear()
        else:
            yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start, then report readiness (also on failure: check ``started``)."""
        try:
            await super().startup(sockets=sockets)
            if self.started and self._receiver is not None:
                self._receiver.start(asyncio.get_running_loop())
        finally:
            self.ready.set()
        if self.started and self._on_ready is not None:
            self._on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """End event streams, then uvicorn's graceful shutdown."""
        if self._receiver is not None:
            self._receiver.stop()  # the ingest workers serve new streams from now on
        self.relay.begin_shutdown()
        await super().shutdown(sockets=sockets)

    def _adopt(self, connection: socket.socket, head: bytes) -> None:
        """A connection handed over by an ingest worker, served as if accepted here."""
        task = asyncio.get_running_loop().create_task(self._serve_adopted(connection, head))
        self._adopting.add(task)
        task.add_done_callback(self._adopting.discard)

    async def _serve_adopted(self, connection: socket.socket, head: bytes) -> None:
        config = self.config
        loop = asyncio.get_running_loop()

        def create_protocol() -> asyncio.Protocol:
            protocol: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=loop,
            )
            return protocol

        try:
            _, protocol = await loop.connect_accepted_socket(create_protocol, connection)
        except OSError as error:
            connection.close()
            logging.getLogger(__name__).warning("handed-over connection failed: %s", error)
            return
        protocol.data_received(head)


class BackgroundServing:
    """Serves a uvicorn server from a thread with its own event loop (tests, ``--demo``).

    ``server`` is a uvicorn server whose ``ready`` event is set once startup ended (check
    ``started``): :class:`RelayServer` here, the sandboxes' ``QuietServer``. ``start()``
    returns once it accepts connections; ``stop()`` shuts it down gracefully and waits.
    """

    def __init__(
        self, server: Any, host: str, port: int, *, name: str, stop_timeout: float
    ) -> None:
        self.sock = bind_socket(host, port)
        self.url = socket_url(self.sock)
        self.port: int = self.sock.getsockname()[1]
        self.server = server
        self._stop_timeout = stop_timeout
        self._thread = threading.Thread(target=self._run, name=f"{name}:{self.url}", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            # its own plain loop (a qasync policy in the console would hand out Qt loops,
            # which belong to the GUI thread)
            with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
                runner.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            self.server.ready.set()

    def start(self, timeout: float = 30.0) -> Self:
        """Start serving; raises if the server does not come up."""
        self._thread.start()
        if not self.server.ready.wait(timeout):
            raise TimeoutError(f"server at {self.url} did not start within {timeout}s")
        if not self.server.started:
            raise RuntimeError(f"server at {self.url} failed to start: {self._error!r}")
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Graceful shutdown; waits for the serving thread."""
        self.server.should_exit = True
        self._thread.join(self._stop_timeout if timeout is None else timeout)
        self.sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class BackgroundRelay(BackgroundServing):
    """A relay served from a background thread."""

    def __init__(self, relay: RelayApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.relay = relay
        server = RelayServer(relay, handle_signals=False, graceful_seconds=5)
        super().__init__(server, host, port, name="relay", stop_timeout=15.0)
