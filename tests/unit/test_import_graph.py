"""The package's import graph keeps one direction: no import cycle (function-level imports included),
the shared value sets import nothing of vocloop, and the job mechanism knows no task. A cycle is how
"jobs import the app, the app imports every edge, the edges import jobs" crept in before."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "vocloop"


def import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            graph[name] |= {target for t in targets if t.startswith("vocloop")
                            and (target := known(t)) and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
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
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_module_imports_itself_back_through_others():
    assert cycles(import_graph()) == []


def test_the_value_sets_and_the_job_mechanism_sit_at_the_bottom():
    graph = import_graph()
    assert graph["vocloop.values"] == set()
    assert "vocloop.jobs.tasks" not in graph["vocloop.jobs.queue"]
    assert not any(name.startswith("vocloop.jobs") for name in graph["vocloop.jobs.tasks"] - {"vocloop.jobs.queue"})
    assert "vocloop" not in graph["vocloop.jobs.tasks"]  # jobs never build the app


# The edges: the app's wiring (the factory, web.py, ops' init_app), commands, the API, pages and jobs.
WIRING = ("vocloop", "vocloop.web", "vocloop.ops", "vocloop.cli", "vocloop.demo", "vocloop.jobs.tasks",
          "vocloop.jobs.schedule")


def is_edge(name: str) -> bool:
    last = name.rpartition(".")[2]
    return name in WIRING or name.startswith("vocloop.api") or last.endswith("views") or last == "cli"


def test_services_never_import_an_edge():
    """Views, API, CLI and jobs call services; services (delivery, notifications, items...) never
    import them, so a service can be called from a page, the API, a job or a command alike."""
    graph = import_graph()
    assert [(name, target) for name, targets in graph.items() if not is_edge(name)
            for target in sorted(targets) if is_edge(target)] == []


def test_the_check_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
