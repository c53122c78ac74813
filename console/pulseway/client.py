"""Async client for the Pulseway REST API v3 (reference §1–§2).

* HTTP Basic ``TOKEN_ID:TOKEN_SECRET`` — the only scheme the RMM API has;
* the ``{"Data": …, "Meta": {"ResponseCode", "TotalCount", "ErrorMessage"}}`` envelope, with
  ``Meta.ResponseCode`` trusted over the HTTP status when it reports an error;
* ``$top``/``$skip`` paging (``$top`` ≤ 100);
* 429 / 5xx / network failures retried per :class:`RetryPolicy`, honouring ``Retry-After``;
* every failure raised as a :class:`PulsewayError` subclass whose text a user can act on.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from console.pulseway.errors import (
    PulsewayAuthError,
    PulsewayConnectionError,
    PulsewayError,
    PulsewayForbiddenError,
    PulsewayNotFoundError,
    PulsewayProtocolError,
    PulsewayRateLimitedError,
    PulsewayRequestError,
    PulsewayServerError,
    PulsewayUnsupportedError,
)
from console.pulseway.models import (
    Asset,
    CustomField,
    CustomFieldAssignment,
    CustomFieldValue,
    Device,
    Group,
    Organization,
    Site,
    Webhook,
)
from console.pulseway.retry import RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.pulseway.com/v3"
#: "$top … limited to 100" (reference §1).
MAX_PAGE_SIZE = 100

ContextType = Literal["Organization", "Site", "Group", "Device"]
_CONTEXT_TYPES: tuple[str, ...] = ("Organization", "Site", "Group", "Device")
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_RETRYABLE_SERVER_STATUSES = frozenset({500, 502, 503, 504})
_ENTITY_PATHS = {
    "Organization": "organizations",
    "Site": "sites",
    "Group": "groups",
    "Device": "devices",
}


class PulsewayClient:
    """One Pulseway tenant, one API token. Use as ``async with PulsewayClient(...) as pw:``.

    ``base_url`` is the API root including ``/v3`` (hosted ``https://api.pulseway.com/v3``,
    self-hosted ``https://<server>/api/v3``). ``organization_create_url`` enables
    :meth:`create_organization` for servers that offer such an endpoint (the public v3 API does
    not; the seed's ``/v2/organizations`` exists in the stand-in); a path starting with ``/`` is
    taken relative to the server's origin.
    """

    def __init__(
        self,
        base_url: str,
        token_id: str,
        token_secret: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        page_size: int = MAX_PAGE_SIZE,
        organization_create_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        self.base_url = base_url.rstrip("/") + "/"
        self.retry = retry or RetryPolicy()
        self.page_size = page_size
        self.organization_create_url = organization_create_url
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(token_id, token_secret),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "psa-console"},
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- transport -------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        what: str = "the request",
    ) -> tuple[Any, dict[str, Any]]:
        """Send one request with retries; return the envelope's ``(Data, Meta)``.

        ``what`` names the object for error messages ("device 8f3c…", "the organizations").
        """
        method = method.upper()
        policy = self.retry
        attempts = max(1, policy.max_attempts)
        for attempt in range(attempts):
            last_attempt = attempt + 1 >= attempts
            try:
                response = await self._http.request(method, path, params=params, json=json)
            except httpx.TransportError as exc:
                if method in _IDEMPOTENT_METHODS and not last_attempt:
                    delay = policy.backoff_delay(attempt)
                    log.info("Pulseway %s %s failed (%s); retry in %.1fs", method, path, exc, delay)
                    await policy.sleep(delay)
                    continue
                reason = str(exc) or type(exc).__name__
                raise PulsewayConnectionError(
                    f"Cannot reach Pulseway at {self._http.base_url.host}: {reason}. "
                    "Check the network and the server address in the settings.",
                    detail=repr(exc),
                ) from exc
            body = _json_or_none(response)
            status = _effective_status(response.status_code, body)
            if status == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"), policy.now())
                wait = None if last_attempt else policy.rate_limited_delay(retry_after, attempt)
                if wait is not None:
                    log.info("Pulseway rate limit on %s %s; retry in %.1fs", method, path, wait)
                    await policy.sleep(wait)
                    continue
                raise _error_for(response, body, status, what, retry_after=retry_after)
            if (
                status in _RETRYABLE_SERVER_STATUSES
                and method in _IDEMPOTENT_METHODS
                and not last_attempt
            ):
                delay = policy.backoff_delay(attempt)
                log.info("Pulseway %s %s answered %s; retry in %.1fs", method, path, status, delay)
                await policy.sleep(delay)
                continue
            if status >= 400:
                raise _error_for(response, body, status, what)
            return _decode_envelope(response, body)
        raise AssertionError("unreachable: the loop returns or raises on its last attempt")

    async def iter_pages(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        what: str = "the list",
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield each page's items, advancing ``$skip`` until ``TotalCount`` is reached.

        ``$skip`` advances by what actually came back, so a server that caps ``$top`` lower
        than asked does not end the listing early; without ``TotalCount`` a short page ends it.
        """
        skip = 0
        while True:
            query = {**(params or {}), "$top": self.page_size, "$skip": skip}
            data, meta = await self.request("GET", path, params=query, what=what)
            if not isinstance(data, list):
                raise PulsewayProtocolError(
                    "Pulseway answered with data this console does not understand.",
                    detail=f"GET {path}: Data is {type(data).__name__}, expected a list",
                )
            items = [item for item in data if isinstance(item, dict)]
            if items:
                yield items
            if not data:
                return
            skip += len(data)
            total = meta.get("TotalCount")
            if isinstance(total, int) and not isinstance(total, bool):
                if skip >= total:
                    return
            elif len(data) < self.page_size:
                return

    async def _get_all(
        self, path: str, params: Mapping[str, Any] | None, what: str
    ) -> list[dict[str, Any]]:
        collected: list[dict[str, Any]] = []
        async for page in self.iter_pages(path, params, what=what):
            collected.extend(page)
        return collected

    async def _get_one(self, path: str, what: str) -> dict[str, Any]:
        data, _meta = await self.request("GET", path, what=what)
        if not isinstance(data, dict):
            raise PulsewayProtocolError(
                "Pulseway answered with data this console does not understand.",
                detail=f"GET {path}: Data is {type(data).__name__}, expected an object",
            )
        return data

    # -- read ------------------------------------------------------------------------------

    async def environment(self) -> dict[str, Any]:
        """``GET /v3/environment``: a cheap call to check the URL and the token."""
        return await self._get_one("environment", "the environment information")

    async def organizations(self, *, odata_filter: str | None = None) -> list[Organization]:
        """Every organization (paged)."""
        params = {"$filter": odata_filter} if odata_filter else None
        items = await self._get_all("organizations", params, "the organizations")
        return [Organization.from_api(item) for item in items]

    async def organization(self, organization_id: int) -> Organization:
        """One organization; :class:`PulsewayNotFoundError` if it does not exist."""
        return Organization.from_api(
            await self._get_one(
                f"organizations/{int(organization_id)}", f"organization {organization_id}"
            )
        )

    async def sites(self) -> list[Site]:
        """Every site (paged)."""
        return [Site.from_api(i) for i in await self._get_all("sites", None, "the sites")]

    async def groups(self, *, odata_filter: str | None = None) -> list[Group]:
        """Every group (paged)."""
        params = {"$filter": odata_filter} if odata_filter else None
        return [Group.from_api(i) for i in await self._get_all("groups", params, "the groups")]

    async def group(self, group_id: int) -> Group:
        """One group."""
        return Group.from_api(await self._get_one(f"groups/{int(group_id)}", f"group {group_id}"))

    async def iter_devices(self, *, scope_id: int | None = None) -> AsyncIterator[list[Device]]:
        """Devices page by page (list fields only: no OS, no online state)."""
        params = {"scopeId": scope_id} if scope_id is not None else None
        async for page in self.iter_pages("devices", params, what="the devices"):
            yield [Device.from_api(item) for item in page]

    async def devices(self, *, scope_id: int | None = None) -> list[Device]:
        """Every device (list fields only)."""
        collected: list[Device] = []
        async for page in self.iter_devices(scope_id=scope_id):
            collected.extend(page)
        return collected

    async def device(self, device_id: str) -> Device:
        """The device detail (adds OS caption, online state, IPs)."""
        return Device.from_api(
            await self._get_one(f"devices/{_path_id(device_id)}", f"device {device_id}")
        )

    async def iter_assets(self) -> AsyncIterator[list[Asset]]:
        """Asset inventories page by page — serial and OS without one request per device."""
        async for page in self.iter_pages("assets", None, what="the assets"):
            yield [Asset.from_api(item) for item in page]

    async def assets(self) -> list[Asset]:
        """Every asset inventory."""
        collected: list[Asset] = []
        async for page in self.iter_assets():
            collected.extend(page)
        return collected

    async def asset(self, device_id: str) -> Asset:
        """One device's asset inventory."""
        return Asset.from_api(
            await self._get_one(f"assets/{_path_id(device_id)}", f"the asset of device {device_id}")
        )

    # -- custom fields ---------------------------------------------------------------------

    async def custom_fields(self) -> list[CustomField]:
        """Every custom field definition."""
        items = await self._get_all("customFields", None, "the custom fields")
        return [CustomField.from_api(item) for item in items]

    async def entity_custom_fields(
        self, context_type: ContextType, item_id: int | str
    ) -> list[CustomFieldValue]:
        """Custom-field values set on one organization, site, group or device."""
        path = f"{_ENTITY_PATHS[_context(context_type)]}/{_path_id(str(item_id))}/customfields"
        data, _meta = await self.request(
            "GET", path, what=f"the custom fields of {context_type.lower()} {item_id}"
        )
        if not isinstance(data, list):
            raise PulsewayProtocolError(
                "Pulseway answered with data this console does not understand.",
                detail=f"GET {path}: Data is {type(data).__name__}, expected a list",
            )
        return [CustomFieldValue.from_api(item) for item in data if isinstance(item, dict)]

    async def assign_custom_field(
        self,
        field_id: int,
        context_type: ContextType,
        context_item_id: int | str,
        value: str | None,
        *,
        use_default_value: bool = False,
    ) -> CustomFieldAssignment:
        """Set a custom field on an entity that has none yet (400 if already assigned)."""
        return await self._custom_field_write(
            "POST", "assign", field_id, context_type, context_item_id, value, use_default_value
        )

    async def update_assigned_custom_field(
        self,
        field_id: int,
        context_type: ContextType,
        context_item_id: int | str,
        value: str | None,
        *,
        use_default_value: bool = False,
    ) -> CustomFieldAssignment:
        """Change an existing assignment (400 if the field is not assigned there)."""
        return await self._custom_field_write(
            "PUT",
            "updateAssigned",
            field_id,
            context_type,
            context_item_id,
            value,
            use_default_value,
        )

    async def set_custom_field(
        self,
        field_id: int,
        context_type: ContextType,
        context_item_id: int | str,
        value: str | None,
    ) -> CustomFieldAssignment:
        """Assign, or update when already assigned: the idempotent "stamp this value" call."""
        try:
            return await self.assign_custom_field(field_id, context_type, context_item_id, value)
        except PulsewayRequestError:
            # Pulseway answers 400 to assigning an already-assigned field (reference §2.7).
            return await self.update_assigned_custom_field(
                field_id, context_type, context_item_id, value
            )

    async def unassign_custom_field(
        self, field_id: int, context_type: ContextType, context_item_id: int | str
    ) -> None:
        """Remove a custom field from an entity."""
        await self.request(
            "POST",
            f"customFields/{int(field_id)}/unassign",
            json={"ContextType": _context(context_type), "ContextItemId": str(context_item_id)},
            what=f"custom field {field_id}",
        )

    async def _custom_field_write(
        self,
        method: str,
        action: str,
        field_id: int,
        context_type: ContextType,
        context_item_id: int | str,
        value: str | None,
        use_default_value: bool,
    ) -> CustomFieldAssignment:
        body = {
            "ContextType": _context(context_type),
            "ContextItemId": str(context_item_id),
            "UseDefaultValue": use_default_value,
            "Value": value,
        }
        data, _meta = await self.request(
            method,
            f"customFields/{int(field_id)}/{action}",
            json=body,
            what=f"custom field {field_id}",
        )
        if not isinstance(data, dict):
            raise PulsewayProtocolError(
                "Pulseway answered with data this console does not understand.",
                detail=f"{action}: Data is {type(data).__name__}, expected an object",
            )
        return CustomFieldAssignment.from_api(data)

    # -- notifications and webhooks ---------------------------------------------------------

    async def notify(
        self, instance_id: str, title: str, message: str | None = None, priority: str = "Normal"
    ) -> None:
        """``POST /v3/notifications`` for a published instance."""
        body = {
            "InstanceId": instance_id,
            "Title": title,
            "Message": message or title,
            "Priority": priority,
        }
        await self.request("POST", "notifications", json=body, what="the notification")

    async def iter_notifications(
        self, *, order_by: str | None = "DateTime desc", odata_filter: str | None = None
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        """``GET /v3/notifications`` page by page, newest first unless ``order_by`` says else.

        Items are Pulseway's ``{Id, Message, DateTime, Priority}`` as sent: ``DateTime`` is
        epoch seconds in the reference's example but ISO text elsewhere and ``Priority`` is
        lower case (reference §1, §2.5), so read them with :func:`parse_pulseway_datetime` and
        compare priorities without case. A caller that has what it needs stops early, best
        inside ``contextlib.aclosing`` so the request loop ends there and then.
        """
        params: dict[str, str] = {}
        if order_by:
            params["$orderby"] = order_by
        if odata_filter:
            params["$filter"] = odata_filter
        async for page in self.iter_pages(
            "notifications", params or None, what="the notifications"
        ):
            yield page

    async def notification(self, notification_id: int) -> dict[str, Any]:
        """``GET /v3/notifications/{id}``: ``{ComputerIdentifier, Read, Id, Message, DateTime,
        Priority}`` as sent (no ``Title``: only webhooks carry one); a notification deleted in
        Pulseway raises :class:`PulsewayNotFoundError`."""
        return await self._get_one(
            f"notifications/{int(notification_id)}", f"notification {notification_id}"
        )

    async def webhooks(self) -> list[Webhook]:
        """Configured notification webhooks (never with their secret)."""
        items = await self._get_all("notifications/webhooks", None, "the webhooks")
        return [Webhook.from_api(item) for item in items]

    async def create_webhook(
        self,
        name: str,
        url: str,
        priorities: Sequence[str] = ("Low", "Normal", "Elevated", "Critical"),
        *,
        organization_ids: Sequence[int] | None = None,
        description: str | None = None,
        headers: Mapping[str, str] | None = None,
        language: str = "en",
    ) -> Webhook:
        """Create a webhook; the answer is the only time its ``secret_key`` is shown."""
        body: dict[str, Any] = {
            "Name": name,
            "Url": url,
            "Priorities": list(priorities),
            "OrganizationIds": None if organization_ids is None else list(organization_ids),
            "Language": language,
        }
        if description is not None:
            body["Description"] = description
        if headers:
            body["Headers"] = dict(headers)
        data, _meta = await self.request(
            "POST", "notifications/webhooks", json=body, what="the webhook"
        )
        if not isinstance(data, dict):
            raise PulsewayProtocolError(
                "Pulseway answered with data this console does not understand.",
                detail="create webhook: Data is not an object",
            )
        return Webhook.from_api(data)

    async def delete_webhook(self, webhook_id: int) -> None:
        """Delete a webhook."""
        await self.request(
            "DELETE", f"notifications/webhooks/{int(webhook_id)}", what=f"webhook {webhook_id}"
        )

    async def regenerate_webhook_secret(self, webhook_id: int) -> str:
        """Issue a new secret key for a webhook and return it."""
        data, _meta = await self.request(
            "POST",
            f"notifications/webhooks/{int(webhook_id)}/regenerateSecretKey",
            what=f"webhook {webhook_id}",
        )
        secret = data.get("SecretKey") if isinstance(data, dict) else None
        if not isinstance(secret, str) or not secret:
            raise PulsewayProtocolError(
                "Pulseway answered with data this console does not understand.",
                detail="regenerateSecretKey: no SecretKey in Data",
            )
        return secret

    # -- organization create (not in the public v3 API) -------------------------------------

    async def create_organization(
        self, name: str, *, description: str = "Synced from Odoo"
    ) -> Organization:
        """Create an organization where the server offers an endpoint for it.

        The public v3 API has none (organizations are read-only; reference §2.9), so without
        ``organization_create_url`` — or when the server answers 404/405 — this raises
        :class:`PulsewayUnsupportedError` telling the user to create it in the Pulseway console
        and link it by id instead.
        """
        unsupported = PulsewayUnsupportedError(
            "This Pulseway server cannot create organizations through its API. Create "
            f"“{name}” in the Pulseway web console, then link the partner to it by id."
        )
        if not self.organization_create_url:
            raise unsupported
        target = self.organization_create_url
        if target.startswith("/"):
            target = str(self._http.base_url.copy_with(path=target, query=None))
        try:
            data, _meta = await self.request(
                "POST",
                target,
                json={"Name": name, "Description": description},
                what="the organization create endpoint",
            )
        except PulsewayNotFoundError as exc:
            raise unsupported from exc
        except PulsewayError as exc:
            if exc.status == 405:
                raise unsupported from exc
            raise
        if not isinstance(data, dict):
            raise PulsewayProtocolError(
                "Pulseway answered with data this console does not understand.",
                detail="create organization: Data is not an object",
            )
        return Organization.from_api(data)


# -- helpers -------------------------------------------------------------------------------


def _context(context_type: str) -> str:
    for known in _CONTEXT_TYPES:
        if known.lower() == context_type.lower():
            return known
    raise ValueError(f"context type must be one of {', '.join(_CONTEXT_TYPES)}: {context_type!r}")


def _path_id(item_id: str) -> str:
    text = str(item_id).strip()
    if not text or "/" in text or "?" in text or "#" in text:
        raise ValueError(f"not a Pulseway id: {item_id!r}")
    return text


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _effective_status(status: int, body: Any) -> int:
    """The HTTP status, unless the envelope's ``Meta.ResponseCode`` reports a worse one."""
    if status < 400:
        meta = body.get("Meta") if isinstance(body, dict) else None
        code = meta.get("ResponseCode") if isinstance(meta, dict) else None
        if isinstance(code, int) and code >= 400:
            return code
    return status


def _decode_envelope(response: httpx.Response, body: Any) -> tuple[Any, dict[str, Any]]:
    if not response.content:
        # DELETE on a webhook documents no body at all.
        return None, {"ResponseCode": response.status_code}
    if not isinstance(body, dict) or ("Data" not in body and "Meta" not in body):
        raise PulsewayProtocolError(
            "Pulseway answered with something that is not its API envelope. Check that the "
            "server address points at the REST API (…/v3 or …/api/v3).",
            status=response.status_code,
            detail=response.text[:500],
        )
    meta = body.get("Meta")
    return body.get("Data"), meta if isinstance(meta, dict) else {}


def _error_for(
    response: httpx.Response,
    body: Any,
    status: int,
    what: str,
    *,
    retry_after: float | None = None,
) -> PulsewayError:
    meta = body.get("Meta") if isinstance(body, dict) else None
    server_message = meta.get("ErrorMessage") if isinstance(meta, dict) else None
    detail = str(server_message) if server_message else response.text[:500]
    if status == 401:
        return PulsewayAuthError(
            "Pulseway rejected the API token (HTTP 401). Check the token id and secret "
            "(PSA_PULSEWAY_TOKEN_ID / PSA_PULSEWAY_TOKEN_SECRET).",
            status=status,
            detail=detail,
        )
    if status == 403:
        return PulsewayForbiddenError(
            f"Pulseway refused access to {what} (HTTP 403). Give the API token permission for it "
            "in Pulseway.",
            status=status,
            detail=detail,
        )
    if status == 404:
        return PulsewayNotFoundError(
            f"Pulseway has no {what.removeprefix('the ')} (HTTP 404"
            + (f": {server_message})." if server_message else ")."),
            status=status,
            detail=detail,
        )
    if status == 429:
        wait = f" in {retry_after:.0f} s" if retry_after is not None else " later"
        return PulsewayRateLimitedError(
            f"Pulseway is rate-limiting this API token (HTTP 429); try again{wait}.",
            retry_after=retry_after,
            detail=detail,
        )
    if status >= 500:
        return PulsewayServerError(
            f"Pulseway failed while handling {what} (HTTP {status}). Try again in a few minutes.",
            status=status,
            detail=detail,
        )
    if status == 400 or status == 422:
        return PulsewayRequestError(
            f"Pulseway refused the request for {what}: {server_message or 'bad request'}.",
            status=status,
            detail=detail,
        )
    return PulsewayError(
        f"Pulseway answered HTTP {status} for {what}.", status=status, detail=detail
    )
