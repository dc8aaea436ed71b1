"""Imports point one way: agent -> modem, board; fleet -> common only; no cycles anywhere.

The graph is read from the source with ast, every import statement included: those inside functions too (a lazy
import hides a cycle, it does not remove it) and those under `if TYPE_CHECKING:` (a type that needs the other
module is a dependency on it all the same). An edge goes to the module a statement names: `from a.b import c`
to a.b.c when that is a module, else to a.b; the implicit import of a parent package is no edge, as every
module of a package would otherwise form a cycle with its __init__.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "modem", "board", "common", "fleet")

# Cycles known and not yet broken, each with the reason it is tolerated (none today). A pair is allowed only while
# both its modules are in one cycle; any other module in the same cycle fails the test.
KNOWN_CYCLES: dict[frozenset[str], str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".")
    base = base[:len(base) - level + (1 if is_package else 0)]
    return ".".join(base + ([name] if name else []))


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node.level, node.module)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                # `import a.b.c` binds a but runs a.b.c: the edge is to the longest known module named
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != module:
                    graph[module].add(target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph is a few hundred modules, but recursion limits are not ours)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def test_no_import_cycles():
    cycles = [c for c in strongly_connected(import_graph()) if len(c) > 1]
    unexplained = [sorted(c) for c in cycles if frozenset(c) not in KNOWN_CYCLES]
    assert unexplained == []


def test_known_cycles_are_still_cycles():
    # An allowlist entry whose cycle is gone must go too, or it would hide the next one.
    cycles = {frozenset(c) for c in strongly_connected(import_graph()) if len(c) > 1}
    assert [sorted(k) for k in KNOWN_CYCLES if k not in cycles] == []


def test_layering():
    graph = import_graph()
    wrong = sorted(f"{m} -> {t}" for m, targets in graph.items() for t in targets
                   if (m.split(".")[0] in ("modem", "board") and t.split(".")[0] == "agent")
                   or (m.split(".")[0] == "board" and t.split(".")[0] == "modem")
                   or (m.split(".")[0] == "common" and t.split(".")[0] != "common"))
    assert wrong == []


# The `relais` command line is the agent's and offers `relais fleet ...`: it may hand over to fleet.cli, and that
# is the only way from the agent to the fleet.
AGENT_TO_FLEET = {("agent.cli", "fleet.cli")}


def fleet_layering_errors(graph: dict[str, set[str]]) -> list[str]:
    """fleet/ imports common/ (the shared wire definitions) and itself, never agent/, modem/ or board/; the agent
    never imports fleet/ but for AGENT_TO_FLEET."""
    wrong = []
    for m, targets in graph.items():
        for t in targets:
            top, other = m.split(".")[0], t.split(".")[0]
            if top == "fleet" and other not in ("fleet", "common"):
                wrong.append(f"{m} -> {t}")
            elif top != "fleet" and other == "fleet" and (m, t) not in AGENT_TO_FLEET:
                wrong.append(f"{m} -> {t}")
    return sorted(wrong)


def test_fleet_imports_only_the_shared_definitions():
    graph = import_graph()
    assert any(m.startswith("fleet.") and "common.wire.signing" in t for m, t in graph.items())  # the graph sees fleet
    assert fleet_layering_errors(graph) == []


def test_the_fleet_rule_can_fail():
    graph = {"fleet.x": {"agent.mqtt.codec", "common.wire.codec"}, "agent.mqtt.reporter": {"fleet.db"},
             "agent.cli": {"fleet.cli"}, "common.wire.codec": set()}
    assert fleet_layering_errors(graph) == ["agent.mqtt.reporter -> fleet.db", "fleet.x -> agent.mqtt.codec"]


def test_the_graph_sees_lazy_and_relative_imports(tmp_path, monkeypatch):
    # The checker itself must be able to fail: a cycle made of a function-level import is found.
    pkg = tmp_path / "modem"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from modem.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    (pkg / "c.py").write_text("import agent.x\n")
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "__init__.py").write_text("")
    (tmp_path / "agent" / "x.py").write_text("")
    (tmp_path / "board").mkdir()
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    graph = import_graph()
    assert graph["modem.sub.b"] == {"modem.a"} and graph["modem.a"] == {"modem.sub.b"}
    assert [sorted(c) for c in strongly_connected(graph) if len(c) > 1] == [["modem.a", "modem.sub.b"]]
    assert graph["modem.c"] == {"agent.x"}


# Inside modem/, each part may import only the parts listed before it: the AT engine knows no vendor, the parsers
# no engine, the plugins no decoder. The simulator imports nothing else of modem/: sharing code with what it
# tests would let a bug agree with itself.
MODEM_LAYERS = ("modem.bands", "modem.at", "modem.parsers", "modem.vendors", "modem.decoder", "modem.device",
                "modem.decode_cli", "modem")


def _modem_part(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_modem_layering():
    graph = import_graph()
    wrong = []
    for module, targets in graph.items():
        if not module.startswith("modem"):
            continue
        part = _modem_part(module)
        for target in targets:
            other = _modem_part(target)
            if not target.startswith("modem") or other == part:
                continue
            if part == "modem.simulator" or other == "modem.simulator":
                wrong.append(f"{module} -> {target}")
            elif part not in MODEM_LAYERS or other not in MODEM_LAYERS:
                wrong.append(f"{module} -> {target} (a part of modem/ missing from MODEM_LAYERS)")
            elif MODEM_LAYERS.index(other) >= MODEM_LAYERS.index(part):
                wrong.append(f"{module} -> {target}")
    assert wrong == []
