"""Typed views of the Pulseway samples (reference §2, samples/)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from console.pulseway import (
    Asset,
    Device,
    Organization,
    PulsewayProtocolError,
    Webhook,
    device_key,
)
from console.pulseway.models import CustomField
from tests.samples import SAMPLES


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())["Data"]


def test_asset_serial_comes_from_bios_not_from_the_operating_system() -> None:
    asset = Asset.from_api(sample("pulseway_asset_detail.json"))
    assert asset.serial_number == "7XK2Q93"
    assert asset.os_name == "Windows Server 2022 Standard"
    assert asset.os_version == "10.0.20348.0"
    assert (asset.manufacturer, asset.model) == ("Dell Inc.", "PowerEdge R650")


def test_asset_last_seen_is_parsed_and_empty_strings_are_tolerated() -> None:
    asset = Asset.from_api(sample("pulseway_asset_detail.json"))
    assert asset.last_seen_online is not None
    assert asset.last_seen_online.isoformat() == "2025-06-03T16:14:55+00:00"
    assert asset.raw["LastUpdated"] == ""


def test_asset_without_asset_info_falls_back_to_the_description_for_os() -> None:
    asset = Asset.from_api({"Identifier": "A", "Description": "Ubuntu 22.04", "AssetInfo": []})
    assert asset.os_name == "Ubuntu 22.04" and asset.serial_number is None


def test_device_list_items_have_no_os_or_online_state() -> None:
    devices = [Device.from_api(item) for item in sample("pulseway_devices_page.json")]
    assert [d.name for d in devices] == ["ACME-SRV-01", "ACME-WKS-014"]
    assert devices[0].organization_id == 4821 and devices[0].group_id == 6980
    assert devices[0].description is None and devices[0].is_online is None


def test_device_detail_adds_the_os_caption_and_online_state() -> None:
    device = Device.from_api(sample("pulseway_device_detail.json"))
    assert device.description == "Windows Server 2022 Standard"
    assert device.is_online is True and device.computer_type == "windows"


def test_device_keys_compare_guids_case_insensitively() -> None:
    item = sample("pulseway_device_detail.json")
    upper = Device.from_api({**item, "Identifier": item["Identifier"].upper()})
    assert upper.key == Device.from_api(item).key == device_key(" " + item["Identifier"] + " ")


def test_organizations_carry_the_psa_mapping() -> None:
    organizations = [Organization.from_api(item) for item in sample("pulseway_organizations.json")]
    assert [(o.id, o.psa_mapping_type) for o in organizations] == [(4821, None), (4822, "AutoTask")]


@pytest.mark.parametrize("identifier", [None, "", 12])
def test_device_without_an_identifier_is_a_protocol_error(identifier: object) -> None:
    with pytest.raises(PulsewayProtocolError):
        Device.from_api({"Identifier": identifier, "Name": "X"})


def test_organization_with_a_non_numeric_id_is_a_protocol_error() -> None:
    with pytest.raises(PulsewayProtocolError):
        Organization.from_api({"Id": "four", "Name": "X"})


def test_custom_field_accepts_context_or_contexts() -> None:
    singular = CustomField.from_api({"Id": 1, "Name": "A", "Type": "Text", "Context": "Device"})
    plural = CustomField.from_api(
        {"Id": 2, "Name": "B", "Type": "Text", "Contexts": ["Organization", "Site"]}
    )
    assert singular.contexts == ("Device",)
    assert plural.contexts == ("Organization", "Site")


def test_webhook_from_a_get_answer_has_no_secret() -> None:
    webhook = Webhook.from_api(
        {
            "Id": 3,
            "Name": "relay",
            "Url": "https://x",
            "Priorities": ["Critical"],
            "OrganizationIds": None,
        }
    )
    assert webhook.secret_key is None and webhook.organization_ids is None
