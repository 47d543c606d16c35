"""The daemon's parts on their own: backoff, turns, webhook handlers, logs, options, retention."""

from __future__ import annotations

import io
import json
import logging
import random
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from tillbridge.daemon.__main__ import split_arguments
from tillbridge.daemon.backoff import BackoffPolicy, FlowState
from tillbridge.daemon.handlers import WebhookRejected, WebhookRequest, WebhookUnverifiable, signature_matches
from tillbridge.daemon.jobs import Turns
from tillbridge.daemon.logging_setup import JsonFormatter, setup_logging
from tillbridge.daemon.reconcile import enabled_flows, interval_for
from tillbridge.daemon.retention import prune
from tillbridge.cli.commands_daemon import parse_listen
from tillbridge.flows import CORE_FLOWS, Flow
from tillbridge.plugins import Plugins
from tillbridge.storage.models import LogEntry, SyncRun, WebhookDelivery
from tillbridge_lightspeed.emulator.webhooks import build_delivery
from tillbridge_unleashed.emulator import webhook_signature


# --- backoff and turns -------------------------------------------------------------------------------
def test_backoff_grows_from_the_interval_and_is_capped() -> None:
    policy = BackoffPolicy(max_delay=900, jitter=0)
    assert [policy.delay(n, 60) for n in range(6)] == [0, 60, 120, 240, 480, 900]
    assert policy.delay(50, 60) == 900
    assert policy.delay(3, 1800) == 1800  # never shorter than the flow's own interval
    jittered = BackoffPolicy(max_delay=900, jitter=0.1)
    rng = random.Random(1)
    assert all(54 <= jittered.delay(1, 60, rng) <= 66 for _ in range(50))


def test_flow_state_reports_backoff_and_staleness() -> None:
    state = FlowState("shop", "sales", 60)
    now = time.time()
    state.fresh_as_of, state.last_success = now - 30, now - 29
    state.consecutive_failures, state.not_before = 2, now + 100
    view = state.as_dict(now)
    assert view["staleness_seconds"] == 30.0
    assert view["consecutive_failures"] == 2 and 99 < view["backoff_seconds"] <= 100  # type: ignore[operator]
    assert state.job_id == "shop:sales"


def test_turns_keep_opposite_directions_apart_without_starving_either() -> None:
    now = [0.0]
    turns = Turns(clock=lambda: now[0])
    assert turns.enter("pos>inventory", "sales")
    assert turns.enter("pos>inventory", "products")  # same direction: side by side
    now[0] = 1
    assert not turns.enter("inventory>pos", "stock")  # the other direction waits...
    now[0] = 2
    assert not turns.enter("pos>inventory", "customers")  # ...and no newcomer overtakes it
    assert turns.leave("pos>inventory") == []
    assert turns.leave("pos>inventory") == ["stock"]  # the last one out lets it in
    assert not turns.enter("pos>inventory", "sales")  # stock waited longer than customers and sales
    assert turns.enter("inventory>pos", "stock")
    assert turns.enter("accounting>x", "other")  # unrelated directions never wait
    assert turns.leave("inventory>pos") == ["customers", "sales"]
    assert turns.enter("pos>inventory", "customers") and turns.enter("pos>inventory", "sales")


def test_a_stale_wait_holds_nobody_back() -> None:
    now = [0.0]
    turns = Turns(clock=lambda: now[0])
    assert turns.enter("pos>inventory", "sales")
    assert not turns.enter("inventory>pos", "stock")  # then stock goes into backoff: never retries
    turns.leave("pos>inventory")
    now[0] = 5
    assert not turns.enter("pos>inventory", "sales")  # stock still has priority...
    now[0] = 31
    assert turns.enter("pos>inventory", "sales")  # ...but not forever
    turns.forget("stock")
    assert turns.leave("pos>inventory") == []


