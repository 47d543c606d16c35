"""The benchmark harness works: ``bench/run.py --quick`` runs every scenario and reports figures.

No timing thresholds (CI machines differ); the assertions are about the harness itself: each
scenario ran, the flows did their work (the harness's own checks passed), the emulators counted
the calls, the table and the JSON carry every figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_runs_every_scenario(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--json", str(out),
         "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=170, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())

    names = [m["scenario"] for m in figures["scenarios"]]
    assert names[:2] == ["initial full sync", "idle poll"]
    assert any(n.startswith("incremental, k=") for n in names)
    assert any(n.startswith("stock export, k=") for n in names)
    for m in figures["scenarios"]:
        assert m["checks"] == [], (m["scenario"], m["checks"])  # every flow did its work
        assert m["total_calls"] >= m["minimum_total"] > 0 or m["scenario"].startswith("invoices")
        assert m["status_429"] == 0 or m["floor_seconds"] > 0

    full = figures["scenarios"][0]
    cat = figures["catalogue"]
    assert full["routes"]["unleashed"]["POST /Products/{id}"] >= cat["products"]
    idle = next(m for m in figures["scenarios"] if m["scenario"] == "idle poll")
    assert sum(n for f in idle["flows"] for n in (f["created"], f["updated"])) == 0

    assert figures["engine"]["seconds"] > 0 and figures["bare"]["seconds"] > 0
    assert figures["bare"]["requests"] == figures["engine"]["total_calls"]
    assert figures["naive"]["all"]["calls"] > idle["total_calls"]
    assert figures["memory"]["S-quick"]["peak_rss_mb"] > 0
    table = "\n".join(row["what"] for row in figures["table"])
    assert "engine overhead" in table and "peak memory" in table
    assert "figure" in done.stdout and "met?" in done.stdout
