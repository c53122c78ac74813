"""The rules worker on the PostgreSQL store (several relays): the same log, the same tickets."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import device_event, device_guid, seeded_device, start_rules_relay

from console.domain.names import ClientAsset, HelpdeskTicket
from console.relay.postgres_store import PostgresEventStore
from console.sandbox.odoo.orm import Database

pytestmark = pytest.mark.postgres


def test_the_rules_worker_applies_the_log_of_a_postgres_store(
    odoo_world: tuple[Database, dict[str, dict[str, int]], str], dsn: str, tmp_path: Path
) -> None:
    database, ids, url = odoo_world
    world = start_rules_relay(
        database, ids, url, tmp_path / "unused.sqlite3", store=PostgresEventStore(dsn)
    )
    try:
        new_device = device_guid()
        world.append(
            device_event(
                "device.registered", new_device, hostname="ACME-NEW-01", org_id=101, org_name="Acme"
            )
        )
        world.post_alert(seeded_device(1), "Disk failing")
        world.post_alert(seeded_device(1), "Disk failing")  # a repeat: the same ticket
        world.settle()

        tickets = world.read(
            HelpdeskTicket.MODEL,
            [[HelpdeskTicket.ALERT_KEY, "!=", False]],
            [HelpdeskTicket.NAME, HelpdeskTicket.ALERT_COUNT],
        )
        assert [(t[HelpdeskTicket.NAME], t[HelpdeskTicket.ALERT_COUNT]) for t in tickets] == [
            ("Alert: Disk failing", 2)
        ]
        [asset] = world.read(
            ClientAsset.MODEL, [[ClientAsset.PULSEWAY_ID, "=", new_device]], [ClientAsset.NAME]
        )
        assert asset[ClientAsset.NAME] == "ACME-NEW-01"
    finally:
        world.close()
        world.background.stop()
