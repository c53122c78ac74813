"""Serving the sandboxes' ASGI apps on loopback: bound sockets, quiet uvicorn, background threads.

``psa sandbox``, ``psa console --demo`` and the tests all need "serve this app on a free port and
tell me the URL once it is listening"; this module is that one piece.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Generator
from typing import Any

import uvicorn

# one implementation of "listen on loopback, port 0 = any" for the relay and the sandboxes
from console.relay.serving import bind_socket, socket_url

__all__ = ["BackgroundServer", "QuietServer", "bind_socket", "make_server", "socket_url"]


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its owner.

    Several servers share one loop in ``psa sandbox``; each uvicorn server would otherwise
    install its own SIGINT handler and only the last one would see Ctrl+C.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        #: set once the sockets accept connections (or startup failed: check ``started``)
        self.ready = threading.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


def make_server(app: Any, *, log_level: str = "warning") -> QuietServer:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="auto",
        timeout_graceful_shutdown=5,
    )
    return QuietServer(config)


class BackgroundServer:
    """Serves an ASGI app from a thread with its own event loop (tests, the console's --demo).

    ``start()`` returns once the server accepts connections; ``stop()`` shuts it down gracefully.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.sock = bind_socket(host, port)
        self.url = socket_url(self.sock)
        self.port: int = self.sock.getsockname()[1]
        self._server = make_server(app)
        self._thread = threading.Thread(target=self._run, name=f"serve:{self.url}", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            # a plain asyncio loop of its own: in the console, the thread's default policy
            # would otherwise hand out qasync loops, which belong to the GUI thread
            with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
                runner.run(self._server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            self._server.ready.set()

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self._thread.start()
        if not self._server.ready.wait(timeout):
            raise TimeoutError(f"server for {self.url} did not start within {timeout}s")
        if not self._server.started:
            raise RuntimeError(f"server for {self.url} failed to start: {self._error!r}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
