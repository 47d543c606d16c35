"""Changing a connection's settings: typed parsing, the remote checks of settings that name
something in a system, and what a changed setting resets. The specs are in :mod:`.settings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import httpx
from sqlalchemy import update
from sqlmodel import col

from .app import App, ConnectionRuntime
from .errors import SettingError, TillbridgeError
from .settings import SettingSpec
from .storage.models import Binding


# --- settings ------------------------------------------------------------------------------------
@dataclass
class SettingsChange:
    """What ``set_settings`` saved, and what it could not check (the remote was unreachable)."""

    values: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def set_settings(app: App, name: str, raw: Mapping[str, Any]) -> SettingsChange:
    """Validate and save settings of a connection (the CLI and the console both come here).

    On top of the typed checks of the setting specs, a setting with a ``check`` is verified
    against the system of its ``role`` (e.g. that a named group exists there) and saved as the
    check normalised it. When that system cannot be reached the value is saved and the change
    says it was not checked.
    """
    conn = app.store.connection(name)
    registry = app.registries.settings
    parsed = {key: registry.spec(key).parse(value) for key, value in raw.items()}
    change = SettingsChange(values={})
    wanted = {key: value for key, value in parsed.items() if registry.spec(key).check is not None and value}
    if wanted:
        normalised = _check_remotely(app, name, {key: (registry.spec(key), value) for key, value in wanted.items()},
                                     change.notes)
        raw = {**raw, **normalised}
    before = app.settings(conn)
    change.values = app.set_settings(conn, dict(raw))
    for flow in app.flows().values():
        if any(before.get(key) != change.values.get(key) for key in flow.reread_on_settings):
            # What the flow writes changed for every record, not only for the ones modified since
            # its last run: read them all again (unchanged records are still not sent).
            app.store.reset_cursor(conn.id or 0, flow.name)
    if before.get("product_master") != change.values.get("product_master"):
        _forget_written_content(app, conn.id or 0, "product")
    return change


def _forget_written_content(app: App, connection_id: int, entity_type: str) -> None:
    """A new master: what was "already in step" under the old one is not any more (an edit the
    old master's side kept out was recorded as seen). Each record is compared afresh once."""
    with app.store.session() as s:
        s.exec(update(Binding).where(col(Binding.connection_id) == connection_id,
                                     col(Binding.entity_type) == entity_type).values(fingerprint=None,
                                                                                target_fingerprint=None))
        s.commit()


def _check_remotely(app: App, name: str, wanted: dict[str, tuple[SettingSpec, Any]],
                    notes: list[str]) -> dict[str, Any]:
    """Each setting's ``check`` with one quick connector per role; ``{name: normalised value}``."""
    rt = app.runtime(name)
    out: dict[str, Any] = {}
    for role in sorted({spec.role or "" for spec, _value in wanted.values()}):
        if not rt.has_role(role):
            notes.append(f"not checked against the {role} system: the connection has none yet")
            continue
        connector = _probe_connector(app, rt, role)
        try:
            for key, (spec, value) in wanted.items():
                if spec.role == role and spec.check is not None:
                    out[key] = spec.check(connector, value)
        except SettingError:
            raise
        except (TillbridgeError, httpx.HTTPError) as exc:
            reason = exc.message if isinstance(exc, TillbridgeError) else type(exc).__name__
            notes.append(f"saved without checking it against {connector.system}: {reason}")
            out = {key: v for key, v in out.items() if wanted[key][0].role != role}
        finally:
            connector.http.close()
    return out


def _probe_connector(app: App, rt: ConnectionRuntime, role: str) -> Any:
    """A connector for one quick look (one attempt, short timeout): a settings check must not
    keep the user waiting through the sync's retries when the remote is down."""
    return rt.build_connector(role, attempts=1, timeout=10.0)


def read_all(app: App, connector: Any, entity_type: str) -> list[Any]:
    """Every record of ``entity_type`` the connector's system holds (short lists: taxes, groups)."""
    records: list[Any] = []
    cursor = None
    while True:
        page = app.plugins.fetch_entities(connector, entity_type, cursor, None)
        records.extend(page.records)
        cursor = page.cursor
        if not page.more:
            return records
