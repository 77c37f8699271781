"""The import graph of bot, handlers, storage and nlu has no cycles, between packages or inside one.

The layer rules (bot → handlers → storage, nlu on its own, Flask only in bot) are import-linter
contracts in pyproject.toml, checked by `make lint`. import-linter has no contract for "no cycle
anywhere", so this test asks grimp (the graph library import-linter is built on) for the strongly
connected components of the module graph: any component of two or more modules is a cycle.
Imports under `if TYPE_CHECKING:` count too: they tie two modules together just the same.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import grimp
import pytest

PACKAGES = ("bot", "handlers", "storage", "nlu")

# Cycles allowed to exist: none. (Kept as a set so a test can say exactly which one appeared.)
KNOWN_CYCLES: set[frozenset[str]] = set()


def import_graph() -> grimp.ImportGraph:
    """Every module of our four packages and the imports between them (no cache on disk)."""
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components with more than one module, each sorted (Tarjan)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    # Depth-first without recursion: (module, the imports of it still to visit).
    work: list[tuple[str, list[str]]] = []

    def enter(module: str) -> None:
        index[module] = lowlink[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        work.append((module, sorted(graph.find_modules_directly_imported_by(module))))

    for root in sorted(graph.modules):
        if root in index:
            continue
        enter(root)
        while work:
            module, pending = work[-1]
            if pending:
                target = pending.pop(0)
                if target not in index:
                    enter(target)
                elif target in on_stack:
                    lowlink[module] = min(lowlink[module], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[module])
            if lowlink[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def describe(graph: grimp.ImportGraph, component: Iterable[str]) -> str:
    """One concrete loop through the component, with line numbers: `a (l.3) -> b (l.9) -> a`."""
    members = sorted(component)
    start = members[0]
    first_step = next(
        m for m in members if m != start and graph.direct_import_exists(importer=start, imported=m)
    )
    back = graph.find_shortest_chain(importer=first_step, imported=start) or ()
    loop = [start, *back]
    steps = []
    for importer, imported in itertools.pairwise(loop):
        lines = sorted(
            {
                d["line_number"]
                for d in graph.get_import_details(importer=importer, imported=imported)
            }
        )
        steps.append(f"{importer} (l.{','.join(map(str, lines))})")
    steps.append(start)
    others = f" [all {len(members)}: {', '.join(members)}]" if len(members) > len(loop) - 1 else ""
    return " -> ".join(steps) + others


def test_no_import_cycles_beyond_the_known_ones() -> None:
    graph = import_graph()
    found = {frozenset(c): c for c in import_cycles(graph)}
    new = [describe(graph, c) for key, c in sorted(found.items()) if key not in KNOWN_CYCLES]
    assert not new, "import cycles:\n  " + "\n  ".join(new)
    gone = sorted(sorted(c) for c in KNOWN_CYCLES - found.keys())
    assert not gone, f"these cycles are gone: delete them from KNOWN_CYCLES: {gone}"


# --- the cycle finder itself -------------------------------------------------------------------


def graph_of(*edges: str) -> grimp.ImportGraph:
    """A graph from "a -> b" strings (one line number each, so `describe` can name it)."""
    graph = grimp.ImportGraph()
    for number, edge in enumerate(edges, start=1):
        importer, imported = (part.strip() for part in edge.split("->"))
        graph.add_module(importer)
        graph.add_module(imported)
        graph.add_import(
            importer=importer, imported=imported, line_number=number, line_contents=edge
        )
    return graph


def test_a_chain_is_not_a_cycle() -> None:
    graph = graph_of("p.a -> p.b", "p.b -> p.c", "p.a -> p.c", "q.x -> p.a")
    assert import_cycles(graph) == []


def test_two_modules_importing_each_other_are_named_with_their_lines() -> None:
    graph = graph_of("p.a -> p.b", "p.b -> p.a", "p.b -> p.c")
    assert import_cycles(graph) == [["p.a", "p.b"]]
    assert describe(graph, ["p.a", "p.b"]) == "p.a (l.1) -> p.b (l.2) -> p.a"


def test_a_longer_loop_across_packages_is_one_component() -> None:
    graph = graph_of(
        "bot.cli -> handlers.tickets",
        "handlers.tickets -> storage.models",
        "storage.models -> bot.cli",
        "storage.models -> storage.base",
        "nlu.x -> nlu.y",
        "nlu.y -> nlu.x",
    )
    assert import_cycles(graph) == [
        ["bot.cli", "handlers.tickets", "storage.models"],
        ["nlu.x", "nlu.y"],
    ]
    assert describe(graph, ["storage.models", "bot.cli", "handlers.tickets"]) == (
        "bot.cli (l.1) -> handlers.tickets (l.2) -> storage.models (l.3) -> bot.cli"
    )


def test_a_deep_chain_does_not_hit_the_recursion_limit() -> None:
    graph = graph_of(*(f"p.m{i} -> p.m{i + 1}" for i in range(3000)), "p.m3000 -> p.m0")
    [component] = import_cycles(graph)
    assert len(component) == 3001


def test_the_graph_holds_all_four_packages() -> None:
    modules = import_graph().modules
    assert set(PACKAGES) <= modules
    assert {"handlers.tickets", "storage.uow", "nlu.embedded", "bot.webhook"} <= modules


# --- the drawing (docs/import_graph.py, `make import-graph`) -----------------------------------


def drawing() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "docs" / "import_graph.py"
    spec = importlib.util.spec_from_file_location("import_graph", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_drawing_groups_modules_by_package_and_counts_crossings() -> None:
    draw = drawing()
    graph = graph_of(
        "bot.cli -> handlers.tickets",
        "bot.cli -> handlers.staff",
        "handlers.tickets -> storage.models",
        "handlers.tickets -> handlers.messages",
    )
    graph.add_module("nlu")  # an empty package __init__: left out of the module drawing
    edges = draw.edges_of(graph)
    assert draw.package_mermaid(edges).splitlines()[5:] == [
        "  bot -->|2| handlers",
        "  handlers -->|1| storage",
    ]
    modules = draw.module_mermaid(set(graph.modules), edges)
    assert "  subgraph package_handlers [handlers]" in modules
    assert '    handlers_tickets["tickets"]' in modules
    assert "  handlers_tickets --> storage_models" in modules
    assert "package_nlu" not in modules and 'nlu["nlu"]' not in modules


def test_the_drawing_replaces_only_its_section(tmp_path: Path) -> None:
    draw = drawing()
    document = tmp_path / "architecture.md"
    document.write_text(f"# Title\n\nIntro.\n\n{draw.START}\nold\n{draw.END}\n\nMore.\n")
    assert draw.main(["--check", "--document", str(document)]) == 1  # out of date
    assert draw.main(["--document", str(document)]) == 0
    text = document.read_text()
    assert text.startswith("# Title\n\nIntro.\n\n<!-- import-graph:start -->")
    assert text.endswith("<!-- import-graph:end -->\n\nMore.\n")
    assert "old" not in text and "handlers_tickets --> storage_" in text
    assert draw.main(["--check", "--document", str(document)]) == 0  # now up to date


def test_the_drawing_needs_its_markers(tmp_path: Path) -> None:
    document = tmp_path / "architecture.md"
    document.write_text("# No markers\n")
    with pytest.raises(ValueError, match="markers"):
        drawing().main(["--document", str(document)])
