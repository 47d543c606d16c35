"""The drop-folder connector passes tillbridge's connector conformance suite.

A folder has no emulator, so the suite is pointed at a sample folder instead (``start_system``).
Its rate-limit check skips (no HTTP) and so does the auth check (no credentials), saying so.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tillbridge.testing import ConnectorConformance, SystemUnderTest
from tillbridge_csv.sample import write_sample


class TestCsvFolderConformance(ConnectorConformance):
    system = "csv"

    def start_system(self, app: Any, connector: Any, stack: ExitStack, tmp_path: Path) -> SystemUnderTest:
        return SystemUnderTest("csv", str(write_sample(tmp_path / "drop")))
