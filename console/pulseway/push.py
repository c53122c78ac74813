"""Partner → Pulseway push (seed T012 as a reviewed action): link or create, never twice.

A manager approves; the console then either

* **links** the Odoo partner to an existing Pulseway organization: it stamps the partner's id on
  the organization through a custom field assignment (``POST /v3/customFields/{id}/assign``,
  reference §2.7) — the public v3 API has no other way to write to an organization; or
* **creates** the organization through the seed's ``POST /v2/organizations`` — which the public
  v3 API does not have (organizations are read-only, reference §2.9). It is therefore *off by
  default* and only offered where the settings name an endpoint (``org_create_url``), e.g. a
  self-hosted server or the stand-in; then the new organization is stamped like a link.

Both are idempotent, so a retry after a timeout or a crash never sends the same change twice:
the link reads the organization's custom fields first and assigns only when the stamp is not
there yet (a different partner's stamp is refused, not overwritten); the create looks for an
organization of that name first and reuses it. Transient failures (timeouts, 5xx, 429) are
retried with the client's backoff policy by repeating that check-then-write step.

Settings come from ``PSA_PULSEWAY_*`` environment variables (the token only from the
environment or the OS keyring, service ``psa``) and the ``[pulseway]`` section of
``console.toml``; see :func:`load_push_settings`.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from console.pulseway.client import PulsewayClient
from console.pulseway.errors import (
    TRANSIENT_ERRORS,
    PulsewayError,
    PulsewayNotFoundError,
    PulsewayRateLimitedError,
    PulsewayRequestError,
    PulsewayUnsupportedError,
)
from console.pulseway.models import Organization
from console.pulseway.retry import RetryPolicy

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The custom field (Organization context) that carries the Odoo partner id, by default.
DEFAULT_PARTNER_FIELD: Final = "Odoo Partner ID"
KEYRING_SERVICE: Final = "psa"
#: What the settings call the create endpoint in the UI: it is not part of the public API.
ORG_CREATE_LABEL: Final = "seed endpoint POST /v2/organizations — not in the public v3 API"


class PushSettingsError(Exception):
    """The Pulseway push settings cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class PushSettings:
    """Where the console pushes partners: API root (``…/v3``), token, stamp field, create URL.

    ``org_create_url`` is ``None`` (the default) unless the server offers an organization-create
    endpoint; a path starting with ``/`` is relative to the server's origin.
    """

    url: str
    token_id: str = field(repr=False)
    token_secret: str = field(repr=False)
    partner_field: str = DEFAULT_PARTNER_FIELD
    org_create_url: str | None = None

    @property
    def can_create(self) -> bool:
        """Whether creating organizations is enabled in these settings."""
        return bool(self.org_create_url)

    def client(self, *, retry: RetryPolicy | None = None, timeout: float = 30.0) -> PulsewayClient:
        """A client for these settings (close it, or use it as ``async with``)."""
        return PulsewayClient(
            self.url,
            self.token_id,
            self.token_secret,
            retry=retry,
            timeout=timeout,
            organization_create_url=self.org_create_url,
        )


def _secret(name: str, env: Mapping[str, str], use_keyring: bool) -> str | None:
    value = env.get(name)
    if value:
        return value
    if not use_keyring:
        return None
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, name)
    except Exception as exc:  # no keyring backend is normal on a headless machine
        log.debug("keyring lookup of %s failed: %s", name, exc)
        return None
    return stored or None


def _file_section(path: Path | None) -> dict[str, Any]:
    if path is None:
        from platformdirs import user_config_dir

        path = Path(user_config_dir("psa")) / "console.toml"
        if not path.exists():
            return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PushSettingsError(f"cannot read {path}: {exc}") from exc
    section = document.get("pulseway") or {}
    if not isinstance(section, dict):
        raise PushSettingsError(f"{path}: [pulseway] must be a table")
    secrets = sorted({"token_id", "token_secret", "secret", "password"} & section.keys())
    if secrets:
        raise PushSettingsError(
            f"{path}: [pulseway] {', '.join(secrets)} must not be in a file; set "
            "PSA_PULSEWAY_TOKEN_ID / PSA_PULSEWAY_TOKEN_SECRET in the environment or the keyring"
        )
    return section


