"""The built-in connectors pass the same conformance suite a third party's connector runs."""

from __future__ import annotations

import pytest

from tillbridge.testing import ConnectorConformance, temporary_app


def _installed_connectors() -> set[str]:
    with temporary_app() as app:
        return set(app.registries.connectors)


class TestLightspeedConformance(ConnectorConformance):
    system = "lightspeed"
    emulator_options = {"products": 8, "customers": 4, "sales": 4, "outlets": 2}


class TestUnleashedConformance(ConnectorConformance):
    system = "unleashed"
    emulator_options = {"products": 8, "customers": 4}


@pytest.mark.skipif(
    "xero" not in _installed_connectors(),
    reason="XeroConnector is not registered yet: it is being built in plugins/accounting/ "
           "(the accounting provider); this class runs as soon as it registers system 'xero'",
)
class TestXeroConformance(ConnectorConformance):
    system = "xero"
