"""The Pulseway v3 stand-in and the Pulseway client, against each other over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from standins_support import TOKEN_ID, TOKEN_SECRET, FakeClock, serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.pulseway import (
    PulsewayAuthError,
    PulsewayClient,
    PulsewayNotFoundError,
    PulsewayRateLimitedError,
    PulsewayRequestError,
    PulsewayUnsupportedError,
    RetryPolicy,
    verify_signature,
)
from console.sandbox.pulseway import create_pulseway_app
from console.sandbox.pulseway_webhooks import DeliveryPolicy
from console.sandbox.ratelimit import RateLimit
from console.sandbox.world import ODOO_PARTNER_FIELD_ID, World

pytestmark = pytest.mark.anyio

from tests.samples import SAMPLES  # noqa: E402

FAST_RETRY = DeliveryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def pulseway(world: World) -> Iterator[str]:
    """Base URL (…/v3) of a stand-in without rate limits."""
    app = create_pulseway_app(
        world,
        token_id=TOKEN_ID,
        token_secret=TOKEN_SECRET,
        rate_limits=(),
        delivery_policy=FAST_RETRY,
    )
    with serve(app) as url:
        yield f"{url}/v3"


def client_for(base_url: str, **options: object) -> PulsewayClient:
    return PulsewayClient(base_url, TOKEN_ID, TOKEN_SECRET, **options)  # type: ignore[arg-type]


def basic_get(url: str, **params: object) -> httpx.Response:
    return httpx.get(url, params=params, auth=(TOKEN_ID, TOKEN_SECRET))  # type: ignore[arg-type]


# -- auth and envelope --------------------------------------------------------------------------


def test_request_without_credentials_gets_401_envelope(pulseway: str) -> None:
    response = httpx.get(f"{pulseway}/devices")
    assert response.status_code == 401
    assert response.json()["Meta"]["ResponseCode"] == 401
    assert response.json()["Data"] is None


async def test_wrong_token_secret_raises_auth_error_naming_the_settings(pulseway: str) -> None:
    async with PulsewayClient(pulseway, TOKEN_ID, "not-the-secret") as client:
        with pytest.raises(PulsewayAuthError) as caught:
            await client.environment()
    assert "PSA_PULSEWAY_TOKEN_SECRET" in str(caught.value)


def test_device_list_items_carry_exactly_the_documented_list_fields(pulseway: str) -> None:
    sample = json.loads((SAMPLES / "pulseway_devices_page.json").read_text())
    response = basic_get(f"{pulseway}/devices", **{"$top": 2})
    body = response.json()
    assert set(body["Data"][0]) == set(sample["Data"][0])
    assert body["Meta"] == {"ResponseCode": 200, "TotalCount": 50}


def test_top_and_skip_page_through_the_list(pulseway: str) -> None:
    first = basic_get(f"{pulseway}/devices", **{"$top": 20, "$skip": 0}).json()["Data"]
    third = basic_get(f"{pulseway}/devices", **{"$top": 20, "$skip": 40}).json()["Data"]
    assert len(first) == 20 and len(third) == 10
    assert not {d["Identifier"] for d in first} & {d["Identifier"] for d in third}


def test_top_above_100_is_refused(pulseway: str) -> None:
    response = basic_get(f"{pulseway}/devices", **{"$top": 101})
    assert response.status_code == 400
    assert "$top" in response.json()["Meta"]["ErrorMessage"]


async def test_client_collects_every_device_across_small_pages(pulseway: str, world: World) -> None:
    async with client_for(pulseway, page_size=7) as client:
        devices = await client.devices()
    assert sorted(d.key for d in devices) == sorted(world.pulseway.devices)


async def test_device_detail_adds_os_caption_and_online_state(pulseway: str, world: World) -> None:
    expected = next(iter(world.pulseway.devices.values()))
    async with client_for(pulseway) as client:
        device = await client.device(expected.identifier)
    assert device.description == expected.os_name
    assert device.is_online is expected.is_online
    assert device.organization_name == world.pulseway.organization_of(expected).name


async def test_unknown_device_is_entity_not_found(pulseway: str) -> None:
    raw = basic_get(f"{pulseway}/devices/00000000-0000-0000-0000-000000000000")
    assert raw.status_code == 404
    assert raw.json()["Meta"]["ErrorMessage"] == "Entity is not found."
    async with client_for(pulseway) as client:
        with pytest.raises(PulsewayNotFoundError):
            await client.device("00000000-0000-0000-0000-000000000000")


def test_paths_and_device_ids_are_matched_case_insensitively(pulseway: str, world: World) -> None:
    device = next(iter(world.pulseway.devices.values()))
    upper = pulseway.replace("/v3", "/V3") + f"/Devices/{device.identifier.upper()}"
    lower = f"{pulseway}/devices/{device.identifier.lower()}"
    assert basic_get(upper).json()["Data"]["Identifier"] == device.identifier
    assert basic_get(lower).json()["Data"]["Identifier"] == device.identifier


async def test_asset_serial_is_the_bios_serial_not_the_windows_product_id(
    pulseway: str, world: World
) -> None:
    device = next(d for d in world.pulseway.devices.values() if d.computer_type == "windows")
    async with client_for(pulseway) as client:
        asset = await client.asset(device.identifier)
    assert asset.serial_number == device.serial_number
    os_category = next(c for c in asset.raw["AssetInfo"] if c["CategoryName"] == "Operating System")
    assert os_category["CategoryData"]["Serial Number"] != device.serial_number
    assert asset.os_name == device.os_name


async def test_paged_asset_list_covers_every_device(pulseway: str, world: World) -> None:
    async with client_for(pulseway, page_size=30) as client:
        assets = await client.assets()
    assert {a.key: a.serial_number for a in assets} == {
        k: d.serial_number for k, d in world.pulseway.devices.items()
    }


def test_filter_with_contains_tolower_selects_organizations(pulseway: str, world: World) -> None:
    target = next(iter(world.pulseway.organizations.values()))
    needle = target.name.split()[0].lower()
    response = basic_get(
        f"{pulseway}/organizations", **{"$filter": f"contains(tolower(Name), '{needle}')"}
    )
    names = [o["Name"] for o in response.json()["Data"]]
    assert target.name in names
    assert all(needle in name.lower() for name in names)


def test_filter_outside_the_supported_subset_is_400(pulseway: str) -> None:
    response = basic_get(f"{pulseway}/groups", **{"$filter": "Priorities/any(p: p eq 'Low')"})
    assert response.status_code == 400


# -- custom fields --------------------------------------------------------------------------------


async def test_custom_field_assign_stamps_the_organization(pulseway: str, world: World) -> None:
    org = next(iter(world.pulseway.organizations.values()))
    async with client_for(pulseway) as client:
        assignment = await client.assign_custom_field(
            ODOO_PARTNER_FIELD_ID, "Organization", org.id, "42"
        )
        values = await client.entity_custom_fields("Organization", org.id)
        refreshed = await client.organization(org.id)
    assert assignment.value == "42" and assignment.context_item_id == str(org.id)
    assert [(v.id, v.value) for v in values] == [(ODOO_PARTNER_FIELD_ID, "42")]
    assert refreshed.has_custom_fields


async def test_assigning_an_assigned_field_is_400_and_set_updates_instead(
    pulseway: str, world: World
) -> None:
    org = next(iter(world.pulseway.organizations.values()))
    async with client_for(pulseway) as client:
        await client.assign_custom_field(ODOO_PARTNER_FIELD_ID, "Organization", org.id, "7")
        with pytest.raises(PulsewayRequestError):
            await client.assign_custom_field(ODOO_PARTNER_FIELD_ID, "Organization", org.id, "8")
        await client.set_custom_field(ODOO_PARTNER_FIELD_ID, "Organization", org.id, "9")
        values = await client.entity_custom_fields("Organization", org.id)
    assert values[0].value == "9"


async def test_custom_field_outside_its_contexts_is_refused(pulseway: str, world: World) -> None:
    device = next(iter(world.pulseway.devices.values()))
    async with client_for(pulseway) as client:
        with pytest.raises(PulsewayRequestError):
            await client.assign_custom_field(
                ODOO_PARTNER_FIELD_ID, "Device", device.identifier, "1"
            )


# -- organization create ------------------------------------------------------------------------


async def test_organization_create_is_unsupported_by_default(pulseway: str) -> None:
    async with client_for(pulseway, organization_create_url="/v2/organizations") as client:
        with pytest.raises(PulsewayUnsupportedError) as caught:
            await client.create_organization("Newco Ltd")
    assert "Pulseway web console" in str(caught.value)


async def test_client_without_a_create_endpoint_does_not_even_ask() -> None:
    async with PulsewayClient("http://127.0.0.1:9/v3", TOKEN_ID, TOKEN_SECRET) as client:
        with pytest.raises(PulsewayUnsupportedError):
            await client.create_organization("Newco Ltd")


async def test_organization_create_when_enabled_adds_a_listed_organization(world: World) -> None:
    app = create_pulseway_app(
        world, token_id=TOKEN_ID, token_secret=TOKEN_SECRET, rate_limits=(), allow_org_create=True
    )
    with serve(app) as url:
        async with client_for(f"{url}/v3", organization_create_url="/v2/organizations") as client:
            created = await client.create_organization("Newco Ltd")
            listed = await client.organizations()
            with pytest.raises(PulsewayRequestError):
                await client.create_organization("Newco Ltd")
    assert created.name == "Newco Ltd"
    assert created.id in {o.id for o in listed}


def test_organization_create_accepts_the_seeds_bearer_key(world: World) -> None:
    app = create_pulseway_app(
        world, token_id=TOKEN_ID, token_secret=TOKEN_SECRET, rate_limits=(), allow_org_create=True
    )
    with serve(app) as url:
        response = httpx.post(
            f"{url}/v2/organizations",
            json={"Name": "Bearer Co"},
            headers={"Authorization": f"Bearer {TOKEN_SECRET}"},
        )
    assert response.status_code == 200
    assert response.json()["Data"]["Name"] == "Bearer Co"


# -- rate limits ----------------------------------------------------------------------------------


def test_over_the_rate_answers_429_envelope_with_retry_after(
    world: World, clock: FakeClock
) -> None:
    app = create_pulseway_app(
        world,
        token_id=TOKEN_ID,
        token_secret=TOKEN_SECRET,
        rate_limits=(RateLimit(3, 60.0),),
        clock=clock.monotonic,
    )
    with serve(app) as url:
        statuses = [basic_get(f"{url}/v3/environment").status_code for _ in range(3)]
        refused = basic_get(f"{url}/v3/environment")
        clock.advance(61)
        after_window = basic_get(f"{url}/v3/environment")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["Meta"]["ResponseCode"] == 429
    assert refused.headers["Retry-After"] == "60"
    assert after_window.status_code == 200


async def test_client_waits_out_a_429_for_as_long_as_retry_after_says(
    world: World, clock: FakeClock
) -> None:
    app = create_pulseway_app(
        world,
        token_id=TOKEN_ID,
        token_secret=TOKEN_SECRET,
        rate_limits=(RateLimit(2, 10.0),),
        clock=clock.monotonic,
    )
    policy = RetryPolicy(sleep=clock.sleep, random=lambda: 0.0)
    with serve(app) as url:
        async with client_for(f"{url}/v3", retry=policy, page_size=20) as client:
            devices = await client.devices()  # three pages, two allowed per 10 s
    assert len(devices) == 50
    assert clock.sleeps and min(clock.sleeps) >= 10


async def test_client_gives_up_when_retry_after_exceeds_its_budget(
    world: World, clock: FakeClock
) -> None:
    app = create_pulseway_app(
        world,
        token_id=TOKEN_ID,
        token_secret=TOKEN_SECRET,
        rate_limits=(RateLimit(1, 600.0),),
        clock=clock.monotonic,
    )
    policy = RetryPolicy(sleep=clock.sleep, max_retry_after=60.0)
    with serve(app) as url:
        async with client_for(f"{url}/v3", retry=policy) as client:
            await client.environment()
            with pytest.raises(PulsewayRateLimitedError) as caught:
                await client.environment()
    assert caught.value.retry_after == 600
    assert clock.sleeps == []


async def test_429_without_retry_after_backs_off_exponentially(
    world: World, clock: FakeClock
) -> None:
    app = create_pulseway_app(
        world,
        token_id=TOKEN_ID,
        token_secret=TOKEN_SECRET,
        rate_limits=(RateLimit(1, 7.0),),
        clock=clock.monotonic,
        send_retry_after=False,
    )
    policy = RetryPolicy(sleep=clock.sleep, base_delay=1.0, random=lambda: 0.0)
    with serve(app) as url:
        async with client_for(f"{url}/v3", retry=policy) as client:
            await client.environment()
            await client.environment()
    assert clock.sleeps == [1.0, 2.0, 4.0]


# -- notifications and webhooks --------------------------------------------------------------------


class Receiver:
    """A webhook receiver that fails the first ``failures`` deliveries with 503."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []
        self.arrived = threading.Event()

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        self.deliveries.append((body, dict(request.headers)))
        if self.failures > 0:
            self.failures -= 1
            return Response(status_code=503)
        self.arrived.set()
        return Response(status_code=202)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])


