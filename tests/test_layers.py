"""tfface's imports point one way, down the layers of DESIGN.md, and form no cycle.

The walk reads every module's source (``ast``), imports inside functions included: those are how a
cycle or an upward import used to hide.
"""

import ast
import pathlib

from conftest import REPO

# Layer of each package or module, lowest first; the longest matching prefix decides.
LAYERS = {
    # the package itself is its front door (tfface.load); nothing inside it imports it
    "tfface": 6, "tfface.settings": 0, "tfface.errors": 0, "tfface.env": 0, "tfface.registry": 0, "tfface.messages": 0,
    "tfface.finite": 0, "tfface.cli": 0, "tfface.config": 6, "tfface.api": 6,
    "tfface.data": 1, "tfface.models": 1, "tfface.heads": 1, "tfface.losses": 1, "tfface.transforms": 1,
    "tfface.scoring": 2, "tfface.evaluation": 2, "tfface.export": 2, "tfface.align": 2,
    "tfface.training": 3,
    "tfface.runtime": 4,
    "tfface.methods": 5,
    "tfface.programs": 6, "tfface.flags": 6,
}
NAMES = {0: "base", 1: "kit", 2: "scoring/evaluation/export", 3: "training", 4: "runtime", 5: "methods",
         6: "programs"}


def module_name(path: pathlib.Path) -> str:
    """The module a file is installed as (``flags/`` at the top of the repository is ``tfface.flags``)."""
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[0] == "flags":
        parts = ("tfface", *parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def matches(module: str, prefix: str) -> bool:
    """``tfface`` itself names only the package's __init__; every other entry covers its submodules."""
    return module == prefix or (prefix != "tfface" and module.startswith(prefix + "."))


def layer(module: str) -> int:
    return LAYERS[max((p for p in LAYERS if matches(module, p)), key=len)]


def tfface_imports(path: pathlib.Path, modules: set[str]) -> set[str]:
    """The tfface modules a file imports (``from pkg import mod`` resolves to the module when it is one)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                     for a in node.names]
        else:
            continue
        out.update(n for n in names if n == "tfface" or n.startswith("tfface."))
    return out


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for folder in ("tfface", "flags") for p in (REPO / folder).rglob("*.py")}
    return {m: tfface_imports(p, set(files)) - {m} for m, p in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_walk_sees_imports_inside_functions(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import os\n\ndef g():\n    from tfface.methods.ftl import train_ftl\n    import tfface.config\n")
    assert tfface_imports(f, {"tfface.methods.ftl", "tfface.config"}) == {"tfface.methods.ftl", "tfface.config"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_tfface_module_has_a_layer():
    for module in import_graph():
        assert any(matches(module, p) for p in LAYERS), f"{module}: put it in a layer (LAYERS)"


def test_no_import_points_up_a_layer():
    graph = {m: deps for m, deps in import_graph().items() if any(matches(m, p) for p in LAYERS)}
    upward = [f"{a} ({NAMES[layer(a)]}) imports {b} ({NAMES[layer(b)]})"
              for a, deps in sorted(graph.items()) for b in sorted(deps & graph.keys()) if layer(b) > layer(a)]
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    assert not cycles(import_graph())
