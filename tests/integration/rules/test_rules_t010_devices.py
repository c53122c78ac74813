"""Seed T010 through the relay: device events upsert x_client_asset by x_pulseway_id."""

from __future__ import annotations

from rules_support import RulesWorld, device_event, device_guid, seeded_device

from console.domain.names import ClientAsset

ASSET_FIELDS = [
    ClientAsset.NAME,
    ClientAsset.PARTNER,
    ClientAsset.OS_INFO,
    ClientAsset.SERIAL_NUMBER,
    ClientAsset.STATUS,
    ClientAsset.LAST_AUDIT,
    ClientAsset.PULSEWAY_GROUP,
    ClientAsset.PULSEWAY_ORG_ID,
]


def assets_of(rules: RulesWorld, device: str) -> list[dict]:
    return rules.read(ClientAsset.MODEL, [[ClientAsset.PULSEWAY_ID, "=", device]], ASSET_FIELDS)


def test_new_device_of_a_mapped_organization_becomes_an_asset_of_its_partner(
    rules: RulesWorld,
) -> None:
    device = device_guid()
    rules.append(
        device_event(
            "device.registered",
            device,
            hostname="ACME-NEW01",
            org_id=101,
            org_name="Acme Corporation",
            os="Windows 11 Pro",
            serial="PF3XK9A",
        )
    )
    rules.settle()
    [asset] = assets_of(rules, device)
    assert asset[ClientAsset.NAME] == "ACME-NEW01"
    assert asset[ClientAsset.PARTNER][0] == rules.ids["partners"]["acme"]
    assert asset[ClientAsset.OS_INFO] == "Windows 11 Pro"
    assert asset[ClientAsset.SERIAL_NUMBER] == "PF3XK9A"
    assert asset[ClientAsset.STATUS] == "active"
    assert asset[ClientAsset.LAST_AUDIT]
    assert asset[ClientAsset.PULSEWAY_ORG_ID] == 101


def test_device_of_an_organization_named_exactly_like_a_partner_is_linked_to_it(
    rules: RulesWorld,
) -> None:
    device = device_guid()
    rules.append(
        device_event(
            "device.registered", device, hostname="GLOBEX-NEW", org_id=3003, org_name="Globex"
        )
    )
    rules.settle()
    [asset] = assets_of(rules, device)
    assert asset[ClientAsset.PARTNER][0] == rules.ids["partners"]["globex"]


def test_known_device_update_overwrites_odoo_edits_but_keeps_the_partner_a_person_set(
    rules: RulesWorld,
) -> None:
    device = seeded_device(1)  # ACME-WS01 of Acme Corp
    asset_id = rules.ids["assets"]["acme_ws"]
    # a person moves the asset to another client and edits Pulseway-owned facts in Odoo
    rules.write(
        ClientAsset.MODEL,
        [asset_id],
        {
            ClientAsset.PARTNER: rules.ids["partners"]["globex"],
            ClientAsset.OS_INFO: "typed by hand",
            ClientAsset.NAME: "renamed-in-odoo",
        },
    )
    rules.append(
        device_event(
            "device.changed",
            device,
            hostname="ACME-WS01",
            org_id=101,
            org_name="Acme Corporation",
            os="Windows 11 Pro 24H2",
        )
    )
    rules.settle()
    [asset] = assets_of(rules, device)
    assert asset["id"] == asset_id
    assert asset[ClientAsset.NAME] == "ACME-WS01"
    assert asset[ClientAsset.OS_INFO] == "Windows 11 Pro 24H2"
    assert asset[ClientAsset.PARTNER][0] == rules.ids["partners"]["globex"]


def test_device_of_an_unknown_group_makes_no_asset_and_waits_in_the_unmatched_queue(
    rules: RulesWorld,
) -> None:
    device = device_guid()
    rules.append(
        device_event(
            "device.registered",
            device,
            hostname="DMS-WS01",
            org_id=555,
            org_name="Dunder Mifflin Stamford",
            serial="DM-555",
        )
    )
    rules.settle()
    assert assets_of(rules, device) == []
    group = rules.group("org:555")
    assert group is not None
    assert group["organization_name"] == "Dunder Mifflin Stamford"
    assert group["device_count"] == 1
    assert group["devices"][0]["hostname"] == "DMS-WS01"
    assert group["devices"][0]["serial"] == "DM-555"
    assert "no partner" in group["reason"]


def test_device_removed_decommissions_the_asset_and_never_deletes_it(rules: RulesWorld) -> None:
    device = seeded_device(2)  # ACME-SRV01
    rules.append(
        device_event(
            "device.removed", device, hostname="ACME-SRV01", org_id=101, org_name="Acme Corporation"
        )
    )
    rules.settle()
    [asset] = assets_of(rules, device)
    assert asset["id"] == rules.ids["assets"]["acme_srv"]
    assert asset[ClientAsset.STATUS] == "decommissioned"


def test_first_inventory_of_many_devices_is_written_in_a_few_batched_calls(
    start_rules,  # type: ignore[no-untyped-def]
) -> None:
    rules = start_rules(batch_size=200)
    rules.settle()
    before = rules.worker.rpc_count
    for number in range(150):
        rules.append(
            device_event(
                "device.registered",
                device_guid(),
                hostname=f"ACME-BULK{number:03d}",
                org_id=101,
                org_name="Acme Corporation",
            )
        )
    rules.settle()
    created = rules.read(ClientAsset.MODEL, [[ClientAsset.NAME, "like", "ACME-BULK"]], ["id"])
    assert len(created) == 150
    # assets of one run are looked up and created together, not one call per device
    assert rules.worker.rpc_count - before < 40