async def wait_for(event: threading.Event, seconds: float = 10.0) -> None:
    assert await asyncio.to_thread(event.wait, seconds), "nothing arrived in time"


async def test_webhook_secret_is_shown_only_when_created(pulseway: str) -> None:
    async with client_for(pulseway) as client:
        created = await client.create_webhook("relay", "http://127.0.0.1:9/hook")
        listed = await client.webhooks()
        regenerated = await client.regenerate_webhook_secret(created.id)
    assert created.secret_key is not None and len(created.secret_key) == 64
    assert [w.secret_key for w in listed] == [None]
    assert "SecretKey" not in listed[0].raw
    assert regenerated != created.secret_key


async def test_notification_is_delivered_signed_and_retried_until_acked(
    world: World, pulseway: str
) -> None:
    receiver = Receiver(failures=2)
    device = next(iter(world.pulseway.devices.values()))
    with serve(receiver.app()) as hook_url:
        async with client_for(pulseway) as client:
            webhook = await client.create_webhook(
                "relay", f"{hook_url}/hook", headers={"X-Relay-Token": "t0k"}
            )
            world_webhook = world.pulseway.webhooks[webhook.id]
            assert webhook.secret_key == world_webhook.secret_key
            await client.notify(device.identifier, "Low disk space", "C: is full", "Critical")
            await wait_for(receiver.arrived)
    assert len(receiver.deliveries) == 3
    body, headers = receiver.deliveries[-1]
    assert verify_signature(body, headers["x-hmac-signature"], webhook.secret_key or "")
    assert headers["x-relay-token"] == "t0k"
    assert headers["content-type"] == "application/json"
    payload = json.loads(body)
    assert set(payload) == {
        "Id",
        "Title",
        "Message",
        "DateTime",
        "Priority",
        "DeviceIdentifier",
        "OrganizationId",
    }
    assert payload["OrganizationId"] == str(world.pulseway.organization_of(device).id)
    assert payload["Title"] == "Low disk space" and payload["Priority"] == "Critical"


