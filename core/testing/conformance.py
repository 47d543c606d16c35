"""The connector conformance suite: what every connector must do, checked the same way for all.

In the spirit of singer-sdk's generated tap tests, a connector author writes a few lines::

    from tillbridge.testing import ConnectorConformance

    class TestAcmeConformance(ConnectorConformance):
        system = "acme"                      # found through the `tillbridge` entry points
        emulator_options = {"products": 12}  # passed to the connector's emulator

and pytest runs every ``test_*`` method below against the connector, talking to its emulator
over loopback HTTP with the framework's own HTTP client (retries, pacing, auth). The checks:

* declarations are coherent (roles, entity types, credential fields, emulator);
* ``fetch`` returns valid canonical entities of the type asked for;
* ids are stable across two reads;
* pagination terminates, and reading page by page — each page by a fresh connector resuming
  from the stored cursor, as after a restart — gives the same records as reading in one go;
* ``push`` is idempotent: the same ``Outgoing`` pushed twice leaves one record (checked by a
  fetch);
* broken credentials surface as :class:`~tillbridge.AuthError`;
* a burst of HTTP 429 answers is waited out (``Retry-After`` honoured), and an endless one
  surfaces as :class:`~tillbridge.RateLimited`.

Checks that cannot apply say so and skip (no emulator: no fault injection; no secret
credentials: nothing to break; no writes: nothing to push). Override the small methods in the
"for authors" section to adapt the suite (a file-based system, samples with references).
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping, Sequence

import pytest

from ..app import App
from ..connector import ROLES, Connector, Outgoing, PushResult
from ..entities import ENTITY_TYPES, Entity
from ..errors import AuthError, ConfigError, RateLimited, TillbridgeError, Unsupported
from .connectors import FeedRead, build_connector, close_connector, read_feed
from .helpers import temporary_app
from .samples import default_sample
from .systems import SystemUnderTest, start_emulated_system

#: Source system name the suite's pushed samples claim to come from (for deterministic ids).
SAMPLE_SOURCE = "conformance"


@dataclass
class ConformanceRun:
    """One test's view of the connector under test: fresh connector instances on demand.

    Every instance gets its own HTTP client; waits the framework would sleep (retries, pacing)
    are recorded in ``waits`` instead, so tests cost no wall-clock time for them.
    """

    app: App
    connector_class: type[Connector]
    system: SystemUnderTest
    settings: Mapping[str, Any]
    max_pages: int
    waits: list[float] = field(default_factory=list)
    _open: list[Connector] = field(default_factory=list)
    _locations: set[str] | None = None

    def connector(self, *, credentials: Mapping[str, Any] | None = None, page_size: int | None = None) -> Connector:
        """A new connector instance, as a new process would build it."""
        instance = build_connector(
            self.connector_class, self.system.base_url,
            self.system.credentials if credentials is None else credentials,
            connection="conformance", settings=self.settings, page_size=page_size,
            mapped_locations=self.mapped_locations, sleep=self.waits.append,
        )
        self._open.append(instance)
        return instance

    def mapped_locations(self) -> set[str]:
        """Every location of the system counts as mapped, so location-bound feeds have data."""
        if self._locations is None:
            self._locations = set()
            if "location" in self.connector_class.reads:
                self._locations = self.read("location").ids
        return self._locations

    def read(self, entity_type: str, *, page_size: int | None = None, fresh_per_page: bool = False,
             cursor: str | None = None) -> FeedRead:
        """Read a feed to its end; with ``fresh_per_page`` each page comes from a new instance."""
        shared = None if fresh_per_page else self.connector(page_size=page_size)

        def fetch(at: str | None) -> Any:
            instance = shared or self.connector(page_size=page_size)
            return instance.fetch(entity_type, at)

        return read_feed(fetch, cursor, max_pages=self.max_pages)

    def close(self) -> None:
        for instance in self._open:
            close_connector(instance)
        self._open.clear()


class ConnectorConformance:
    """Subclass as ``Test<Something>`` in a test module; set ``system`` (or ``connector_class``)."""

    #: The connector's system name, looked up among installed plugins (entry points).
    system: ClassVar[str] = ""
    #: Or the connector class itself (then it need not be installed).
    connector_class: ClassVar[type[Connector] | None] = None
    #: Extra ``(name, plugin)`` pairs to register besides the installed plugins.
    plugins: ClassVar[Sequence[tuple[str, object]]] = ()
    #: ``options=`` for the connector's emulator (keep seeded data small: the suite reads it all).
    emulator_options: ClassVar[dict[str, Any]] = {}
    emulator_seed: ClassVar[int] = 1
    #: Entity types to read (default: everything the connector ``reads``).
    entity_types: ClassVar[Sequence[str] | None] = None
    #: Entity types to push (default: what it ``writes`` and the suite has a sample for).
    push_entity_types: ClassVar[Sequence[str] | None] = None
    #: Connection settings the connector sees (on top of every registered setting's default).
    settings: ClassVar[dict[str, Any]] = {}
    #: Small on purpose, so that pagination is exercised on a small data set.
    page_size: ClassVar[int] = 3
    #: A feed that has not finished after this many pages is taken not to terminate.
    max_pages: ClassVar[int] = 500

    # --- for authors: override to adapt -----------------------------------------------------
    def start_system(self, app: App, connector: type[Connector], stack: ExitStack,
                     tmp_path: Path) -> SystemUnderTest:
        """Start the system the connector talks to; by default its registered emulator.

        Register clean-ups on ``stack``. Override for a system without an emulator (a folder of
        files, a local database): return ``SystemUnderTest(system, base_url, credentials)``.
        """
        return start_emulated_system(app, stack, connector, seed=self.emulator_seed,
                                     options=dict(self.emulator_options))

    def broken_credentials(self, connector: type[Connector], credentials: dict[str, Any]) -> dict[str, Any] | None:
        """Credentials the remote must refuse; ``None`` when the connector has nothing to break.

        The default garbles every secret credential field that has a value.
        """
        secret = [f.name for f in connector.credential_fields if f.secret and credentials.get(f.name)]
        if not secret:
            return None
        return {**credentials, **{name: f"wrong-{credentials[name]}" for name in secret}}

    def push_sample(self, entity_type: str) -> Entity | None:
        """A new record to push twice (references already in the target's ids); ``None``: skip."""
        return default_sample(entity_type)

    # --- plumbing ---------------------------------------------------------------------------
    def resolve_connector(self, app: App) -> type[Connector]:
        if self.connector_class is not None:
            return self.connector_class
        if not self.system:
            raise ConfigError(f"{type(self).__name__} names no connector",
                              fix="set `system = \"<name>\"` or `connector_class = MyConnector`")
        found = app.registries.connectors.get(self.system)
        if found is None:
            broken = "; ".join(f"{name}: {error}" for name, error in sorted(app.plugins.broken.items()))
            raise ConfigError(
                f"no connector {self.system!r} is installed"
                + (f" (broken plugins: {broken})" if broken else ""),
                fix="install your plugin (`pip install -e .`): the suite finds connectors through the "
                    "`tillbridge` entry-point group, as the app does",
            )
        return found

    def read_types(self, connector: type[Connector]) -> list[str]:
        return sorted(self.entity_types if self.entity_types is not None else connector.reads)

    def probe_type(self, connector: type[Connector]) -> str:
        """The feed used for auth and rate-limit checks: products when there are some."""
        types = self.read_types(connector)
        if not types:
            pytest.skip(f"{connector.system} reads nothing")
        return "product" if "product" in types else types[0]

    @contextmanager
    def conformance_run(self, tmp_path: Path) -> Iterator[ConformanceRun]:
        """The app, the connector class and its running system for one test (also usable
        without pytest: call the ``test_*`` methods with the run yourself)."""
        with ExitStack() as stack:
            app = stack.enter_context(temporary_app(plugins=self.plugins))
            connector = self.resolve_connector(app)
            system = self.start_system(app, connector, stack, tmp_path)
            run = ConformanceRun(app, connector, system, app.registries.settings.resolve(self.settings),
                                 self.max_pages)
            stack.callback(run.close)
            yield run

    @pytest.fixture
    def tillbridge_conformance(self, tmp_path: Path) -> Iterator[ConformanceRun]:
        with self.conformance_run(tmp_path) as run:
            yield run

    # --- the suite --------------------------------------------------------------------------
    def test_declarations_are_coherent(self, tillbridge_conformance: ConformanceRun) -> None:
        cls = tillbridge_conformance.connector_class
        assert cls.system, "a connector needs a system name"
        assert cls.roles and set(cls.roles) <= set(ROLES), f"roles must be some of {ROLES}, got {set(cls.roles)}"
        assert cls.reads or cls.writes, "a connector that neither reads nor writes moves nothing"
        names = [f.name for f in cls.credential_fields]
        assert len(names) == len(set(names)), f"credential fields repeat: {names}"
        assert cls.max_page_size > 0 and cls.push_batch_size > 0
        if cls.emulator:
            assert cls.emulator in tillbridge_conformance.app.registries.emulators, (
                f"emulator {cls.emulator!r} is not registered (register_emulators)")

    def test_check_describes_the_account(self, tillbridge_conformance: ConformanceRun) -> None:
        connector = tillbridge_conformance.connector()
        try:
            description = connector.check()
        except Unsupported:
            pytest.skip(f"{connector.system} has no credential check")
        assert isinstance(description, str) and description.strip(), "check() returns a one-line description"

    def test_fetch_returns_canonical_entities(self, tillbridge_conformance: ConformanceRun) -> None:
        run = tillbridge_conformance
        total = 0
        for entity_type in self.read_types(run.connector_class):
            read = run.read(entity_type)
            assert read.finished, f"{entity_type}: the feed did not finish within {run.max_pages} pages"
            expected = ENTITY_TYPES.get(entity_type)
            for record in read.records:
                assert isinstance(record, Entity), f"{entity_type}: {record!r} is not a tillbridge entity"
                assert record.entity_type == entity_type, (
                    f"asked for {entity_type!r}, got a {type(record).__name__} ({record.entity_type!r})")
                if expected is not None:
                    assert isinstance(record, expected)
                assert isinstance(record.id, str) and record.id, f"{entity_type}: a record without an id"
                assert type(record).model_validate(record.model_dump()) == record, (
                    f"{entity_type} {record.id}: does not survive validation")
                assert record.key, f"{entity_type} {record.id}: empty key"
                assert len(record.fingerprint()) == 32
            total += len(read.records)
        assert total, ("no feed returned a single record: seed the system under test "
                       "(emulator_options) so that the suite has something to check")

    def test_ids_are_stable_across_reads(self, tillbridge_conformance: ConformanceRun) -> None:
        run = tillbridge_conformance
        for entity_type in self.read_types(run.connector_class):
            first = {r.id: r.key for r in run.read(entity_type).records}
            second = {r.id: r.key for r in run.read(entity_type).records}
            assert first == second, f"{entity_type}: two reads of unchanged data gave different ids or keys"

    def test_pagination_terminates_and_resumes_from_cursor(self, tillbridge_conformance: ConformanceRun) -> None:
        run = tillbridge_conformance
        paged_somewhere = False
        for entity_type in self.read_types(run.connector_class):
            whole = run.read(entity_type)
            paged = run.read(entity_type, page_size=self.page_size, fresh_per_page=True)
            assert whole.finished and paged.finished, (
                f"{entity_type}: pagination did not terminate within {run.max_pages} pages")
            for page in paged.pages:
                assert page.cursor is None or isinstance(page.cursor, str), "cursors are stored as strings"
            assert paged.ids == whole.ids, (
                f"{entity_type}: page by page from stored cursors gave {len(paged.ids)} records, "
                f"one read gave {len(whole.ids)}")
            paged_somewhere |= sum(1 for p in paged.pages if p.records) > 1
            again = run.read(entity_type, cursor=whole.cursor)
            assert again.finished, f"{entity_type}: resuming from the final cursor did not terminate"
        assert paged_somewhere, (
            f"no feed spread over more than one page of {self.page_size}: honour ConnectorContext.page_size "
            "and seed more records than that")

    def test_push_is_idempotent(self, tillbridge_conformance: ConformanceRun) -> None:
        run = tillbridge_conformance
        cls = run.connector_class
        types = sorted(self.push_entity_types if self.push_entity_types is not None else cls.writes)
        samples = {t: s for t in types if (s := self.push_sample(t)) is not None}
        if not samples:
            pytest.skip(f"{cls.system} writes {types or 'nothing'}; no sample record to push "
                        "(override push_sample)")
        for entity_type, sample in samples.items():
            results: list[PushResult] = []
            for _ in range(2):  # the second push is a retry after the binding was lost
                connector = run.connector()
                outgoing = Outgoing(
                    entity=sample, exists=False, source_key=sample.key, source_id=sample.id,
                    target_id=connector.context.deterministic_id(entity_type, SAMPLE_SOURCE, sample.id),
                )
                answer = connector.push(entity_type, [outgoing])
                assert len(answer) == 1, "push returns one result per record"
                result = answer[0]
                assert result.ok, f"{entity_type}: push failed: {result.error}"
                assert result.source_id == sample.id and result.target_id, f"{entity_type}: {result!r}"
                results.append(result)
            assert results[0].target_id == results[1].target_id, (
                f"{entity_type}: the same record pushed twice landed under two ids")
            if entity_type in cls.reads:
                found = [r for r in run.read(entity_type).records if r.key == sample.key]
                assert len(found) == 1, f"{entity_type}: pushing twice left {len(found)} records keyed {sample.key!r}"
                assert found[0].id == results[0].target_id, "a pushed record reads back under the id push returned"

    def test_auth_failure_raises_auth_error(self, tillbridge_conformance: ConformanceRun) -> None:
        run = tillbridge_conformance
        cls = run.connector_class
        broken = self.broken_credentials(cls, dict(run.system.credentials))
        if broken is None:
            pytest.skip(f"{cls.system} has no secret credentials to break")
        probe = self.probe_type(cls)
        for call in ("fetch", "check"):
            connector = run.connector(credentials=broken)
            try:
                if call == "fetch":
                    connector.fetch(probe, None)
                else:
                    connector.check()
            except AuthError:
                continue
            except Unsupported:
                if call == "check":
                    continue
                raise
            except TillbridgeError as exc:
                pytest.fail(f"{call} with broken credentials must raise AuthError, not {type(exc).__name__}: {exc}")
            pytest.fail(f"{call} accepted broken credentials")

    def test_rate_limits_are_retried_then_raised(self, tillbridge_conformance: ConformanceRun) -> None:
        run = tillbridge_conformance
        emulator = run.system.emulator
        if emulator is None:
            pytest.skip(f"{run.connector_class.system} runs without an emulator: no HTTP faults to inject")
        probe = self.probe_type(run.connector_class)
        clean = {r.id for r in run.connector().fetch(probe, None).records}
        before, waited = emulator.fault_counters["rate_limited"], len(run.waits)
        try:
            emulator.set_faults(burst_429=2)
            try:
                page = run.connector().fetch(probe, None)
            except TillbridgeError as exc:
                pytest.fail(f"a burst of two 429 answers was not waited out: {type(exc).__name__}: {exc}")
            assert emulator.fault_counters["rate_limited"] - before == 2, "the burst was not requested through"
            assert {r.id for r in page.records} == clean, "after the retries the page is the same"
            assert len(run.waits) - waited >= 2, "each 429 is followed by a wait before the retry"
            emulator.set_faults(burst_429=1000)
            try:
                run.connector().fetch(probe, None)
            except RateLimited:
                pass
            except TillbridgeError as exc:
                pytest.fail(f"endless 429 answers must raise RateLimited, not {type(exc).__name__}: {exc}")
            else:
                pytest.fail("endless 429 answers went unnoticed")
        finally:
            emulator.clear_faults()


__all__ = ["SAMPLE_SOURCE", "ConformanceRun", "ConnectorConformance"]
