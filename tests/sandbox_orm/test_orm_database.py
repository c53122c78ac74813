"""The entry points the wire layer calls: credentials, ``call_kw``, ``call_json2``, one
transaction per call, and serialized concurrent calls without lost writes."""

from __future__ import annotations

import json
import threading

import pytest
from orm_support import ADMIN, Call, make_model

from console.sandbox.odoo.exceptions import AccessError, UnknownMethod, UnknownModel, UserError
from console.sandbox.odoo.orm import ADMIN_API_KEY, SUPERUSER_ID, Database


# ---------------------------------------------------------------------- credentials
def test_authenticate_returns_the_uid_or_none(db: Database) -> None:
    assert db.authenticate("admin", "admin") == ADMIN
    assert db.authenticate("admin", "wrong") is None
    assert db.authenticate("nobody", "admin") is None
    assert db.authenticate("admin", "") is None


def test_the_system_user_cannot_log_in_because_it_is_archived(db: Database) -> None:
    db.call_kw(SUPERUSER_ID, "res.users", "write", [[SUPERUSER_ID], {"password": "root"}], {})
    assert db.authenticate("__system__", "root") is None
    assert db.check_credentials(SUPERUSER_ID, "root") is False


def test_an_archived_user_cannot_log_in(db: Database, call: Call) -> None:
    user = call("res.users", "create", {"name": "Gone", "login": "gone", "password": "pw"})
    assert db.authenticate("gone", "pw") == user
    call("res.users", "write", [user], {"active": False})
    assert db.authenticate("gone", "pw") is None
    assert db.check_credentials(user, "pw") is False


def test_check_credentials_follows_password_changes(db: Database, call: Call) -> None:
    assert db.check_credentials(ADMIN, "admin") is True
    call("res.users", "write", [ADMIN], {"password": "s3cret"})
    assert db.check_credentials(ADMIN, "admin") is False
    assert db.check_credentials(ADMIN, "s3cret") is True
    assert db.check_credentials(99, "s3cret") is False


def test_the_seeded_api_key_works_as_bearer_and_as_password(db: Database) -> None:
    assert db.api_key_uid(ADMIN_API_KEY) == ADMIN
    assert db.api_key_uid("0" * 40) is None
    assert db.authenticate("admin", ADMIN_API_KEY) == ADMIN
    assert db.check_credentials(ADMIN, ADMIN_API_KEY) is True


def test_a_generated_api_key_belongs_to_its_user(db: Database, call: Call) -> None:
    user = call("res.users", "create", {"name": "Bot", "login": "bot"})
    key = db.generate_api_key(user, "integration")
    assert len(key) == 40 and db.api_key_uid(key) == user
    assert db.check_credentials(ADMIN, key) is False


def test_api_keys_are_not_readable_over_rpc(call: Call) -> None:
    with pytest.raises(AccessError):
        call("res.users.apikeys", "search_read", [])


# ---------------------------------------------------------------------- call_kw
def test_an_unknown_model_raises_unknown_model(call: Call) -> None:
    with pytest.raises(UnknownModel, match="Object x_foo doesn't exist"):
        call("x_foo", "search", [])


def test_a_private_method_cannot_be_called(call: Call) -> None:
    with pytest.raises(AccessError) as raised:
        call("res.partner", "_search", [])
    assert (
        str(raised.value)
        == "Private methods (such as 'res.partner._search') cannot be called remotely."
    )


def test_an_unknown_method_raises_attribute_error(call: Call) -> None:
    with pytest.raises(UnknownMethod) as raised:
        call("res.partner", "frobnicate", [1])
    assert isinstance(raised.value, AttributeError)
    assert str(raised.value) == "The method 'res.partner.frobnicate' does not exist"


def test_bad_keyword_arguments_raise_type_error(call: Call) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        call("res.partner", "search", [], colour="red")


def test_record_methods_take_ids_as_the_first_argument(db: Database) -> None:
    assert db.call_kw(ADMIN, "res.partner", "read", [1, ["name"]], {}) == [
        {"id": 1, "name": "YourCompany"}
    ]
    with pytest.raises(IndexError):
        db.call_kw(ADMIN, "res.partner", "read", [], {})


def test_the_context_keyword_replaces_the_context(db: Database, call: Call) -> None:
    partner = call("res.partner", "create", {"name": "Archived", "active": False})
    assert partner not in call("res.partner", "search", [])
    assert partner in call("res.partner", "search", [], context={"active_test": False})


def test_results_are_plain_json(small_db: Database, call: Call) -> None:
    for result in (
        call("res.partner", "search", []),
        call("res.partner", "copy", [1]),
        call("helpdesk.ticket", "search_read", [], []),
        call("res.partner", "fields_get"),
        call("res.partner", "name_search", name="a"),
    ):
        json.dumps(result)


