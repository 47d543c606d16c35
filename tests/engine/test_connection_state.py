"""ConnectionState: plugins' durable per-connection values, named locks and the exactly-once outbox,
on SQLite and (with TILLBRIDGE_TEST_POSTGRES_URL) PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from typing import Iterator

import pytest

from tillbridge import ConnectionState, OutboxEntry
from tillbridge.app import App
from tillbridge.storage.models import now_utc
from tillbridge.testing import temporary_app


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest) -> Iterator[App]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    with temporary_app(url, entry_points=False) as made:
        yield made


def _state(app: App, connection: str, namespace: str = "mine") -> ConnectionState:
    try:
        conn = app.store.connection(connection)
    except Exception:
        conn = app.store.create_connection(connection)
    return ConnectionState(app.store, conn.id or 0, connection, namespace)


# --- values ----------------------------------------------------------------------------------------
def test_values_round_trip_as_json(app: App) -> None:
    state = _state(app, "shop")
    assert state.get("budget") is None
    assert state.get("budget", {"none": True}) == {"none": True}
    state.set("budget", {"left": 12, "note": "ok", "parts": [1, 2.5, None, True]})
    assert state.get("budget") == {"left": 12, "note": "ok", "parts": [1, 2.5, None, True]}
    state.set("budget", "replaced")
    assert _state(app, "shop").get("budget") == "replaced"  # another object, same row: it was committed
    assert state.delete("budget") is True
    assert state.get("budget", 0) == 0
    assert state.delete("budget") is False


def test_namespaces_and_connections_do_not_meet(app: App) -> None:
    mine, theirs, other_shop = _state(app, "shop", "mine"), _state(app, "shop", "theirs"), _state(app, "other", "mine")
    mine.set("k", 1)
    theirs.set("k", 2)
    other_shop.set("k", 3)
    assert (mine.get("k"), theirs.get("k"), other_shop.get("k")) == (1, 2, 3)
    theirs.delete("k")
    assert (mine.get("k"), theirs.get("k"), other_shop.get("k")) == (1, None, 3)


def test_deleting_the_connection_forgets_its_state(app: App) -> None:
    state, kept = _state(app, "shop"), _state(app, "other")
    state.set("k", 1)
    kept.set("k", 2)
    state.outbox("invoice:x").add({"r1": {"n": 1}})
    assert app.store.delete_connection("shop")
    assert kept.get("k") == 2
    assert _state(app, "shop").get("k") is None
    assert _state(app, "shop").outbox("invoice:x").entries() == {}


def test_settings_are_read_fresh(app: App) -> None:
    state = _state(app, "shop")
    app.store.set_settings(state.connection_id, {"some_switch": True})
    assert state.settings()["some_switch"] is True
    app.store.set_settings(state.connection_id, {"some_switch": False})
    assert state.settings()["some_switch"] is False


# --- outbox ----------------------------------------------------------------------------------------
def test_outbox_life_of_a_row(app: App) -> None:
    box = _state(app, "shop").outbox("invoice:x")
    added = box.add({"r1": {"number": "INV-1"}, "r2": {"number": "INV-2"}})
    assert set(added) == {"r1", "r2"}
    first = added["r1"]
    assert isinstance(first, OutboxEntry)
    assert (first.status, first.attempts, first.target_id, first.payload) == ("pending", 0, None, {"number": "INV-1"})
    assert first.idempotency_key == box.idempotency_key("r1", 0) and not first.in_doubt

    keys = box.begin_attempt(["r1", "r2"])
    assert keys["r1"] == box.idempotency_key("r1", 1) != first.idempotency_key
    assert keys["r1"] != keys["r2"]
    doubt = box.entries(["r1"])["r1"]
    assert doubt.attempts == 1 and doubt.in_doubt  # attempted, outcome not recorded

    box.mark_sent("r1", "remote-1")
    box.mark_failed("r2", "refused: " + "x" * 5000)
    entries = box.entries()
    assert list(entries) == ["r1", "r2"]  # oldest first
    assert (entries["r1"].status, entries["r1"].target_id, entries["r1"].in_doubt) == ("sent", "remote-1", False)
    assert entries["r1"].sent_at is not None
    assert entries["r2"].status == "failed" and len(entries["r2"].last_error or "") == 4000
    assert box.counts() == {"pending": 0, "sent": 1, "failed": 1, "deferred": 0}
    assert box.sent_target_ids() == {"remote-1"}
    assert set(box.entries(status="failed")) == {"r2"}

    # a sent row is final: no mark changes it, adding again does not touch its payload
    box.mark_failed("r1", "late refusal")
    box.mark_deferred(["r1", "r2"], "quota spent")
    again = box.add({"r1": {"number": "CHANGED"}, "r2": {"number": "INV-2b"}})
    assert (again["r1"].status, again["r1"].payload, again["r1"].last_error) == ("sent", {"number": "INV-1"}, None)
    assert (again["r2"].status, again["r2"].attempts, again["r2"].payload) == ("deferred", 1, {"number": "INV-2b"})
    assert again["r2"].in_doubt and again["r2"].last_error == "quota spent"

    assert box.begin_attempt(["r2"]) == {"r2": box.idempotency_key("r2", 2)}
    assert box.entries(["r2"])["r2"].status == "pending"
    assert box.entries([]) == {} and box.add({}) == {}


def test_outbox_kinds_and_connections_are_apart(app: App) -> None:
    shop, other = _state(app, "shop"), _state(app, "other")
    shop.outbox("a").add({"r": 1})
    shop.outbox("b").add({"r": 2})
    other.outbox("a").add({"r": 3})
    shop.outbox("a").mark_sent("r", "t")
    assert shop.outbox("b").entries()["r"].status == "pending"
    assert other.outbox("a").entries()["r"].payload == 3 and other.outbox("a").sent_target_ids() == set()
    # the same record in another connection or kind gets another idempotency key
    assert len({shop.outbox("a").idempotency_key("r", 0), shop.outbox("b").idempotency_key("r", 0),
                other.outbox("a").idempotency_key("r", 0)}) == 3


def test_outbox_lists_rows_made_since(app: App) -> None:
    box = _state(app, "shop").outbox("a")
    box.add({"r": 1})
    assert set(box.entries(created_since=now_utc() - timedelta(minutes=5))) == {"r"}
    assert box.entries(created_since=now_utc() + timedelta(minutes=5)) == {}


# --- locks -----------------------------------------------------------------------------------------
def test_lock_excludes_a_second_holder_in_the_process(app: App) -> None:
    held = _state(app, "shop").lock("refresh")
    other_holder = _state(app, "shop").lock("refresh")  # another object, same lock
    got: list[bool] = []
    with held:
        worker = threading.Thread(target=lambda: got.append(other_holder.acquire(timeout=0.2)))
        worker.start()
        worker.join()
        assert got == [False]
        # other names, namespaces and connections are other locks
        for free in (_state(app, "shop").lock("other"), _state(app, "shop", "theirs").lock("refresh"),
                     _state(app, "other").lock("refresh")):
            assert free.acquire(timeout=1)
            free.release()
    assert other_holder.acquire(timeout=1)
    other_holder.release()
    with held:  # the object can be entered again
        pass


def test_lock_excludes_another_process(app: App) -> None:
    state = _state(app, "shop")
    url = app.store.engine.url.render_as_string(hide_password=False)
    probe = ("import sys\nfrom sqlalchemy import create_engine\nfrom tillbridge.locks import StateLock\n"
             f"lock = StateLock(create_engine({url!r}), {state.connection_id}, 'mine', 'refresh')\n"
             "got = lock.acquire(timeout=0.3)\nprint(got)\nlock.release() if got else None\n")

    def other_process_gets_it() -> bool:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip() == "True"

    with state.lock("refresh"):
        assert other_process_gets_it() is False
    assert other_process_gets_it() is True
