"""Access rights and record rules as Odoo 19 applies them (reference §6, §8)."""

from __future__ import annotations

import pytest
from orm_support import ADMIN, SUPERUSER, Call, make_model, ref

from console.sandbox.odoo.exceptions import AccessError, ValidationError
from console.sandbox.odoo.orm import Database

RULE_REFUSAL = (
    "Uh-oh! Looks like you have stumbled upon some top-secret records.\n\n"
    "Sorry, {user} (id={uid}) doesn't have '{mode}' access to:\n- Document (x_doc)\n\n"
    "If you really, really need access, perhaps you can win over your friendly administrator "
    "with a batch of freshly baked cookies."
)


@pytest.fixture
def docs(small_db: Database, call: Call) -> int:
    """``x_doc`` readable and writable by internal users; returns its ir.model id."""
    return make_model(
        small_db,
        "x_doc",
        [
            {"name": "x_owner_id", "ttype": "many2one", "relation": "res.users"},
            {"name": "x_level", "ttype": "integer"},
            {"name": "x_company_id", "ttype": "many2one", "relation": "res.company"},
        ],
        name="Document",
    )


@pytest.fixture
def plain_user(small_db: Database, call: Call) -> int:
    """An internal user in no other group."""
    return int(
        call(
            "res.users",
            "create",
            {
                "name": "Plain User",
                "login": "plain",
                "password": "plain",
                "group_ids": [(6, 0, [ref(small_db, "base.group_user")])],
            },
        )
    )


@pytest.fixture
def demo(small_db: Database) -> int:
    """Marc Demo: internal user, helpdesk user and salesman."""
    return ref(small_db, "base.user_demo")


def add_rule(
    small_db: Database,
    call: Call,
    model_id: int,
    domain: str,
    groups: tuple[str, ...] = (),
    **perms: bool,
) -> int:
    return int(
        call(
            "ir.rule",
            "create",
            {
                "name": domain,
                "model_id": model_id,
                "domain_force": domain,
                "groups": [(6, 0, [ref(small_db, g) for g in groups])],
                **perms,
            },
        )
    )


# ---------------------------------------------------------------------- ACL
def test_the_acl_refusal_names_the_groups_that_would_be_allowed(call: Call, demo: int) -> None:
    [product] = call("product.template", "search", [], limit=1)
    with pytest.raises(AccessError) as raised:
        call("product.template", "write", [product], {"name": "x"}, uid=demo)
    assert str(raised.value) == (
        "You are not allowed to modify 'Product' (product.template) records.\n\n"
        "This operation is allowed for the following groups:\n\t- Sales / Administrator\n\n"
        "Contact your administrator to request access if necessary."
    )


@pytest.mark.parametrize(
    ("method", "args", "verb"),
    [
        ("search", [[]], "access"),
        ("create", [{"key": "k", "value": "v"}], "create"),
        ("unlink", [[1]], "delete"),
    ],
)
def test_each_operation_has_its_own_acl_verb(
    call: Call, demo: int, method: str, args: list[object], verb: str
) -> None:
    with pytest.raises(AccessError) as raised:
        call("ir.config_parameter", method, *args, uid=demo)
    assert str(raised.value).startswith(
        f"You are not allowed to {verb} 'System Parameter' (ir.config_parameter) records.\n\n"
        "This operation is allowed for the following groups:\n\t- Administration / Settings"
    )


def test_an_acl_without_group_grants_everyone(
    small_db: Database, call: Call, plain_user: int
) -> None:
    model_id = make_model(small_db, "x_open", [], acl_group=None)
    call(
        "ir.model.access",
        "create",
        {"name": "everyone", "model_id": model_id, "group_id": False, "perm_read": True},
    )
    assert call("x_open", "search", [], uid=plain_user) == []
    with pytest.raises(AccessError):
        call("x_open", "create", {"x_name": "no"}, uid=plain_user)


