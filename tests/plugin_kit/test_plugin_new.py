"""``tillbridge plugin new NAME``: the generated project installs and passes its own tests.

The slow test does what a new plugin author does, for real: generate, ``pip install -e``, run
``pytest`` in the project, ask ``tillbridge plugins``. It runs in a throw-away virtual
environment that sees the installed tillbridge (and pytest) through a ``.pth`` file, so nothing
is installed into the environment running this test.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tillbridge.cli.main import cli
from tillbridge.scaffold import PluginNames, render
from tillbridge.testing import private_imports

#: A safety net against a hung step, not a performance check (the whole test takes ~20 s).
STEP_TIMEOUT = 240


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TILLBRIDGE_LOAD", "TILLBRIDGE_DISABLE"))}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT)


def _venv_seeing_this_installation(path: Path) -> Path:
    """``python -m venv --system-site-packages``, plus this environment's site-packages.

    ``--system-site-packages`` exposes the *base* interpreter's packages; when this test itself
    runs in a virtual environment (CI's ``.venv``), its packages are added with a ``.pth`` line
    so that nested ``.pth`` files (editable installs) are processed too.
    """
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(path)],
                   check=True, timeout=STEP_TIMEOUT)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in parents)
    (Path(purelib) / "tillbridge-parent-environment.pth").write_text(lines)
    return python


@pytest.mark.slow
def test_a_generated_plugin_installs_and_passes_its_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    generated = CliRunner().invoke(cli, ["plugin", "new", "acme"])
    assert generated.exit_code == 0, generated.output
    assert "pip install -e ./acme" in generated.output

    python = _venv_seeing_this_installation(tmp_path / "venv")
    installed = _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                      "-e", "./acme"], tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    tested = _run([str(python), "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"], tmp_path / "acme")
    assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr[-2000:]
    assert " passed" in tested.stdout and "skipped" not in tested.stdout and "failed" not in tested.stdout

    listed = _run([str(python), "-c", "from tillbridge.cli.main import main; main()", "plugins", "--json"],
                  tmp_path)
    assert listed.returncode == 0, listed.stderr
    acme = {p["name"]: p for p in json.loads(listed.stdout)}["acme"]
    assert acme["error"] is None and acme["source"] == "entry point"
    # A connect command, a setting and a flow of its own, as a built-in plugin has (issue 16).
    assert {"register_connectors", "register_emulators", "register_flows", "register_settings",
            "register_commands"} <= set(acme["hooks"])
    for test in ("test_connect_checks_the_key_then_saves_it", "test_the_connector_remembers_the_last_version_it_read",
                 "test_the_export_flow_runs_after_products"):
        assert f"PASSED tests/test_plugin_kit.py::{test}" in tested.stdout, tested.stdout[-4000:]
    helped = _run([str(python), "-c", "from tillbridge.cli.main import main; main()", "connect", "acme", "--help"],
                  tmp_path)
    assert helped.returncode == 0 and "--api-key" in helped.stdout, helped.stdout + helped.stderr


def test_the_generated_project_imports_only_public_modules(tmp_path: Path) -> None:
    names = PluginNames.from_name("acme")
    render(names, tmp_path / "acme", tillbridge_version="0.1.0")
    violations = private_imports(tmp_path / "acme", own=[names.package])
    assert [str(v) for v in violations] == []


def test_the_generated_project_is_named_after_the_plugin(tmp_path: Path) -> None:
    names = PluginNames.from_name("my-shop")
    assert (names.name, names.package, names.dist, names.class_prefix, names.title) == (
        "my_shop", "tillbridge_my_shop", "tillbridge-my-shop", "MyShop", "My Shop")
    written = render(names, tmp_path / "my-shop", tillbridge_version="0.1.0")
    relative = sorted(p.relative_to(tmp_path / "my-shop").as_posix() for p in written)
    assert "src/tillbridge_my_shop/connector.py" in relative and ".gitignore" in relative
    assert {"src/tillbridge_my_shop/commands.py", "tests/test_plugin_kit.py"} <= set(relative)
    pyproject = (tmp_path / "my-shop" / "pyproject.toml").read_text()
    assert '[project.entry-points.tillbridge]\nmy_shop = "tillbridge_my_shop.plugin"' in pyproject
    text = "\n".join(p.read_text() for p in written)
    assert "{{" not in text, "every placeholder is replaced"
    assert "class MyShopConnector(Connector)" in text and "class MyShopEmulator(Emulator)" in text
    # The three things a built-in plugin does: its own connect command, durable state, a flow after another.
    assert '@connect.command("my_shop")' in text and "self.context.state" in text
    assert 'Flow("my_shop_export"' in text and 'after=("products",)' in text


@pytest.mark.parametrize("args, message", [
    (["plugin", "new", "Bad Name"], "cannot name a plugin"),
    (["plugin", "new", "lightspeed"], "a connector named 'lightspeed' is already installed"),
])
def test_plugin_new_refuses_bad_names(args: list[str], message: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and message in result.output
    assert list(tmp_path.iterdir()) == []


def test_plugin_new_refuses_to_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "mine.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["plugin", "new", "acme"])
    # The message wraps at the terminal width, which depends on how long the temporary path is.
    assert result.exit_code == 2 and "already exists" in " ".join(result.output.split())
    assert [p.name for p in (tmp_path / "acme").iterdir()] == ["mine.txt"]
