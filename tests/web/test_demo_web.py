"""``tillbridge demo --web``: the demo, then the console beside its still-running emulators."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

STARTUP_LIMIT = 90.0  # seconds: an upper bound for a 20-product demo, not a timing assertion


def test_demo_web_serves_the_console_with_a_login_link(tmp_path: Path) -> None:
    env = {**os.environ, "TILLBRIDGE_HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "200"}
    exe = Path(sys.executable).with_name("tillbridge")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "tillbridge.cli.main"]
    proc = subprocess.Popen([*command, "demo", "--fresh", "--products", "20", "--web"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()], daemon=True).start()
    seen: list[str] = []
    try:
        link = None
        deadline = time.monotonic() + STARTUP_LIMIT
        while link is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, "the demo ended before serving the console:\n" + "".join(seen)
                assert time.monotonic() < deadline, "no console link in time:\n" + "".join(seen)
                continue
            seen.append(line)
            link = re.search(r"Web console: (http://127\.0\.0\.1:\d+)/login\?token=(\S+)", line)
        base = link.group(1)
        with httpx.Client(base_url=base, follow_redirects=True, timeout=10) as client:
            assert client.get("/").url.path == "/login"  # no session: the login page
            overview = client.get(f"/login?token={link.group(2)}")
            assert overview.status_code == 200 and 'href="/c/demo"' in overview.text and "badge-demo" in overview.text
            config = client.get("/c/demo/config").text
            assert re.search(r'data-count="outlets">3<', config) and re.search(r'data-count="warehouses">3<', config)
            assert config.count('class="chip mapped"') == 3  # the demo mapped them one-to-one
            log = client.get("/c/demo/log?level=error").text
            assert "HAMPER-" in log  # the product the demo's Unleashed refuses
            connection = client.get("/c/demo").text
            pos_url = re.search(r'id="inst-lightspeed-url" name="base_url" value="([^"]+)"', connection)
            assert pos_url, "the Lightspeed form is pre-filled with the demo emulator's address"
            assert httpx.get(pos_url.group(1) + "/_emulator/state", timeout=10).status_code == 200  # still running
            # past days of till sales were seeded and imported: yesterday has a reconciliation to show
            reconciliation = client.get("/c/demo/reconcile").text
            assert reconciliation.count('class="card recon-outlet"') == 3, reconciliation[-2000:]
        proc.send_signal(signal.SIGINT)  # Ctrl-C: the console stops, the demo prints its summary
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(seen) + "".join(lines.get(timeout=5) for _ in range(lines.qsize()))
    assert code == 0 and "Demo finished." in output, output[-3000:]