def test_the_superuser_bypasses_acls_and_rules(small_db: Database, call: Call, docs: int) -> None:
    add_rule(small_db, call, docs, "[(0, '=', 1)]")
    call(
        "ir.model.access",
        "write",
        call("ir.model.access", "search", [("model_id", "=", docs)]),
        {"active": False},
    )
    record = call("x_doc", "create", {"x_name": "secret"}, uid=SUPERUSER)
    assert call("x_doc", "search", [], uid=SUPERUSER) == [record]


def test_an_acl_change_applies_to_the_next_call(
    small_db: Database, call: Call, plain_user: int, docs: int
) -> None:
    call("x_doc", "search", [], uid=plain_user)
    call(
        "ir.model.access",
        "write",
        call("ir.model.access", "search", [("model_id", "=", docs)]),
        {"perm_read": False},
    )
    with pytest.raises(AccessError):
        call("x_doc", "search", [], uid=plain_user)


# ---------------------------------------------------------------------- record rules
def test_global_rules_are_intersected(small_db: Database, call: Call, docs: int) -> None:
    levels = {n: call("x_doc", "create", {"x_name": str(n), "x_level": n}) for n in (0, 5, 15)}
    add_rule(small_db, call, docs, "[('x_level', '>', 0)]")
    add_rule(small_db, call, docs, "[('x_level', '<', 10)]")
    assert call("x_doc", "search", []) == [levels[5]]  # rules apply to admin too


def test_group_rules_are_united_then_and_ed_with_global_rules(
    small_db: Database, call: Call, docs: int, demo: int, plain_user: int
) -> None:
    mine = call("x_doc", "create", {"x_name": "mine", "x_owner_id": demo, "x_level": 1})
    plain = call("x_doc", "create", {"x_name": "plain", "x_owner_id": plain_user, "x_level": 1})
    five = call("x_doc", "create", {"x_name": "five", "x_level": 5})
    hidden_five = call("x_doc", "create", {"x_name": "five but negative", "x_level": -5})
    add_rule(small_db, call, docs, "[('x_owner_id', '=', user.id)]", ("base.group_user",))
    add_rule(
        small_db,
        call,
        docs,
        "['|', ('x_level', '=', 5), ('x_level', '=', -5)]",
        ("helpdesk.group_helpdesk_user",),
    )
    add_rule(small_db, call, docs, "[('x_level', '>=', 0)]")
    assert sorted(call("x_doc", "search", [], uid=demo)) == sorted([mine, five])
    assert call("x_doc", "search", [], uid=plain_user) == [plain]
    assert hidden_five not in call("x_doc", "search", [], uid=demo)


def test_reading_a_rule_hidden_record_by_id_raises_the_19_text(
    small_db: Database, call: Call, docs: int, plain_user: int
) -> None:
    record = call("x_doc", "create", {"x_name": "admin's"})
    add_rule(small_db, call, docs, "[('x_owner_id', '=', user.id)]", ("base.group_user",))
    with pytest.raises(AccessError) as raised:
        call("x_doc", "read", [record], ["x_name"], uid=plain_user)
    assert str(raised.value) == RULE_REFUSAL.format(user="Plain User", uid=plain_user, mode="read")
    assert call("x_doc", "search_read", [], ["x_name"], uid=plain_user) == []


def test_rules_guard_write_unlink_and_create(
    small_db: Database, call: Call, docs: int, plain_user: int
) -> None:
    other = call("x_doc", "create", {"x_name": "other"})
    add_rule(small_db, call, docs, "[('x_owner_id', '=', user.id)]", ("base.group_user",))
    with pytest.raises(AccessError, match="doesn't have 'write' access"):
        call("x_doc", "write", [other], {"x_name": "x"}, uid=plain_user)
    with pytest.raises(AccessError, match="doesn't have 'unlink' access"):
        call("x_doc", "unlink", [other], uid=plain_user)
    with pytest.raises(AccessError, match="doesn't have 'create' access"):
        call("x_doc", "create", {"x_name": "not mine"}, uid=plain_user)
    own = call("x_doc", "create", {"x_name": "mine", "x_owner_id": plain_user}, uid=plain_user)
    assert call("x_doc", "search", [], uid=plain_user) == [own]


