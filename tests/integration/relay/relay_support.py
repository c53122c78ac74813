"""Helpers for the relay's integration tests: signing, bodies, test users, SSE reading,
running `psa relay` as a process."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from console.domain.alerts import alert_dedupe_key
from console.relay.app import RelayApp
from console.relay.client import SseParser
from console.relay.config import RelayConfig
from console.relay.events import IncomingEvent
from console.relay.serving import BackgroundRelay
from console.relay.sessions import Principal
from tests.sessions_support import StaticAuthority as StaticAuthority  # for the relay tests

REPO = Path(__file__).resolve().parents[3]
SECRET = "0" * 64
ADMIN_TOKEN = "admin-token-for-tests"

_ids = itertools.count(10_000)


def sign(body: bytes, secret: str = SECRET) -> str:
    """x-hmac-signature as Pulseway computes it (UTF-8 key)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def notification(
    notification_id: int | None = None,
    *,
    title: str = "Low disk space",
    device: str = "8f3c2a1d-4b5e-6f70-8192-a3b4c5d6e7f8",
    priority: str = "Critical",
    **extra: Any,
) -> dict[str, Any]:
    """A documented Pulseway notification body with a fresh Id unless given."""
    body: dict[str, Any] = {
        "Id": next(_ids) if notification_id is None else notification_id,
        "Title": title,
        "Message": f"The free space on disk drive C: is below 9% ({title}).",
        "DateTime": "2025-06-03T16:15:02Z",
        "Priority": priority,
        "DeviceIdentifier": device,
        "OrganizationId": "4821",
    }
    body.update(extra)
    return body


def incoming_alert(
    external_id: str, title: str = "Low disk space", device: str = "dev-1"
) -> IncomingEvent:
    """A Pulseway alert as the webhook hands it to a store (for store-level tests)."""
    return IncomingEvent(
        source="pulseway",
        kind="alert",
        external_id=external_id,
        title=title,
        device_id=device,
        priority="Critical",
        dedupe_key=alert_dedupe_key("pulseway", device, title),
        payload={"Id": external_id},
    )


TECHNICIAN_SA_1 = Principal("tech1", 7, "Tech One", (1,), ("technician",), sees_unmatched=False)
TECHNICIAN_SA_2 = Principal("tech2", 8, "Tech Two", (2,), ("technician",), sees_unmatched=False)
DISPATCHER_SA_1 = Principal("disp1", 9, "Dispatch One", (1,), ("dispatcher",), sees_unmatched=True)
USERS = {p.login: ("secret", p) for p in (TECHNICIAN_SA_1, TECHNICIAN_SA_2, DISPATCHER_SA_1)}


@dataclass
class RunningRelay:
    """A relay served on loopback plus what tests need to talk to it."""

    url: str
    app: RelayApp
    config: RelayConfig
    background: BackgroundRelay
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def post_hook(
        self,
        body: dict[str, Any] | bytes,
        *,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"content-type": "application/json", "x-hmac-signature": signature or sign(raw)}
        sent.update(headers or {})
        return self.http.post("/hooks/pulseway", content=raw, headers=sent)

    def admin(self) -> dict[str, str]:
        return {"authorization": f"Bearer {ADMIN_TOKEN}"}

    def login(self, login: str) -> dict[str, str]:
        response = self.http.post("/api/session", json={"login": login, "password": "secret"})
        assert response.status_code == 200, response.text
        return {"authorization": f"Bearer {response.json()['token']}"}

    def events(self, headers: dict[str, str], after: int = 0) -> list[dict[str, Any]]:
        response = self.http.get(
            "/api/events", params={"after": after, "limit": 5000}, headers=headers
        )
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    def change(self, seq: int, headers: dict[str, str], **body: Any) -> httpx.Response:
        return self.http.post(f"/api/events/{seq}/state", json=body, headers=headers)


