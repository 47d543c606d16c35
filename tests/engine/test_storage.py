"""Storage on SQLite and PostgreSQL: migrations, the one-to-one map, upserts, encrypted credentials."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tillbridge import ConfigError
from tillbridge.storage.models import LocationMap


def test_migrations_are_idempotent_and_create_every_table(make_app, database_url: str) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url)
    again = make_app(database_url)  # a second start migrates nothing and works
    tables = set(sa.inspect(app.engine).get_table_names())
    assert {"connection", "binding", "cursor", "location_map", "log_entry", "outbox", "credential"} <= tables
    assert again.store.connections() == []


def test_one_outlet_per_warehouse_and_one_warehouse_per_outlet(make_app, database_url: str) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url)
    conn = app.store.create_connection("shop")
    app.store.replace_known_locations(conn.id, "pos", "outlet", [("o1", "Queen St", None), ("o2", "Ponsonby", None)])
    app.store.replace_known_locations(conn.id, "inv", "warehouse", [("w1", "Main", "W1"), ("w2", "Back", "W2")])
    app.store.map_location(conn.id, "o1", "w1")
    with pytest.raises(ConfigError) as refused:
        app.store.map_location(conn.id, "o2", "w1")
    assert "Queen St" in refused.value.message  # names the outlet holding the warehouse
    app.store.map_location(conn.id, "o1", "w2")  # remapping an outlet moves it
    assert app.store.location_map(conn.id) == {"o1": "w2"}
    app.store.map_location(conn.id, "o2", "w1")
    assert app.store.location_map(conn.id) == {"o1": "w2", "o2": "w1"}
    # The database itself enforces the rule, whatever the code above does.
    with app.store.session() as s:
        s.add(LocationMap(connection_id=conn.id, outlet_id="o3", warehouse_id="w1"))
        with pytest.raises(IntegrityError):
            s.commit()
    with app.store.session() as s:
        s.add(LocationMap(connection_id=conn.id, outlet_id="o1", warehouse_id="w9"))
        with pytest.raises(IntegrityError):
            s.commit()


def test_bindings_upsert_and_cursor_commit_together(make_app, database_url: str) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url)
    conn = app.store.create_connection("shop")
    row = {"connection_id": conn.id, "entity_type": "product", "source_system": "a", "source_id": "1",
           "target_system": "b", "target_id": "x", "source_key": "P1", "fingerprint": "f1"}
    with app.store.session() as s:
        app.store.save_bindings(s, [row])
        app.store.set_cursor(s, conn.id, "products", "10")
        s.rollback()  # nothing is kept without the commit
    assert app.store.cursor(conn.id, "products") is None
    with app.store.session() as s:
        app.store.save_bindings(s, [row])
        app.store.save_bindings(s, [{**row, "fingerprint": "f2"}])
        app.store.set_cursor(s, conn.id, "products", "10")
        s.commit()
    with app.store.session() as s:
        bound = app.store.bindings(s, conn.id, "product", "a", "b", ["1"])
        assert bound["1"].fingerprint == "f2"
        assert app.store.resolve_ids(s, conn.id, "product", "b", "a", ["x"]) == {"x": "1"}  # reverse lookup
    assert app.store.cursor(conn.id, "products") == "10"
    assert app.store.binding_count(conn.id) == 1


def test_credentials_are_encrypted_at_rest(make_app, database_url: str) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url)
    conn = app.store.create_connection("shop")
    app.store.save_credentials(conn.id, "unleashed", {"api_id": "id-1", "api_key": "very-secret-key"})
    with app.engine.connect() as c:
        raw = c.execute(sa.text("SELECT ciphertext FROM credential")).scalar_one()
    assert b"very-secret-key" not in bytes(raw)
    assert app.store.credentials(conn.id, "unleashed")["api_key"] == "very-secret-key"


def test_log_keeps_one_open_entry_per_failing_record(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(None)
    conn = app.store.create_connection("shop")
    for _ in range(3):
        app.store.write_log(conn.id, "error", "refused", flow="products", source_id="p1", record_key="P1",
                            category="failed", fix="do this")
    entries = app.store.log_entries(conn.id, open_only=True)
    assert len(entries) == 1 and entries[0].attempts == 3
    with app.store.session() as s:
        app.store.resolve_log(s, conn.id, "products", ["p1"])
        s.commit()
    assert app.store.log_entries(conn.id, open_only=True) == []
