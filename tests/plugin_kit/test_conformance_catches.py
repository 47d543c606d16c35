"""The conformance suite fails connectors that break the contract, each for the right reason.

The baseline is the connector ``tillbridge plugin new`` generates (rendered from the template
and imported, not installed); each variant below breaks one rule and must fail exactly the
check about that rule, while the baseline passes every check.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import pytest

from tillbridge import AuthError, Outgoing, Page, PushResult, RateLimited, RemoteError
from tillbridge.scaffold import PluginNames, render
from tillbridge.testing import ConnectorConformance

CHECKS = ["test_declarations_are_coherent", "test_check_describes_the_account",
          "test_fetch_returns_canonical_entities", "test_ids_are_stable_across_reads",
          "test_pagination_terminates_and_resumes_from_cursor", "test_push_is_idempotent",
          "test_auth_failure_raises_auth_error", "test_rate_limits_are_retried_then_raised"]


@pytest.fixture(scope="module")
def widgets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated ``widgets`` plugin, importable for this module's tests."""
    root = tmp_path_factory.mktemp("generated") / "widgets"
    names = PluginNames.from_name("widgets")
    render(names, root, tillbridge_version="0.1.0")
    sys.path.insert(0, str(root / "src"))
    try:
        yield importlib.import_module(f"{names.package}.plugin")
    finally:
        sys.path.remove(str(root / "src"))
        for name in [m for m in sys.modules if m.startswith(names.package)]:
            del sys.modules[name]


def variants(base: type) -> dict[str, tuple[type, set[str]]]:
    """name -> (connector class, the checks it must fail: those about the rule it breaks)."""

    class UnstableIds(base):  # type: ignore[valid-type,misc]
        def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
            page = super().fetch(entity_type, cursor, since=since)
            return Page([r.model_copy(update={"id": f"{r.id}-{uuid.uuid4().hex[:4]}"}) for r in page.records],
                        page.cursor, page.more)

    class IgnoresCursor(base):  # type: ignore[valid-type,misc]
        def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
            return super().fetch(entity_type, None, since=since)

    class SkipsARecordPerPage(base):  # type: ignore[valid-type,misc]
        def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
            page = super().fetch(entity_type, cursor, since=since)
            skipped = str(int(page.cursor or 0) + 1) if page.more else page.cursor
            return Page(page.records, skipped, page.more)

    class WrongEntityType(base):  # type: ignore[valid-type,misc]
        def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
            return super().fetch("product", cursor, since=since)

    class DuplicatesOnRetry(base):  # type: ignore[valid-type,misc]
        def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
            fresh = [Outgoing(o.entity, str(uuid.uuid4()), o.exists, o.source_key, o.source_id) for o in records]
            return super().push(entity_type, fresh)

    class SwallowsAuthErrors(base):  # type: ignore[valid-type,misc]
        def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
            try:
                return super().fetch(entity_type, cursor, since=since)
            except AuthError:
                return Page([], cursor, False)

    class HidesRateLimits(base):  # type: ignore[valid-type,misc]
        def _send(self, method: str, path: str, **kwargs: Any) -> Any:
            try:
                return super()._send(method, path, extensions={"tillbridge_retry": False}, **kwargs)
            except RateLimited as exc:
                raise RemoteError(exc.message, status=429) from None

    ids_compared = {"test_ids_are_stable_across_reads", "test_pagination_terminates_and_resumes_from_cursor",
                    "test_push_is_idempotent", "test_rate_limits_are_retried_then_raised"}
    return {
        "baseline": (base, set()),
        "unstable ids": (UnstableIds, ids_compared),
        "ignores the cursor": (IgnoresCursor, {"test_pagination_terminates_and_resumes_from_cursor"}),
        "skips a record per page": (SkipsARecordPerPage, {"test_pagination_terminates_and_resumes_from_cursor"}),
        "wrong entity type": (WrongEntityType, {"test_fetch_returns_canonical_entities"}),
        "duplicates on retry": (DuplicatesOnRetry, {"test_push_is_idempotent"}),
        "swallows auth errors": (SwallowsAuthErrors, {"test_auth_failure_raises_auth_error"}),
        "hides rate limits": (HidesRateLimits, {"test_rate_limits_are_retried_then_raised"}),
    }


VARIANTS = ["baseline", "unstable ids", "ignores the cursor", "skips a record per page", "wrong entity type",
            "duplicates on retry", "swallows auth errors", "hides rate limits"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_suite_fails_exactly_the_broken_rule(variant: str, widgets: ModuleType, tmp_path: Path) -> None:
    connector_module = importlib.import_module(widgets.__name__.replace(".plugin", ".connector"))
    cls, must_fail = variants(connector_module.WidgetsConnector)[variant]

    class Suite(ConnectorConformance):
        connector_class = cls
        plugins = [("widgets", widgets)]
        emulator_options = {"products": 7, "customers": 3}
        max_pages = 25

    # One system for all checks (they leave it as they found it, bar one pushed sample), to keep
    # this file fast; the suite itself gives every check a fresh one.
    failed = set()
    suite = Suite()
    with suite.conformance_run(tmp_path) as run:
        for check in CHECKS:
            try:
                getattr(suite, check)(run)
            except (AssertionError, pytest.fail.Exception):
                failed.add(check)
    assert failed == must_fail, f"{variant}: failed {sorted(failed)}, expected {sorted(must_fail)}"


def test_a_connector_that_is_not_installed_fails_with_how_to_install(tmp_path: Path) -> None:
    class Suite(ConnectorConformance):
        system = "not-installed-anywhere"

    with pytest.raises(Exception, match="no connector 'not-installed-anywhere' is installed") as caught:
        with Suite().conformance_run(tmp_path):
            pass
    assert "pip install -e ." in str(caught.value)
