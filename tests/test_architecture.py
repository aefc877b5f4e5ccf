"""The house plan, checked: layers import only downwards (pyproject.toml's import-linter contract), no
module imports itself round a cycle, ruff is clean, and the package's folders follow the data path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_layers_import_only_downwards():
    done = _run("lint-imports", "--config", "pyproject.toml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each a cycle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in edges.get(module, ()):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_round_a_cycle():
    """Imports inside functions count too: a cycle hidden in a function is still a cycle. A package's
    __init__ re-exporting its own modules is not one (the public surface)."""
    graph = grimp.build_graph("runner")
    related = lambda a, b: a.startswith(b + ".") or b.startswith(a + ".")  # noqa: E731 - package and its module
    edges = {m: {i for i in graph.find_modules_directly_imported_by(m) if not related(m, i)} for m in graph.modules}
    assert _cycles(edges) == []


def test_no_module_takes_a_private_name_from_another():
    """A name with a leading underscore is its module's own business: another module that needs it needs
    it made public (or the code moved)."""
    import ast

    taken = []
    for path in sorted((ROOT / "runner").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("runner")):
                taken += [f"{path.relative_to(ROOT)}:{node.lineno} {alias.name}" for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert taken == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_ruff_is_clean():
    done = _run("ruff", "check", "runner", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout[-4000:]


def test_the_folders_follow_the_data_path():
    """What a newcomer reads in runner/: one folder per stage, and only the error hierarchy, the console
    log's setup and the public surface beside them."""
    runner = ROOT / "runner"
    folders = {p.name for p in runner.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == {"project", "intake", "work_queue", "engine", "drivers", "audit", "reconcile", "run",
                       "recorder", "scheduler", "worker", "console", "cli", "demo"}
    assert {p.name for p in runner.glob("*.py")} == {"__init__.py", "errors.py", "console_log.py"}


# -- steps and screens -----------------------------------------------------------------------------
def _public_methods(cls) -> dict:
    import inspect
    return {name: inspect.signature(member) for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")}


def test_each_driver_offers_exactly_what_its_screen_protocol_says():
    """Every method of WebScreen (DesktopScreen) is on the web (desktop) driver with the same parameters;
    no driver carries a method of the other kind that only raises."""
    from runner.drivers.base import DesktopScreen, Screen, WebScreen
    from runner.drivers.desktop import DesktopDriver
    from runner.drivers.web import WebDriver

    for driver, protocol, other in ((WebDriver, WebScreen, DesktopScreen), (DesktopDriver, DesktopScreen, WebScreen)):
        offered = _public_methods(driver)
        for name, signature in _public_methods(protocol).items():
            assert name in offered, f"{driver.__name__} lacks {protocol.__name__}.{name}"
            assert list(offered[name].parameters) == list(signature.parameters), f"{driver.__name__}.{name}"
        foreign = set(_public_methods(other)) - set(_public_methods(Screen))
        assert not foreign & set(offered), f"{driver.__name__} has {sorted(foreign & set(offered))}"


def test_every_recipe_action_has_one_handler_needing_what_recipes_admit():
    from runner.drivers.base import SCREEN_PROTOCOLS, offers
    from runner.engine.steps import HANDLERS
    from runner.project.recipe import ACTIONS, STEP_SCREENS

    assert set(HANDLERS) == set(ACTIONS)
    for action, handler in HANDLERS.items():
        assert {k for k in SCREEN_PROTOCOLS if offers(k, handler.needs)} == set(STEP_SCREENS[action]), action


def test_a_handler_registered_for_the_wrong_screens_is_refused_at_once():
    import pytest

    from runner.drivers.base import DesktopScreen
    from runner.engine.steps import handles

    with pytest.raises(TypeError, match="'open' needs DesktopScreen"):
        handles("open", needs=DesktopScreen)(lambda run: None)
    with pytest.raises(TypeError, match="'hover' is not a recipe action"):
        handles("hover")(lambda run: None)


def test_mypy_is_clean_on_the_run_lifecycle_engine_drivers_and_queue():
    """The packages named in pyproject.toml's [tool.mypy] files."""
    done = _run("mypy")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