# --- intervals -----------------------------------------------------------------------------------------
def test_intervals_come_from_settings_with_documented_defaults() -> None:
    flows = {f.name: f for f in CORE_FLOWS}
    assert interval_for(flows["sales"], {"interval_sales": 30}) == 30
    assert interval_for(flows["sales"], {}) == 60
    assert interval_for(flows["products"], {}) == 900
    invoices = Flow("invoices", "invoice", "inventory", "accounting")
    assert interval_for(invoices, {}) == 300
    plugin_flow = Flow("returns", "sale", "pos", "inventory", interval_setting="interval_returns")
    assert interval_for(plugin_flow, {"interval_returns": 42}) == 42
    enabled = {f.name for f in enabled_flows(list(CORE_FLOWS), {"pos", "inventory"}, {"export_stock": True})}
    assert enabled == {"products", "customers", "sales", "stock"}
    assert not enabled_flows(list(CORE_FLOWS), {"pos"}, {})


# --- webhook handlers (registered by the plugins) ------------------------------------------------------
@pytest.fixture(scope="module")
def handlers() -> dict:  # type: ignore[type-arg]
    return Plugins().webhook_handlers()


def ls_request(body_fields: dict[str, str], secret: str) -> WebhookRequest:
    delivery = build_delivery({"id": "h", "url": "u"}, body_fields.get("type", "sale.update"),
                              json.loads(body_fields["payload"]), "store", secret)
    return WebhookRequest({k.lower(): v for k, v in delivery.headers.items()}, delivery.body, time.time())


def test_lightspeed_deliveries_are_verified_with_the_client_secret(handlers) -> None:  # type: ignore[no-untyped-def]
    handler = handlers["lightspeed"]
    request = ls_request({"payload": json.dumps({"id": "s1", "line_items": []})}, "secret")
    handler.verify(request, {"client_secret": "secret"}, max_age=None)
    with pytest.raises(WebhookRejected):
        handler.verify(request, {"client_secret": "another"}, max_age=None)
    with pytest.raises(WebhookUnverifiable):
        handler.verify(request, {"personal_token": "x"}, max_age=None)
    tampered = WebhookRequest(request.headers, request.body + b"&x=1", request.received_at)
    with pytest.raises(WebhookRejected):
        handler.verify(tampered, {"client_secret": "secret"}, max_age=None)
    (event,) = handler.parse(request)
    assert event.event_type == "sale.update" and event.record_id == "s1"
    assert handler.flows_for("sale.update") == ("sales",)
    assert handler.flows_for("inventory.update") == ()
    assert set(handler.flows_for("something.new")) >= {"sales", "products", "customers"}
    untyped = WebhookRequest({}, urlencode({"payload": json.dumps({"id": "p", "sku": "A1"})}).encode(), 0)
    assert handler.parse(untyped)[0].event_type == "product.update"  # told by its shape
    # the same body delivered again has the same key: de-duplicated
    assert handler.parse(request)[0].delivery_key == event.delivery_key


def test_unleashed_deliveries_need_the_subscription_key_and_a_fresh_timestamp(handlers) -> None:  # type: ignore[no-untyped-def]
    handler = handlers["unleashed"]
    body = json.dumps({"subscriptionId": "SUB", "eventNotificationId": "n-1", "eventType": "stockonhand.updated",
                       "data": json.dumps({"productGuid": "g1"})}).encode()
    stamp = str(int(time.time()))
    headers = {"x-unleashed-timestamp": stamp, "x-unleashed-signature": webhook_signature("k", stamp, body)}
    request = WebhookRequest(headers, body, time.time())
    keys = {"webhook_signing_keys": {"sub": "k"}}
    handler.verify(request, keys, max_age=300)
    with pytest.raises(WebhookRejected):
        handler.verify(request, {"webhook_signing_keys": {"sub": "other"}}, max_age=300)
    with pytest.raises(WebhookUnverifiable):
        handler.verify(request, {"api_id": "a"}, max_age=300)
    late = WebhookRequest(headers, body, time.time() + 3600)
    with pytest.raises(WebhookRejected):
        handler.verify(late, keys, max_age=300)
    handler.verify(late, keys, max_age=None)
    (event,) = handler.parse(request)
    assert event.delivery_key == "unleashed:n-1" and event.record_id == "g1"  # data given as a JSON string
    assert handler.flows_for("stockonhand.updated") == ("stock",)
    with pytest.raises(WebhookRejected):
        handler.parse(WebhookRequest({}, b"{}", 0))