def test_preregistered_webhook_receives_notifications(world: World) -> None:
    receiver = Receiver()
    device = next(iter(world.pulseway.devices.values()))
    with serve(receiver.app()) as hook_url:
        app = create_pulseway_app(
            world,
            token_id=TOKEN_ID,
            token_secret=TOKEN_SECRET,
            rate_limits=(),
            webhook_url=f"{hook_url}/hook",
            webhook_secret="s" * 64,
            delivery_policy=FAST_RETRY,
        )
        with serve(app) as url:
            response = httpx.post(
                f"{url}/v3/notifications",
                auth=(TOKEN_ID, TOKEN_SECRET),
                json={
                    "InstanceId": device.identifier,
                    "Title": "Ping failed",
                    "Priority": "critical",
                },
            )
            assert response.json() == {"Meta": {"ResponseCode": 200}}
            assert receiver.arrived.wait(10)
    body, headers = receiver.deliveries[0]
    assert verify_signature(body, headers["x-hmac-signature"], "s" * 64)


def test_notification_list_uses_epoch_times_and_detail_iso(pulseway: str, world: World) -> None:
    device = next(iter(world.pulseway.devices.values()))
    httpx.post(
        f"{pulseway}/notifications",
        auth=(TOKEN_ID, TOKEN_SECRET),
        json={"InstanceId": device.identifier, "Title": "Pending reboot", "Priority": "Low"},
    )
    listed = basic_get(f"{pulseway}/notifications").json()["Data"]
    detail = basic_get(f"{pulseway}/notifications/{listed[0]['Id']}").json()["Data"]
    assert isinstance(listed[0]["DateTime"], int)
    assert detail["DateTime"].endswith("Z")
    assert detail["ComputerIdentifier"] == device.identifier
    assert detail["Priority"] == "low"