def test_the_superuser_calls_without_acl(db: Database) -> None:
    assert db.call_kw(SUPERUSER_ID, "res.users.apikeys", "search", [[]], {}) == [1]


# ---------------------------------------------------------------------- JSON-2
def test_json2_takes_named_parameters_and_ids(db: Database) -> None:
    assert db.call_json2(ADMIN, "res.partner", "read", {"ids": [1], "fields": ["name"]}) == [
        {"id": 1, "name": "YourCompany"}
    ]
    assert db.call_json2(
        ADMIN, "res.partner", "search", {"domain": [("id", "=", 1)], "context": {"lang": "en_US"}}
    ) == [1]


def test_json2_create_returns_a_list_even_for_one_dict(db: Database) -> None:
    created = db.call_json2(ADMIN, "res.partner", "create", {"vals_list": {"name": "J"}})
    assert isinstance(created, list) and len(created) == 1


def test_json2_refuses_ids_for_a_model_method(db: Database) -> None:
    with pytest.raises(UserError, match=r"^cannot call res\.users\.create with ids$"):
        db.call_json2(ADMIN, "res.users", "create", {"ids": [1], "vals_list": {}})


def test_json2_reports_a_missing_argument_as_a_user_error(db: Database) -> None:
    with pytest.raises(UserError, match=r"^missing a required argument: 'domain'$"):
        db.call_json2(ADMIN, "res.partner", "search", {})


def test_json2_context_get_returns_the_keys_user_context(db: Database) -> None:
    uid = db.api_key_uid(ADMIN_API_KEY)
    assert uid is not None
    assert db.call_json2(uid, "res.users", "context_get", {}) == {
        "lang": "en_US",
        "tz": "Europe/Brussels",
        "uid": ADMIN,
    }


def test_json2_unknown_model_and_private_method(db: Database) -> None:
    with pytest.raises(UnknownModel):
        db.call_json2(ADMIN, "x_nope", "search", {"domain": []})
    with pytest.raises(AccessError, match="Private methods"):
        db.call_json2(ADMIN, "res.partner", "_read_rows", {})


# ---------------------------------------------------------------------- transactions
def test_a_failing_call_rolls_back_everything_it_did(call: Call) -> None:
    before = call("res.partner", "search_count", [])
    with pytest.raises(ValueError):
        call("res.partner", "create", [{"name": "kept?"}, {"name": "bad", "type": "nope"}])
    assert call("res.partner", "search_count", []) == before


def test_committed_data_survives_reopening_the_file(db_file: str) -> None:
    db = Database("psa", db_file)
    partner = db.call_kw(ADMIN, "res.partner", "create", [{"name": "Persistent"}], {})
    db.close()
    reopened = Database("psa", db_file)
    try:
        assert reopened.call_kw(ADMIN, "res.partner", "read", [[partner], ["name"]], {}) == [
            {"id": partner, "name": "Persistent"}
        ]
    finally:
        reopened.close()


def test_a_database_without_seed_has_only_the_system_user(db_file: str) -> None:
    bare = Database("bare", db_file, seed=False)
    try:
        assert bare.authenticate("admin", "admin") is None
        assert bare.call_kw(
            SUPERUSER_ID, "res.users", "search", [[]], {"context": {"active_test": False}}
        ) == [SUPERUSER_ID]
        assert (
            bare.call_kw(
                SUPERUSER_ID, "ir.model", "search_count", [[("model", "=", "helpdesk.ticket")]], {}
            )
            == 1
        )
    finally:
        bare.close()


def test_concurrent_calls_lose_no_writes(db: Database) -> None:
    make_model(db, "x_hit", [{"name": "x_thread", "ttype": "integer"}])
    threads, per_thread = 8, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def hammer(index: int) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(per_thread):
                db.call_kw(ADMIN, "x_hit", "create", [{"x_thread": index}], {})
                db.call_kw(ADMIN, "res.partner", "message_post", [[1]], {"body": str(index)})
                db.call_kw(ADMIN, "x_hit", "search_count", [[("x_thread", "=", index)]], {})
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=hammer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors
    assert db.call_kw(ADMIN, "x_hit", "search_count", [[]], {}) == threads * per_thread
    groups = db.call_kw(
        ADMIN,
        "x_hit",
        "formatted_read_group",
        [],
        {"groupby": ["x_thread"], "aggregates": ["__count"]},
    )
    assert [g["__count"] for g in groups] == [per_thread] * threads
    assert (
        db.call_kw(
            ADMIN,
            "mail.message",
            "search_count",
            [[("model", "=", "res.partner"), ("res_id", "=", 1)]],
            {},
        )
        == threads * per_thread
    )