def load_push_settings(
    env: Mapping[str, str] | None = None,
    *,
    config_path: Path | None = None,
    use_keyring: bool = True,
) -> PushSettings | None:
    """The console's Pulseway push settings, or ``None`` when no Pulseway URL is configured.

    ``PSA_PULSEWAY_URL`` (or ``[pulseway] url``) is the API root, e.g.
    ``https://api.pulseway.com/v3``; ``PSA_PULSEWAY_PARTNER_FIELD`` (``partner_field``) the name
    or numeric id of the custom field stamped with the partner id (default "Odoo Partner ID");
    ``PSA_PULSEWAY_ORG_CREATE_URL`` (``org_create_url``) enables creating organizations — off by
    default. The token comes only from ``PSA_PULSEWAY_TOKEN_ID`` / ``PSA_PULSEWAY_TOKEN_SECRET``
    in the environment or the OS keyring. Raises :class:`PushSettingsError` for a URL without
    a token or a malformed value.
    """
    env = os.environ if env is None else env
    section = _file_section(config_path)
    values: dict[str, str] = {
        key: str(section[key]).strip()
        for key in ("url", "partner_field", "org_create_url")
        if section.get(key) not in (None, "")
    }
    unknown = sorted(set(section) - {"url", "partner_field", "org_create_url"})
    if unknown:
        raise PushSettingsError(f"unknown key(s) in [pulseway]: {', '.join(unknown)}")
    for key in ("url", "partner_field", "org_create_url"):
        variable = f"PSA_PULSEWAY_{key.upper()}"
        if env.get(variable):
            values[key] = env[variable].strip()
    url = values.get("url")
    if not url:
        return None
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise PushSettingsError(
            f"PSA_PULSEWAY_URL must be the API root like https://api.pulseway.com/v3, not {url!r}"
        )
    if parsed.username or parsed.password:
        raise PushSettingsError("PSA_PULSEWAY_URL must not carry credentials")
    token_id = _secret("PSA_PULSEWAY_TOKEN_ID", env, use_keyring)
    token_secret = _secret("PSA_PULSEWAY_TOKEN_SECRET", env, use_keyring)
    if not token_id or not token_secret:
        missing = [
            n
            for n, v in (
                ("PSA_PULSEWAY_TOKEN_ID", token_id),
                ("PSA_PULSEWAY_TOKEN_SECRET", token_secret),
            )
            if not v
        ]
        raise PushSettingsError(
            f"Pulseway is configured ({url}) but {' and '.join(missing)} is not set: put the API "
            "token in the environment or the OS keyring (service 'psa')."
        )
    return PushSettings(
        url=url,
        token_id=token_id,
        token_secret=token_secret,
        partner_field=values.get("partner_field") or DEFAULT_PARTNER_FIELD,
        org_create_url=values.get("org_create_url") or None,
    )


# -- the push itself --------------------------------------------------------------------------


class PushConflict(PulsewayError):
    """The organization already carries a *different* partner's stamp; nothing was changed."""


@dataclass(frozen=True)
class PushResult:
    """What one approval did in Pulseway.

    ``sent`` is False when the stamp (and, for a create, the organization) was already there,
    i.e. a retry that found the earlier attempt had succeeded.
    """

    organization: Organization
    action: str  # "link" | "create"
    sent: bool
    created: bool = False


