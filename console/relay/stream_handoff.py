"""Event-stream connections handed from the ingest workers to one stream worker.

Why: with ``psa relay --workers N`` every worker used to serve both webhooks and event
streams. Each worker then read the whole log back (the rows the others wrote), built a frame
for every event, and wrote it to its share of the consumers, on the same event loop and
under the same GIL as the webhooks' group commit, which the workers take turns at. With 50
consumers that cost ingest ~32 % (bench/RESULTS.md, sessions 5–7). With one process that only
streams, the ingest workers never tail the log or touch a frame: the same bench loses ~16 %.

How: the supervisor gives the stream worker a Unix socket in a private directory, and each
ingest worker keeps one connection to it (``SOCK_SEQPACKET``: message boundaries, and no
datagram queue limit — Linux queues at most ``net.unix.max_dgram_qlen`` (10) datagrams, fewer
than a wall of consoles reconnecting at once). An ingest worker that reads ``GET /events`` at
the start of a connection (or on a kept-alive one with nothing else under way) sends the
request head and the connection's descriptor (``SCM_RIGHTS``) in one message and forgets the
connection; the stream worker adopts it as if it had accepted it and reads the head as the
first bytes received. The client sees one ordinary HTTP response. When the stream worker is
not there (starting, restarting, stopped) or cannot take more right now, the send fails at
once and the ingest worker serves the stream itself, as a single-process relay does — a
consumer is never refused for it.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

_log = logging.getLogger(__name__)

#: A request head larger than this is served where it arrived (one message carries it whole).
MAX_HEAD_BYTES: Final = 32 * 1024
#: After a failed hand-over, serve streams here for this long before trying again.
RETRY_AFTER_SECONDS: Final = 1.0


class StreamHandoff:
    """The ingest side: offers event-stream connections to the stream worker."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock: socket.socket | None = None
        self._down_until = 0.0
        #: connections handed over / served here because the hand-over failed
        self.handed = 0
        self.kept = 0

    def offer(self, fd: int, head: bytes) -> bool:
        """Send the connection ``fd`` with the request ``head`` already read from it.

        True: the stream worker has the connection now (close this process's descriptor
        without shutting the socket down). False: nothing was sent; serve the request here.
        """
        if len(head) > MAX_HEAD_BYTES or time.monotonic() < self._down_until:
            self.kept += 1
            return False
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
        try:
            sock = self._sock or self._connect()
            sock.sendmsg([head], rights, socket.MSG_NOSIGNAL)
        except (BlockingIOError, InterruptedError):
            self.kept += 1  # its queue is full for now: this one is served here
            return False
        except OSError as error:  # not there, or gone (restarting): try again in a while
            self.kept += 1
            self._disconnect()
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            _log.info("stream worker unavailable (%s); serving event streams here", error)
            return False
        self.handed += 1
        return True

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.connect(str(self.path))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        return sock

    def _disconnect(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def close(self) -> None:
        self._disconnect()


Adopt = Callable[[socket.socket, bytes], None]


class StreamReceiver:
    """The stream worker's side: adopts the connections the ingest workers send."""

    def __init__(self, path: Path, adopt: Adopt) -> None:
        self.path = path
        self._adopt = adopt
        self._listener: socket.socket | None = None
        self._senders: list[socket.socket] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.received = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Listen on the socket (replacing a stale one from a previous stream worker)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(str(self.path))
        listener.listen(64)
        listener.setblocking(False)
        self._listener = listener
        self._loop = loop
        loop.add_reader(listener.fileno(), self._accept)

    def _accept(self) -> None:
        listener, loop = self._listener, self._loop
        if listener is None or loop is None:
            return
        while True:
            try:
                sender, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # pragma: no cover - out of descriptors, say
                _log.warning("stream hand-over accept failed: %s", error)
                return
            sender.setblocking(False)
            self._senders.append(sender)
            loop.add_reader(sender.fileno(), self._readable, sender)

    def _readable(self, sender: socket.socket) -> None:
        while True:
            try:
                head, fds, flags, _ = socket.recv_fds(sender, MAX_HEAD_BYTES, 4)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                _log.warning("stream hand-over receive failed: %s", error)
                self._drop(sender)
                return
            if not head and not fds:
                self._drop(sender)  # the ingest worker stopped
                return
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) or len(fds) != 1:
                for fd in fds:
                    os.close(fd)  # nothing to answer on: the sender keeps no copy
                _log.warning("malformed stream hand-over (%d descriptors) dropped", len(fds))
                continue
            try:
                connection = socket.socket(fileno=fds[0])
            except OSError as error:
                os.close(fds[0])
                _log.warning("handed-over connection unusable: %s", error)
                continue
            self.received += 1
            self._adopt(connection, head)

    def _drop(self, sender: socket.socket) -> None:
        if self._loop is not None:
            self._loop.remove_reader(sender.fileno())
        with contextlib.suppress(ValueError):
            self._senders.remove(sender)
        sender.close()

    def stop(self) -> None:
        """Stop adopting: from now on the ingest workers serve event streams themselves."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        # unlink first: a new connection then fails at once instead of waiting to be accepted
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        if self._loop is not None:
            self._loop.remove_reader(listener.fileno())
        listener.close()
        # hand-overs already queued: their clients are closed and reconnect
        for sender in list(self._senders):
            while True:
                try:
                    _, fds, _, _ = socket.recv_fds(sender, MAX_HEAD_BYTES, 4)
                except OSError:
                    break
                if not fds:
                    break
                for fd in fds:
                    os.close(fd)
            self._drop(sender)
