"""Serving the sandboxes' ASGI apps on loopback: bound sockets, quiet uvicorn, background threads.

``psa sandbox``, ``psa console --demo`` and the tests all need "serve this app on a free port and
tell me the URL once it is listening"; this module is that one piece.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Generator
from typing import Any

import uvicorn

# one implementation of "listen on loopback, port 0 = any" for the relay and the sandboxes
from console.relay.serving import BackgroundServing, bind_socket, socket_url

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


class BackgroundServer(BackgroundServing):
    """A sandbox's ASGI app served from a background thread (tests, the console's --demo)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        super().__init__(make_server(app), host, port, name="serve", stop_timeout=10.0)
