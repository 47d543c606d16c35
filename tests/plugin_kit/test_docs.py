"""docs/plugins.md cannot drift from core/hookspecs.py (datasette's test_docs, for tillbridge).

If this fails after you added a hook to core/hookspecs.py: document it in docs/plugins.md under
"Hook reference" as ``### name(arg, ...)`` with **fan-out** or **firstresult**, its arguments,
what ``None`` means, and a ``@hookimpl`` example.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from tillbridge import ROLES, Connector, ConnectorContext, hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs"
HEADING = re.compile(r"^### (\w+)\(([^)]*)\)\s*$", re.M)
CODE = re.compile(r"```python\n(.*?)```", re.S)

SPECS = {name: fn for name, fn in vars(hookspecs).items()
         if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")}


def _hook_sections() -> dict[str, tuple[list[str], str]]:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    start = text.index("## Hook reference")
    end = text.find("\n## ", start + 1)
    reference = text[start:end if end != -1 else None]
    matches = list(HEADING.finditer(reference))
    sections = {}
    for i, match in enumerate(matches):
        body = reference[match.end():matches[i + 1].start() if i + 1 < len(matches) else None]
        params = [p.strip() for p in match.group(2).split(",") if p.strip()]
        assert match.group(1) not in sections, f"{match.group(1)} is documented twice"
        sections[match.group(1)] = (params, body)
    return sections


SECTIONS = _hook_sections()


def test_the_reference_and_the_hookspecs_name_the_same_hooks() -> None:
    assert SPECS, "no hookspecs found"
    undocumented = sorted(set(SPECS) - set(SECTIONS))
    assert not undocumented, f"document these hooks in docs/plugins.md (Hook reference): {undocumented}"
    unknown = sorted(set(SECTIONS) - set(SPECS))
    assert not unknown, f"docs/plugins.md documents hooks that core/hookspecs.py does not have: {unknown}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_hook_is_documented_as_specified(name: str) -> None:
    if name not in SECTIONS:
        pytest.fail(f"{name} is not documented in docs/plugins.md")
    params, body = SECTIONS[name]
    spec = SPECS[name]
    assert params == list(inspect.signature(spec).parameters), (
        f"docs/plugins.md has {name}({', '.join(params)}); core/hookspecs.py has "
        f"{name}({', '.join(inspect.signature(spec).parameters)})")
    for param in params:
        assert f"- `{param}`:" in body, f"{name}: argument {param} is not described"
    firstresult = getattr(spec, f"{hookspecs.PROJECT}_spec")["firstresult"]
    kind = "**firstresult**" if firstresult else "**fan-out**"
    assert body.lstrip().startswith(kind), f"{name} must be marked {kind}"
    assert "Return value:" in body and "None" in body, f"{name}: say what the return value (and None) means"
    examples = CODE.findall(body)
    assert any("@hookimpl" in code and f"def {name}(" in code for code in examples), (
        f"{name} needs an example implementing it")


def test_every_python_example_in_the_plugin_docs_parses() -> None:
    for doc in ("plugins.md", "tutorial.md"):
        text = (DOCS / doc).read_text(encoding="utf-8")
        for number, code in enumerate(CODE.findall(text), start=1):
            try:
                ast.parse(code)
            except SyntaxError as exc:
                pytest.fail(f"docs/{doc}, python block {number}: {exc}")


def test_example_hook_implementations_accept_only_spec_arguments() -> None:
    """An example taking an argument the hook does not have would fail pluggy's validation."""
    for name, (_params, body) in SECTIONS.items():
        for code in CODE.findall(body):
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.FunctionDef) and node.name in SPECS:
                    allowed = set(inspect.signature(SPECS[node.name]).parameters) | {"self"}
                    used = {a.arg for a in node.args.args}
                    assert used <= allowed, f"{name} example: {node.name}({', '.join(sorted(used - allowed))}) is not in the spec"


# --- the connector contract: every public member is documented (issue 16) ---------------------------
def _public_members(cls: type) -> set[str]:
    names = {n for n in vars(cls) if not n.startswith("_")}
    names |= set(getattr(cls, "__dataclass_fields__", {}))
    return names


@pytest.mark.parametrize("cls", [Connector, ConnectorContext], ids=lambda c: c.__name__)
def test_every_public_member_of_the_connector_contract_is_documented(cls: type) -> None:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    members = _public_members(cls)
    assert members, f"no public members found on {cls.__name__}"
    missing = sorted(n for n in members if not re.search(rf"`{re.escape(n)}[`(]", text))
    assert not missing, (f"docs/plugins.md does not name these {cls.__name__} members (as `name` or "
                         f"`name(...)`, in \"Writing a connector\"): {missing}")


def _role_table() -> dict[str, tuple[str, str]]:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    start = text.index("### What each role must serve")
    rows = re.findall(r"^\| `(\w+)` \| (.*?) \| (.*?) \| .*\|$", text[start:text.index("\n## ", start)], re.M)
    return {role: (reads, writes) for role, reads, writes in rows}


def test_the_role_table_names_what_the_core_flows_read_and_write() -> None:
    from tillbridge.flows import CORE_FLOWS
    from tillbridge_accounting.config import INVOICES_FLOW

    table = _role_table()
    assert set(table) == set(ROLES), f"the role table must have one row per role {sorted(ROLES)}: {sorted(table)}"
    for flow in (*CORE_FLOWS, INVOICES_FLOW):
        reads, _ = table[flow.source_role]
        _, writes = table[flow.target_role]
        assert f"`{flow.entity_type}`" in reads, f"flow {flow.name}: {flow.source_role} must read {flow.entity_type}"
        assert f"`{flow.entity_type}`" in writes, f"flow {flow.name}: {flow.target_role} must write {flow.entity_type}"
        if flow.switch:
            assert f"`{flow.switch}`" in reads + writes, f"flow {flow.name}: name its switch {flow.switch}"


def test_the_admin_calls_in_the_plugin_docs_exist() -> None:
    """The `connect` example and the API table name only methods `tillbridge.admin.Admin` has."""
    from tillbridge.admin import Admin

    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    called = set(re.findall(r"\badmin\.(\w+)\(", text)) | set(re.findall(r"`Admin\.(\w+)\(", text))
    assert {"check_credentials", "ensure_system", "save_credentials"} <= called
    missing = sorted(name for name in called if not callable(getattr(Admin, name, None)))
    assert not missing, f"docs/plugins.md calls Admin methods that do not exist: {missing}"