def test_a_rule_applies_only_to_its_operations(
    small_db: Database, call: Call, docs: int, plain_user: int
) -> None:
    record = call("x_doc", "create", {"x_name": "read only"})
    add_rule(
        small_db,
        call,
        docs,
        "[('x_owner_id', '=', user.id)]",
        ("base.group_user",),
        perm_read=False,
        perm_create=False,
    )
    assert call("x_doc", "read", [record], ["x_name"], uid=plain_user)[0]["x_name"] == "read only"
    with pytest.raises(AccessError):
        call("x_doc", "write", [record], {"x_name": "x"}, uid=plain_user)


def test_rule_expressions_reach_the_users_relations_and_companies(
    small_db: Database, call: Call, docs: int, plain_user: int
) -> None:
    ours = call("x_doc", "create", {"x_name": "ours", "x_company_id": 1, "x_level": 1})
    call("x_doc", "create", {"x_name": "none", "x_level": 2})
    add_rule(
        small_db,
        call,
        docs,
        "[('x_company_id', 'in', company_ids), ('x_company_id', '=', company_id), "
        "('x_level', 'in', [g and 1 for g in user.group_ids.ids]), "
        "('x_owner_id.partner_id', '!=', user.partner_id.id)]",
    )
    assert call("x_doc", "search", [], uid=plain_user) == []
    call("x_doc", "write", [ours], {"x_owner_id": ADMIN}, uid=SUPERUSER)
    assert call("x_doc", "search", [], uid=plain_user) == [ours]


def test_a_rule_domain_is_validated_on_save(call: Call, docs: int) -> None:
    with pytest.raises(ValidationError, match="Invalid domain"):
        call(
            "ir.rule",
            "create",
            {"name": "bad", "model_id": docs, "domain_force": "[('x_nope', '=', 1)]"},
        )
    with pytest.raises(ValidationError, match="Invalid domain"):
        call(
            "ir.rule",
            "create",
            {"name": "unsafe", "model_id": docs, "domain_force": "__import__('os').getcwd()"},
        )


def test_a_rule_needs_at_least_one_operation(call: Call, docs: int) -> None:
    with pytest.raises(ValidationError, match="Rule must have at least one checked access right!"):
        call(
            "ir.rule",
            "create",
            {
                "name": "none",
                "model_id": docs,
                "domain_force": "[]",
                "perm_read": False,
                "perm_write": False,
                "perm_create": False,
                "perm_unlink": False,
            },
        )


def test_a_rule_without_groups_is_global(small_db: Database, call: Call, docs: int) -> None:
    rule = add_rule(small_db, call, docs, "[]")
    assert call("ir.rule", "read", [rule], ["global"])[0]["global"] is True
    grouped = add_rule(small_db, call, docs, "[]", ("base.group_user",))
    assert call("ir.rule", "read", [grouped], ["global"])[0]["global"] is False


def test_salesmen_see_their_own_and_unassigned_orders(
    small_db: Database, call: Call, demo: int
) -> None:
    assert call("sale.order", "search", [], uid=demo) == []
    own = call("sale.order", "create", {"partner_id": 1, "user_id": demo}, uid=demo)
    unassigned = call("sale.order", "create", {"partner_id": 1, "user_id": False})
    assert sorted(call("sale.order", "search", [], uid=demo)) == sorted([own, unassigned])
    assert len(call("sale.order", "search", [])) == 5  # the sales manager sees every order


def test_dotted_paths_respect_the_comodels_rules(
    small_db: Database, call: Call, docs: int, plain_user: int
) -> None:
    call("x_doc", "create", {"x_name": "linked", "x_owner_id": ADMIN})
    [users_model] = call("ir.model", "search", [("model", "=", "res.users")])
    add_rule(small_db, call, users_model, "[('id', '=', user.id)]", ("base.group_user",))
    assert call("x_doc", "search", [("x_owner_id.login", "=", "admin")], uid=plain_user) == []
    assert len(call("x_doc", "search", [("x_owner_id.login", "=", "admin")])) == 1
