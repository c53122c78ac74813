"""The logged-in user's Serviced Accounts: what the SA switcher offers, and with which role."""

from __future__ import annotations

from dataclasses import dataclass

from console.domain.names import Role, SaMembership, ServicedAccount
from console.domain.scope import effective_roles, sa_descendants
from console.odoo.gateway import OdooGateway


@dataclass(frozen=True)
class Membership:
    """One SA the user can act in: its name, the role they act with, and the SAs below it."""

    sa_id: int
    sa_name: str
    role: Role
    descendants: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{self.sa_name} — {self.role.value}"


async def load_memberships(gateway: OdooGateway) -> list[Membership]:
    """Two RPCs: the user's membership rows, and the SA tree they can see."""
    assert gateway.user is not None, "log in first"
    with gateway.operation("memberships"):
        rows = await gateway.search_read(
            SaMembership.MODEL,
            [[SaMembership.USER, "=", gateway.user.uid]],
            [SaMembership.SA, SaMembership.ROLE],
        )
        tree = await gateway.search_read(
            ServicedAccount.MODEL, [], [ServicedAccount.NAME, ServicedAccount.PARENT]
        )
    parents = {
        int(sa["id"]): (int(sa[ServicedAccount.PARENT][0]) if sa[ServicedAccount.PARENT] else None)
        for sa in tree
    }
    names = {int(sa["id"]): str(sa[ServicedAccount.NAME]) for sa in tree}
    pairs = [
        (int(row[SaMembership.SA][0]), Role(row[SaMembership.ROLE]))
        for row in rows
        if row[SaMembership.SA] and row[SaMembership.ROLE]
    ]
    for sa_id, _role in pairs:
        names.setdefault(sa_id, f"SA {sa_id}")
        parents.setdefault(sa_id, None)
    roles = effective_roles(pairs, parents)
    return sorted(
        (
            Membership(
                sa_id=sa,
                sa_name=names.get(sa, f"SA {sa}"),
                role=role,
                descendants=tuple(sorted(sa_descendants(sa, parents))),
            )
            for sa, role in roles.items()
        ),
        key=lambda m: (_depth(m.sa_id, parents), m.sa_name.casefold()),
    )


def _depth(sa: int, parents: dict[int, int | None]) -> int:
    depth, seen, current = 0, {sa}, parents.get(sa)
    while current is not None and current not in seen:
        seen.add(current)
        depth += 1
        current = parents.get(current)
    return depth