def test_signatures_match_in_hex_or_base64_only() -> None:
    mac = bytes(range(32))
    import base64

    assert signature_matches(mac, mac.hex()) and signature_matches(mac, mac.hex().upper())
    assert signature_matches(mac, base64.b64encode(mac).decode())
    assert not signature_matches(mac, "") and not signature_matches(mac, "zz")


# --- logs, options -------------------------------------------------------------------------------------
def test_json_logs_carry_connection_and_flow() -> None:
    stream = io.StringIO()
    setup_logging("json", "info", stream=stream)
    try:
        logging.getLogger("tillbridge.daemon.jobs").info("shop sales: ok", extra={"connection": "shop", "flow": "sales"})
        logging.getLogger("tillbridge.daemon.jobs").debug("hidden")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("x").exception("failed")
    finally:
        setup_logging("text", "warning")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["connection"] == "shop" and lines[0]["flow"] == "sales" and lines[0]["level"] == "info"
    assert lines[0]["message"] == "shop sales: ok" and lines[0]["ts"].endswith("+00:00")
    assert len(lines) == 2 and "ValueError: boom" in lines[1]["exc"]
    assert JsonFormatter().format(logging.makeLogRecord({"msg": "plain"})).startswith("{")


def test_listen_addresses_and_module_arguments() -> None:
    assert parse_listen("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_listen(":8480") == ("127.0.0.1", 8480)
    assert parse_listen("[::1]:80") == ("::1", 80)
    with pytest.raises(Exception):
        parse_listen("nowhere")
    assert split_arguments(["--database-url", "sqlite:///x", "-v", "--no-webhooks"]) == ("sqlite:///x", ["--no-webhooks"])
    assert split_arguments(["--database-url=sqlite:///y", "--listen", ":1"]) == ("sqlite:///y", ["--listen", ":1"])
    assert split_arguments(["--listen", ":1"]) == (None, ["--listen", ":1"])


# --- retention -----------------------------------------------------------------------------------------
def test_retention_prunes_old_log_runs_and_receipts_but_keeps_the_last_runs(make_app, database_url) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url)
    conn = app.store.create_connection("shop")
    app.set_settings(conn, {"log_retention_days": 10})
    old = datetime.now(timezone.utc) - timedelta(days=30)
    with app.store.session() as s:
        s.add(LogEntry(connection_id=conn.id, level="info", message="old", created_at=old))
        s.add(LogEntry(connection_id=conn.id, level="info", message="new"))
        s.add(SyncRun(connection_id=conn.id, flow="sales", status="ok", started_at=old, finished_at=old))  # last good
        s.add(SyncRun(connection_id=conn.id, flow="sales", status="failed", started_at=old))
        s.add(SyncRun(connection_id=conn.id, flow="sales", status="failed", started_at=old))  # the latest
        s.add(SyncRun(connection_id=conn.id, flow="stock", status="ok", started_at=old))
        s.add(SyncRun(connection_id=conn.id, flow="stock", status="ok", started_at=old))
        s.add(WebhookDelivery(connection_id=conn.id, system="x", delivery_key="old", received_at=old))
        s.add(WebhookDelivery(connection_id=conn.id, system="x", delivery_key="new"))
        s.commit()
    assert prune(app, webhook_receipt_days=4) == {"shop": 4}  # 1 log line, 2 runs, 1 receipt
    with app.store.session() as s:
        assert [e.message for e in s.exec(select(LogEntry))] == ["new"]
        runs = sorted((r.flow, r.status) for r in s.exec(select(SyncRun)))
        assert runs == [("sales", "failed"), ("sales", "ok"), ("stock", "ok")]
        assert [d.delivery_key for d in s.exec(select(WebhookDelivery))] == ["new"]
    assert app.store.last_success(conn.id or 0, "sales") is not None