class PulsewayPush:
    """Link/create operations on one client; the stamp field is resolved once and cached."""

    def __init__(
        self,
        client: PulsewayClient,
        *,
        partner_field: str = DEFAULT_PARTNER_FIELD,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self.partner_field = partner_field
        self.retry = retry or client.retry
        self._field_id: int | None = None

    @property
    def can_create(self) -> bool:
        """Whether the client has an organization-create endpoint configured."""
        return bool(self.client.organization_create_url)

    async def organizations(self) -> list[Organization]:
        """Every organization (for the suggestions)."""
        return await self.client.organizations()

    async def partner_field_id(self) -> int:
        """The id of the stamp field; a clear error if it does not exist or cannot hold it."""
        if self._field_id is not None:
            return self._field_id
        wanted = self.partner_field.strip()
        fields = await self.client.custom_fields()
        match = next(
            (
                f
                for f in fields
                if (wanted.isdigit() and f.id == int(wanted))
                or f.name.casefold() == wanted.casefold()
            ),
            None,
        )
        if match is None:
            raise PulsewayError(
                f"Pulseway has no custom field “{wanted}”. Create it in Pulseway (Settings → "
                "Custom Fields, type Number or Text, context Organization) or set "
                "PSA_PULSEWAY_PARTNER_FIELD to the field that holds the Odoo partner id."
            )
        if match.contexts and "Organization" not in match.contexts:
            raise PulsewayError(
                f"The Pulseway custom field “{match.name}” cannot be set on organizations; "
                "add the Organization context to it in Pulseway."
            )
        self._field_id = match.id
        return match.id

    async def stamp_of(self, organization_id: int) -> str | None:
        """The partner id stamped on an organization, or ``None`` when it has none."""
        field_id = await self.partner_field_id()
        values = await self.client.entity_custom_fields("Organization", organization_id)
        for value in values:
            if value.id == field_id:
                return None if value.value in (None, "") else str(value.value).strip()
        return None

    async def _with_retries(self, step: Callable[[], Awaitable[T]]) -> T:
        """Run an idempotent check-then-write ``step``, again after transient failures.

        The client itself does not repeat POSTs that may have reached the server; the step
        re-reads the state first, so repeating it here cannot send a change twice.
        """
        attempts = max(1, self.retry.max_attempts)
        for attempt in range(attempts):
            try:
                return await step()
            except TRANSIENT_ERRORS as exc:
                if attempt + 1 >= attempts:
                    raise
                delay = self.retry.backoff_delay(attempt)
                if isinstance(exc, PulsewayRateLimitedError) and exc.retry_after is not None:
                    delay = self.retry.retry_after_delay(exc.retry_after, attempt)
                log.info("Pulseway push step failed (%s); retry in %.1fs", exc, delay)
                await self.retry.sleep(delay)
        raise AssertionError("unreachable")

    async def _stamp(self, organization: Organization, partner_id: int) -> bool:
        """Stamp ``partner_id`` on the organization unless it is there; True if it was sent."""
        field_id = await self.partner_field_id()
        wanted = str(int(partner_id))
        current = await self.stamp_of(organization.id)
        if current == wanted:
            return False
        if current is not None:
            raise PushConflict(
                f"Pulseway organization “{organization.name}” ({organization.id}) is already "
                f"linked to Odoo partner {current}. Choose another organization, or clear its "
                f"“{self.partner_field}” field in Pulseway first."
            )
        try:
            await self.client.assign_custom_field(field_id, "Organization", organization.id, wanted)
        except PulsewayRequestError:
            # 400 "already assigned": someone (or an earlier attempt whose answer was lost) got
            # there first. Accept it only if it is our stamp.
            if await self.stamp_of(organization.id) == wanted:
                return False
            raise
        return True

    async def link(self, organization_id: int, partner_id: int) -> PushResult:
        """Link ``partner_id`` to an existing organization by stamping it (idempotent)."""

        async def step() -> PushResult:
            try:
                organization = await self.client.organization(organization_id)
            except PulsewayNotFoundError as exc:
                raise PulsewayNotFoundError(
                    f"Pulseway has no organization {organization_id}; it may have been deleted. "
                    "Pick another target.",
                    status=404,
                    detail=exc.detail,
                ) from exc
            sent = await self._stamp(organization, partner_id)
            return PushResult(organization, "link", sent=sent)

        return await self._with_retries(step)

    async def create(self, name: str, partner_id: int) -> PushResult:
        """Create the organization ``name`` (where enabled) and stamp it; idempotent by name.

        An organization of that name that already carries this partner's stamp, or no stamp, is
        reused (an earlier attempt created it); one stamped for another partner is a conflict.
        """
        if not self.can_create:
            raise PulsewayUnsupportedError(
                "Creating Pulseway organizations is turned off: the public v3 API has no "
                "endpoint for it. Create the organization in the Pulseway console and approve a "
                "link instead, or enable the create endpoint in the settings "
                "(PSA_PULSEWAY_ORG_CREATE_URL) if your server offers one."
            )
        wanted = name.strip()
        if not wanted:
            raise ValueError("the organization needs a name")

        async def step() -> PushResult:
            existing = [
                o
                for o in await self.client.organizations()
                if o.name.strip().casefold() == wanted.casefold()
            ]
            created = False
            if existing:
                organization = existing[0]
            else:
                organization = await self.client.create_organization(wanted)
                created = True
            sent = await self._stamp(organization, partner_id)
            return PushResult(organization, "create", sent=sent or created, created=created)

        return await self._with_retries(step)