class SseReader:
    """Reads an SSE response on a thread; messages arrive on a queue (no sleeps in tests)."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        params: dict[str, Any] | None = None,
    ) -> None:
        self.messages: queue.Queue[tuple[str | None, str, Any]] = queue.Queue()
        self.comments: queue.Queue[str] = queue.Queue()
        self.status: int | None = None
        self._socket: socket.socket | None = None
        self._ready = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=30))
        self._thread = threading.Thread(
            target=self._run, args=(url, headers, params or {}), daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("stream did not answer")

    def _run(self, url: str, headers: dict[str, str], params: dict[str, Any]) -> None:
        try:
            with self._client.stream("GET", url, headers=headers, params=params) as response:
                self.status = response.status_code
                stream = response.extensions.get("network_stream")
                self._socket = stream.get_extra_info("socket") if stream else None
                self._ready.set()
                parser = SseParser()
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments.put(line)
                        continue
                    message = parser.feed_line(line)
                    if message is not None:
                        event_id, kind, data = message
                        self.messages.put((event_id, kind, json.loads(data)))
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self._ready.set()
            self.messages.put((None, "closed", None))

    def next(self, timeout: float = 10) -> tuple[str | None, str, Any]:
        return self.messages.get(timeout=timeout)

    def until(self, kind: str, timeout: float = 10) -> list[tuple[str | None, str, Any]]:
        """Messages before the first of ``kind`` (which is appended last)."""
        seen = []
        while True:
            message = self.next(timeout)
            seen.append(message)
            if message[1] == kind:
                return seen
            if message[1] == "closed":
                raise AssertionError(f"stream closed before {kind!r}: {seen}")

    def close(self) -> None:
        """End the stream now: shut the socket down under the blocked reader thread."""
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)
        self._client.close()


@dataclass
class RelayProcess:
    """`psa relay` as a real process (for kill -9 and resource-limit tests)."""

    process: subprocess.Popen[str]
    url: str

    def kill(self) -> None:
        """SIGKILL the relay and every worker process it started (its process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_relay_process(
    db: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    config_dir: Path | None = None,
) -> RelayProcess:
    """Run `python -m console.cli relay` on a free port and wait for its ready line."""
    config = (config_dir or db.parent) / "relay.toml"
    config.touch()
    full_env = {
        **os.environ,
        "PSA_RELAY_HOOK_SECRET": SECRET,
        "PSA_RELAY_ADMIN_TOKEN": ADMIN_TOKEN,
        "PSA_RELAY_LOG_LEVEL": "warning",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "relay", "--port", "0", "--db", str(db),
         "--config", str(config), "--workers", str(workers)],
        cwd=REPO, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=preexec_fn, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: lines.put(process.stdout.readline()),  # type: ignore[union-attr]
        daemon=True,
    ).start()
    try:
        line = lines.get(timeout=60)
    except queue.Empty:
        process.kill()
        raise TimeoutError("psa relay did not print its ready line within 60s") from None
    if not line:
        _, err = process.communicate(timeout=10)
        raise RuntimeError(f"psa relay exited with {process.returncode}: {err}")
    return RelayProcess(process, json.loads(line)["url"])


def provision_sa_models(odoo_url: str, db: str = "psa") -> Any:
    """Create x_sa / x_sa_membership (DESIGN §6) in a sandbox Odoo over RPC, as admin.

    Stands in for `psa provision` (a later issue) with just what the relay reads.
    """
    import urllib.parse

    import odoorpc

    parsed = urllib.parse.urlparse(odoo_url)
    odoo = odoorpc.ODOO(parsed.hostname, port=parsed.port)
    odoo.login(db, "admin", "admin")
    fields, access = odoo.env["ir.model.fields"], odoo.env["ir.model.access"]
    sa_model = odoo.env["ir.model"].create({"name": "Serviced Account", "model": "x_sa"})
    fields.create(
        {
            "model_id": sa_model,
            "name": "x_parent_id",
            "ttype": "many2one",
            "relation": "x_sa",
            "field_description": "Parent",
        }
    )
    membership = odoo.env["ir.model"].create({"name": "SA membership", "model": "x_sa_membership"})
    fields.create(
        {
            "model_id": membership,
            "name": "x_user_id",
            "ttype": "many2one",
            "relation": "res.users",
            "field_description": "User",
        }
    )
    fields.create(
        {
            "model_id": membership,
            "name": "x_sa_id",
            "ttype": "many2one",
            "relation": "x_sa",
            "field_description": "SA",
        }
    )
    fields.create(
        {
            "model_id": membership,
            "name": "x_role",
            "ttype": "selection",
            "selection": "[('technician','Technician'),('dispatcher','Dispatcher'),"
            "('manager','Manager')]",
            "field_description": "Role",
        }
    )
    system = odoo.env.ref("base.group_system").id
    for model in (sa_model, membership):
        access.create(
            {
                "name": f"relay test access {model}",
                "model_id": model,
                "group_id": system,
                "perm_read": True,
                "perm_write": True,
                "perm_create": True,
                "perm_unlink": True,
            }
        )
    return odoo
