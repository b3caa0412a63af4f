"""The package's layout: activation families hold definitions, the numerics live apart."""

import ast
import importlib
from pathlib import Path

import actfn

PACKAGE = Path(actfn.__file__).parent
FAMILIES = sorted((PACKAGE / "_activations").glob("[!_]*.py"))


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_module_is_longer_than_one_sitting():
    lengths = {
        p.relative_to(PACKAGE): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")
    }
    assert {p: n for p, n in lengths.items() if n > 800} == {}


def test_a_family_takes_nothing_from_another_family():
    # What two families share is numerics (actfn/_numerics/) or wiring (actfn/_wiring.py).
    assert len(FAMILIES) >= 7
    for path in FAMILIES:
        others = {f"actfn._activations.{p.stem}" for p in FAMILIES if p != path}
        assert _imported_modules(path) & others == set(), path.name


def test_the_numerics_know_nothing_of_the_wiring_or_the_families():
    for path in sorted((PACKAGE / "_numerics").glob("*.py")):
        imported = _imported_modules(path)
        assert not {m for m in imported if m.startswith(("actfn._wiring", "actfn._activations"))}
        assert "actfn._registry" not in imported, path.name


def test_every_activation_is_defined_in_exactly_one_family_module():
    families = [importlib.import_module(f"actfn._activations.{p.stem}") for p in FAMILIES]
    # (actfn.__all__ holds the built-in names; other tests register activations of their own.)
    for name in [n for n in actfn.names() if n in actfn.__all__]:
        homes = [m.__name__ for m in families if vars(m).get(name) is actfn.spec(name).function]
        assert len(homes) == 1, (name, homes)
